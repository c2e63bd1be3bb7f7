import Foundation

/// Replaces registered secrets (access tokens, credentials in URLs) with `***`.
///
/// Secrets are registered at runtime, as soon as they are known (token read from the
/// environment, a `token` param received), and everything written to the log passes through
/// `redact` first. Thread-safe.
public final class SecretRedactor: @unchecked Sendable {
    public static let mask = "***"

    private let lock = NSLock()
    /// Longest first, so a secret that contains another is masked whole.
    private var secrets: [String] = []  // guarded by lock

    public init() {}

    /// Adds a secret. Empty strings are ignored (they would match everywhere).
    public func register(_ secret: String) {
        guard !secret.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        guard !secrets.contains(secret) else { return }
        secrets.append(secret)
        secrets.sort { $0.utf8.count > $1.utf8.count }
    }

    public func unregister(_ secret: String) {
        lock.lock()
        defer { lock.unlock() }
        secrets.removeAll { $0 == secret }
    }

    /// `text` with every occurrence of every registered secret replaced by `***`.
    public func redact(_ text: String) -> String {
        lock.lock()
        let snapshot = secrets
        lock.unlock()
        var result = text
        for secret in snapshot where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.mask, options: .literal)
        }
        return result
    }
}
