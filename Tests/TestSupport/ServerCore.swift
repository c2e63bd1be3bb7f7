import Foundation

/// The shared state and accept loop behind a `LoopbackHTTPServer`.
///
/// Threads capture this object, never the public server, so the server's `deinit` still runs
/// (and stops everything) when a test drops its last reference without calling `stop()`.
final class ServerCore: @unchecked Sendable {
    let port: UInt16
    let handler: @Sendable (HTTPRequest) -> HTTPResponse
    let faults: FaultInjector
    let log = RequestLog()
    let counters = ByteCounters()
    let connections = ConnectionRegistry()
    let stopSignal = StopSignal()

    private let listener: Int32
    /// Written to by `stop()` to wake the accept loop out of poll().
    private let wake: (read: Int32, write: Int32)
    private let acceptLoopDone = DispatchSemaphore(value: 0)

    /// How long `stop()` waits for connection threads to wind down.
    static let stopGracePeriod: TimeInterval = 2

    init(handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse, faults: FaultInjector) throws {
        self.handler = handler
        self.faults = faults
        (listener, port) = try Socket.makeLoopbackListener()
        do {
            wake = try Socket.makePipe()
        } catch {
            Socket.closeDescriptor(listener)
            throw error
        }
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "LoopbackHTTPServer:\(port) accept"
        thread.start()
    }

    /// Closes the listener, then shuts every open connection, waking their threads (including
    /// ones sleeping in a stall or rate limit), and waits briefly for them to finish.
    func stop() {
        guard stopSignal.stop() else { return }
        Socket.poke(wake.write)
        acceptLoopDone.wait()
        Socket.closeDescriptor(wake.read)
        Socket.closeDescriptor(wake.write)
        connections.shutdownAll()
        connections.waitForAll(timeout: Self.stopGracePeriod)
    }

    private func acceptLoop() {
        defer {
            Socket.closeDescriptor(listener)
            acceptLoopDone.signal()
        }
        while true {
            let ready = Socket.waitReadable([listener, wake.read])
            if stopSignal.isStopped || ready.contains(wake.read) || ready.isEmpty { return }
            guard let fd = Socket.accept(listener) else {
                // Out of descriptors or similar: back off instead of spinning.
                _ = stopSignal.sleep(0.01)
                continue
            }
            Socket.configureConnection(fd)
            guard let index = connections.register(fd) else {
                Socket.closeDescriptor(fd)
                return
            }
            let connection = HTTPConnection(fd: fd, index: index, core: self)
            let thread = Thread { connection.run() }
            thread.name = "LoopbackHTTPServer:\(port) connection \(index)"
            thread.start()
        }
    }
}
