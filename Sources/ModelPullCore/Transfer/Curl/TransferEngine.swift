import CModelPullCurl

/// What carries the requests: libcurl's multi interface when it can be loaded (every request,
/// so proxies and private authorities apply alike), else URLSession.
///
/// Why: on Linux FoundationNetworking hands a body over 16 KiB at a time, copying each chunk
/// into a new `Data`, re-arming a timer and hopping through an `OperationQueue`; that costs about
/// 4 CPU-seconds per GiB, three times what curl needs, and it has no back-pressure. libcurl is
/// the library FoundationNetworking is built on (already in the process), so driving it directly
/// with 512 KiB reads, writing each read at its offset on the event-loop thread, removes the
/// per-chunk machinery and makes a slow disk slow the socket instead of filling memory.
public enum TransferEngine: String, Sendable, CaseIterable {
    /// libcurl's multi interface (the default where libcurl loads on Linux, and on macOS when
    /// a proxy or trust variable is set, since only this engine reads them).
    case libcurl
    /// URLSession for everything (the default on macOS, where URLSession is the system's own
    /// stack with the system's proxy settings and keychain, and the fallback when libcurl cannot
    /// be loaded).
    case urlsession

    /// `MODELPULL_TRANSFER_ENGINE=urlsession|libcurl` chooses; unset, libcurl where it loads on
    /// Linux. A requested libcurl that cannot load falls back to URLSession (and says why).
    public static let variable = "MODELPULL_TRANSFER_ENGINE"

    public struct Choice: Sendable {
        public var engine: TransferEngine
        /// Why the engine is not the one asked for, when it is not.
        public var note: String?
    }

    public static func choose(_ environment: ProcessEnvironment, network: NetworkEnvironment = .direct) -> Choice {
        let requested = environment[variable].flatMap { TransferEngine(rawValue: $0.lowercased()) }
        var note: String?
        if let raw = environment[variable], requested == nil {
            note = "\(variable)=\(raw) is not one of libcurl, urlsession; using the default"
        }
        let configured = !network.proxies.isEmpty || !network.trust.isEmpty
        #if os(Linux)
        let wanted = requested ?? .libcurl
        #else
        let wanted = requested ?? (configured ? .libcurl : .urlsession)
        #endif
        let unread = configured ? "; the proxy and certificate variables (HTTPS_PROXY, SSL_CERT_FILE, …) are read by the libcurl engine only" : ""
        guard wanted == .libcurl else {
            return Choice(engine: .urlsession, note: configured ? (note.map { $0 + "; " } ?? "") + "URLSession chosen" + unread : note)
        }
        guard mp_curl_load() == 1 else {
            let reason = String(cString: mp_curl_load_error())
            return Choice(engine: .urlsession, note: "libcurl could not be loaded (\(reason)); requests use URLSession" + unread)
        }
        return Choice(engine: .libcurl, note: note)
    }
}
