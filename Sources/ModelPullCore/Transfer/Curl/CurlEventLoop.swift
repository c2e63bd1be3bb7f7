import CModelPullCurl
import Foundation

/// One thread that drives every libcurl exchange of the process through one multi handle: it
/// adds and removes exchanges, lets libcurl read the sockets (the exchanges' callbacks write the
/// bytes where they belong, on this thread), completes finished ones and ends stalled ones.
///
/// One thread is enough: a read costs a copy out of the socket and a `pwrite`, about what curl
/// spends, and a callback that blocks on a slow disk stops the sockets being read, so the
/// kernel's receive windows, not our memory, absorb the difference. libcurl keeps finished
/// connections in the multi handle's cache, so the next range to the same host reuses one.
final class CurlEventLoop: @unchecked Sendable {
    /// The process's loop, started on first use; nil when libcurl could not be loaded.
    static let shared: CurlEventLoop? = mp_curl_load() == 1 ? CurlEventLoop() : nil

    private let multi: UnsafeMutableRawPointer
    /// Exchanges handed over by other threads, to add to or remove from the multi handle.
    private let handover = LockedValue<(arriving: [CurlExchange], leaving: [CurlExchange])>(([], []))
    /// The exchanges in the multi handle, by easy handle (loop thread only).
    private var active: [UnsafeMutableRawPointer: CurlExchange] = [:]

    private init?() {
        guard let multi = mp_curl_multi_init() else { return nil }
        self.multi = multi
        // No HTTP/1.1 pipelining or HTTP/2 multiplexing: one range, one connection.
        _ = mp_curl_multi_setopt_long(multi, CurlOption.multiPipelining, 0)
        // Idle connections kept for reuse: the global connection budget plus API headroom.
        _ = mp_curl_multi_setopt_long(multi, CurlOption.multiMaxConnects, 64)
        let thread = Thread { [self] in run() }
        thread.name = "modelpull.curl"
        thread.start()
    }

    /// Starts an exchange; it completes through its continuation.
    func add(_ exchange: CurlExchange) {
        handover.withLock { $0.arriving.append(exchange) }
        _ = mp_curl_multi_wakeup(multi)
    }

    /// Stops an exchange at once (its connection is closed) and completes it as cancelled.
    func cancel(_ exchange: CurlExchange) {
        exchange.markCancelled()
        handover.withLock { $0.leaving.append(exchange) }
        _ = mp_curl_multi_wakeup(multi)
    }

    private func run() -> Never {
        var waitStarted = DispatchTime.now().uptimeNanoseconds
        while true {
            let waited = Double(DispatchTime.now().uptimeNanoseconds - waitStarted) / 1e9
            for exchange in active.values { exchange.networkWaited(waited) }
            takeCommands()
            var running: Int32 = 0
            _ = mp_curl_multi_perform(multi, &running)
            completeFinished()
            endExpired()
            waitStarted = DispatchTime.now().uptimeNanoseconds
            // Wake at least every 100 ms while exchanges run, to notice stalls. A failing poll
            // (it should not) must not turn this thread into a busy loop: pause, then retry.
            if mp_curl_multi_poll(multi, active.isEmpty ? 60_000 : 100) != 0 { usleep(10_000) }
        }
    }

    private func takeCommands() {
        let (added, cancelled) = handover.withLock { handover -> ([CurlExchange], [CurlExchange]) in
            defer { handover = ([], []) }
            return (handover.arriving, handover.leaving)
        }
        for exchange in added {
            if exchange.isCancelled {
                exchange.finish(code: CurlCode.ok, override: CancellationError())
            } else if mp_curl_multi_add_handle(multi, exchange.easy) != 0 {
                exchange.finish(code: CurlCode.ok, override: TransferError.network("libcurl refused the transfer"))
            } else {
                active[exchange.easy] = exchange
            }
        }
        for exchange in cancelled where active[exchange.easy] === exchange {
            remove(exchange)
            exchange.finish(code: CurlCode.ok, override: CancellationError())
        }
    }

    private func completeFinished() {
        var easy: UnsafeMutableRawPointer?
        var code: Int32 = 0
        while mp_curl_multi_next_done(multi, &easy, &code) == 1 {
            guard let easy, let exchange = active[easy] else { continue }
            remove(exchange)
            exchange.finish(code: code)
        }
    }

    /// Ends exchanges the network failed: no byte for the idle timeout, a head slower than its
    /// deadline, a body below the throughput floor (only time waiting on the network counts;
    /// time spent in exchanges' callbacks, a slow disk included, does not).
    private func endExpired() {
        for exchange in Array(active.values) {
            guard let expiry = exchange.expiry() else { continue }
            remove(exchange)
            exchange.finish(code: CurlCode.ok, override: expiry)
        }
    }

    private func remove(_ exchange: CurlExchange) {
        _ = mp_curl_multi_remove_handle(multi, exchange.easy)
        active[exchange.easy] = nil
    }
}
