import Foundation

/// Thread-safe, per-route fault configuration for a `LoopbackHTTPServer` (`server.faults`).
///
/// Each rule has a `RequestMatch` and a list of steps; every matching request takes the next
/// step that still has uses left. When several rules match one request they all apply
/// (e.g. a permanent rate limit plus a one-off drop). Requests are logged before faults apply,
/// so a request that got an injected 503 still shows up in `server.requests`.
///
///     server.faults.add(.dropAfter(bytes: 1000), for: .path("/model.bin"))            // once
///     server.faults.add(.status(503, retryAfter: "1"), for: .path("/api"), times: .times(2))
///     server.faults.add(.rateLimit(bytesPerSecond: 1 << 20), times: .always)
///     server.faults.addSequence([[.status(500)], [], [.dropAfter(bytes: 10)]], for: .path("/f"))
public final class FaultInjector: @unchecked Sendable {
    private struct Step {
        var faults: [Fault]
        var remaining: FaultRepeat
    }

    private struct Rule {
        var match: RequestMatch
        var steps: [Step]
    }

    private let lock = NSLock()
    private var rules: [Rule] = []
    private var applied = 0

    public init() {}

    /// Applies `fault` to the next matching requests (`.once`, `.times(n)` or `.always`).
    public func add(_ fault: Fault, for match: RequestMatch = .any, times: FaultRepeat = .once) {
        add([fault], for: match, times: times)
    }

    /// Applies several faults together to each affected request (e.g. slow first byte + drop).
    public func add(_ faults: [Fault], for match: RequestMatch = .any, times: FaultRepeat = .once) {
        locked { rules.append(Rule(match: match, steps: [Step(faults: faults, remaining: times)])) }
    }

    /// The k-th matching request gets `steps[k]` (an empty step means "serve normally"); after
    /// the last step the rule is spent. E.g. `[[.status(503)], [.dropAfter(bytes: 10)]]`.
    public func addSequence(_ steps: [[Fault]], for match: RequestMatch = .any) {
        locked { rules.append(Rule(match: match, steps: steps.map { Step(faults: $0, remaining: .once) })) }
    }

    /// Removes every rule (faults already in flight keep going).
    public func removeAll() {
        locked { rules.removeAll() }
    }

    /// Number of rules that still have uses left (`.always` rules count forever).
    public var pendingRuleCount: Int {
        locked { rules.filter { rule in rule.steps.contains { !Self.isSpent($0.remaining) } }.count }
    }

    /// How many fault steps have been applied to requests so far (empty sequence steps included).
    public var appliedCount: Int { locked { applied } }

    /// Consumes and returns the faults for `request`. Called once per request by the server.
    func take(for request: HTTPRequest) -> [Fault] {
        let hasBody = request.method.uppercased() != "HEAD"
        return locked {
            var result: [Fault] = []
            for ruleIndex in rules.indices where rules[ruleIndex].match.matches(request) {
                guard let stepIndex = rules[ruleIndex].steps.firstIndex(where: { !Self.isSpent($0.remaining) }) else {
                    continue
                }
                let step = rules[ruleIndex].steps[stepIndex]
                // A HEAD has no body, so steps made only of body faults (or empty "serve normally"
                // steps) are left for the GET that usually follows it.
                if !hasBody && step.faults.allSatisfy(\.affectsBodyOnly) { continue }
                rules[ruleIndex].steps[stepIndex].remaining = Self.decrement(step.remaining)
                result.append(contentsOf: step.faults)
                applied += 1
            }
            rules.removeAll { rule in rule.steps.allSatisfy { Self.isSpent($0.remaining) } }
            return result
        }
    }

    private static func isSpent(_ remaining: FaultRepeat) -> Bool {
        switch remaining {
        case .once, .always: return false
        case .times(let n): return n <= 0
        }
    }

    private static func decrement(_ remaining: FaultRepeat) -> FaultRepeat {
        switch remaining {
        case .always: return .always
        case .once: return .times(0)
        case .times(let n): return .times(n - 1)
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
