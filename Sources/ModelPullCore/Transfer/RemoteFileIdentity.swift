import Foundation

/// What the first response of a fetch says about the remote file, heard before any byte of it is written.
public struct RemoteFileIdentity: Sendable, Equatable {
    /// The file's size; nil when the response does not say (a chunked body without a length).
    public var size: Int64?
    /// A strong validator (see `RangeValidator`): what a resumed range is made conditional on.
    public var validator: String?

    public init(size: Int64?, validator: String?) {
        self.size = size
        self.validator = validator
    }
}

/// The one rule for what a resumed range may be conditional on (`If-Range`, RFC 9110 §13.1.5):
/// a strong ETag, else Last-Modified. A weak ETag (`W/"…"`) only says two versions are
/// equivalent, not byte-identical, so splicing ranges on it could mix two files: it never counts.
enum RangeValidator {
    /// The strong validator a response head offers, if any.
    static func strong(in head: HTTPResponseHead) -> String? {
        strongETag(in: head) ?? lastModified(in: head)
    }

    /// A validator remembered from an earlier run, if it is one we may send (records written
    /// before this rule may hold a weak ETag).
    static func usable(_ validator: String?) -> String? {
        guard let value = validator?.trimmingCharacters(in: .whitespaces), !value.isEmpty, !isWeak(value) else { return nil }
        return value
    }

    /// True when `head` describes another version of the file than `known` names: its validator
    /// of the same kind (ETag or date) differs. A head silent on that kind contradicts nothing.
    static func contradicts(_ head: HTTPResponseHead, known: String) -> Bool {
        let current = isETag(known) ? strongETag(in: head) : lastModified(in: head)
        return current.map { $0 != known } ?? false
    }

    private static func strongETag(in head: HTTPResponseHead) -> String? {
        usable(head.headers["ETag"]).flatMap { isETag($0) ? $0 : nil }
    }

    private static func lastModified(in head: HTTPResponseHead) -> String? {
        usable(head.headers["Last-Modified"]).flatMap { isETag($0) ? nil : $0 }
    }

    private static func isWeak(_ value: String) -> Bool { value.hasPrefix("W/") || value.hasPrefix("w/") }
    private static func isETag(_ value: String) -> Bool { value.hasPrefix("\"") }
}

/// The identity of the remote file through one fetch, shared by every request of it: which
/// validator later requests send as `If-Range`, and when the caller hears `onStart`.
///
/// The caller hears the identity from the first successful head, before any byte of the body
/// is written, and again only when it changes: a later response reveals a validator the first
/// lacked, or the file starts over from byte 0 as another version. `onStart` runs under the
/// lock, so concurrent pieces write nothing until it returned, and it may throw to refuse.
final class RemoteIdentityWatch: Sendable {
    /// The validator requests send, and the identity last reported.
    private let state: LockedValue<(known: String?, reported: RemoteFileIdentity?)>
    private let onStart: @Sendable (RemoteFileIdentity) throws -> Void

    /// `validator`: from an earlier run (weak ones are dropped).
    init(validator: String?, onStart: @escaping @Sendable (RemoteFileIdentity) throws -> Void) {
        state = LockedValue((RangeValidator.usable(validator), nil))
        self.onStart = onStart
    }

    /// What requests of this fetch send as `If-Range`.
    var validator: String? { state.current.known }

    /// A 2xx head for the file. `restartsFile`: its body replaces everything written (a whole
    /// body), so another version is adopted instead of contradicting. Throws
    /// `RangeFetchObstacle.remoteChanged` when a range answer belongs to another version, and
    /// whatever `onStart` throws.
    func heard(_ head: HTTPResponseHead, size: Int64?, restartsFile: Bool) throws {
        try state.withLock { state in
            if !restartsFile, let known = state.known, RangeValidator.contradicts(head, known: known) {
                throw RangeFetchObstacle.remoteChanged
            }
            let heard = RangeValidator.strong(in: head)
            let identity = RemoteFileIdentity(size: size, validator: restartsFile ? heard : state.known ?? heard)
            guard identity != state.reported else { return }
            try onStart(identity)
            state.reported = identity
            state.known = identity.validator
        }
    }
}
