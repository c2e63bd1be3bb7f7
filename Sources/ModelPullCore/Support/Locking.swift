import Foundation

extension NSLock {
    /// Runs `body` holding the lock. Foundation's `withLock` needs macOS 14; the package
    /// supports macOS 13.
    @inline(__always)
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
