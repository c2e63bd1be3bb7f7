import Foundation

/// A misbehaviour the server can inject into one response. Body offsets and byte counts refer
/// to the response body as sent (for a 206, offset 0 is the first byte of the range), never to
/// headers or chunk framing.
public enum Fault: Sendable {
    /// Send `bytes` body bytes, then close the connection. `Content-Length` still promises the
    /// full size, so the client sees a truncated body / connection error.
    case dropAfter(bytes: Int)
    /// Skip the handler and answer with `status` (e.g. 500, 503, 429), optionally with a
    /// `Retry-After` value ("2" or an HTTP date).
    case status(Int, retryAfter: String? = nil)
    /// Skip the handler and answer with this response.
    case respond(HTTPResponse)
    /// After `afterBytes` body bytes, send nothing for `seconds`, then resume or close.
    case stall(afterBytes: Int, seconds: TimeInterval, then: StallOutcome = .resume)
    /// Flip (XOR 0xFF) the body bytes at these offsets; the length stays right, the content is wrong.
    case corrupt(offsets: [Int] = [0])
    /// Wait this long after reading the request before sending anything (slow first byte).
    case delayFirstByte(seconds: TimeInterval)
    /// Pace the body at roughly this many bytes per second (writes of at most 16 KiB).
    case rateLimit(bytesPerSecond: Int)
    /// Send the response head one line at a time, this long apart (a slowloris server: every
    /// line is fresh activity to an idle timer, yet the head may never end).
    case dripHead(secondsPerLine: TimeInterval)

    public enum StallOutcome: Sendable, Equatable {
        case resume
        case close
    }

    /// Fewer bytes than `Content-Length`, then close: the same thing as `dropAfter`.
    public static func truncate(after bytes: Int) -> Fault { .dropAfter(bytes: bytes) }

    /// Faults that only change how a body is sent. A HEAD request has no body, so it does not
    /// consume them (otherwise a client's HEAD would silently use up the fault meant for its GET).
    var affectsBodyOnly: Bool {
        switch self {
        case .dropAfter, .stall, .corrupt, .rateLimit: return true
        case .status, .respond, .delayFirstByte, .dripHead: return false
        }
    }
}

/// How many matching requests a fault rule affects.
public enum FaultRepeat: Sendable, Equatable {
    case once
    case times(Int)
    case always
}

/// The faults that apply to one response, merged into what the connection needs to know.
struct FaultPlan: Sendable {
    var replacement: HTTPResponse?
    var firstByteDelay: TimeInterval = 0
    var headLineDelay: TimeInterval = 0
    var body = BodyFaults()

    init(_ faults: [Fault] = []) {
        for fault in faults {
            switch fault {
            case .dropAfter(let bytes):
                body.dropAfter = min(body.dropAfter ?? .max, max(0, bytes))
            case .status(let code, let retryAfter):
                if replacement == nil {
                    var headers: HTTPHeaders = [:]
                    if let retryAfter { headers.add("Retry-After", retryAfter) }
                    replacement = .status(code, headers: headers)
                }
            case .respond(let response):
                if replacement == nil { replacement = response }
            case .stall(let after, let seconds, let outcome):
                if body.stall == nil { body.stall = .init(afterBytes: max(0, after), seconds: seconds, outcome: outcome) }
            case .corrupt(let offsets):
                body.corruptOffsets.formUnion(offsets)
            case .delayFirstByte(let seconds):
                firstByteDelay = max(firstByteDelay, seconds)
            case .rateLimit(let rate):
                body.bytesPerSecond = min(body.bytesPerSecond ?? .max, max(1, rate))
            case .dripHead(let seconds):
                headLineDelay = max(headLineDelay, seconds)
            }
        }
    }
}

/// The body-level part of a `FaultPlan`, applied by `BodyChannel` as bytes go out.
struct BodyFaults: Sendable {
    struct Stall: Sendable {
        var afterBytes: Int
        var seconds: TimeInterval
        var outcome: Fault.StallOutcome
    }

    var dropAfter: Int?
    var stall: Stall?
    var corruptOffsets: Set<Int> = []
    var bytesPerSecond: Int?
}
