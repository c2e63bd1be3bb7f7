/// The libcurl option and info numbers ModelPull uses. They are libcurl's stable ABI (the
/// values `curl/curl.h` and `curl/multi.h` define, unchanged since they were introduced), kept
/// here because the package builds without libcurl's headers.
enum CurlOption {
    // curl_easy_setopt: 0 + n takes a long, 10000 + n a pointer, 20000 + n a function.
    static let url: Int32 = 10002
    static let writeData: Int32 = 10001
    static let writeFunction: Int32 = 20011
    static let headerData: Int32 = 10029
    static let headerFunction: Int32 = 20079
    static let httpHeader: Int32 = 10023
    static let errorBuffer: Int32 = 10010
    static let noSignal: Int32 = 99
    static let bufferSize: Int32 = 98
    static let followLocation: Int32 = 52
    static let httpVersion: Int32 = 84
    static let protocols: Int32 = 181
    static let tcpKeepAlive: Int32 = 213
    static let noBody: Int32 = 44
    static let postFieldSize: Int32 = 60
    static let copyPostFields: Int32 = 10165
    static let customRequest: Int32 = 10036
    static let proxy: Int32 = 10004
    static let caInfo: Int32 = 10065
    static let caPath: Int32 = 10097

    static let httpVersion1_1 = 2
    static let protocolHTTP = 1
    static let protocolHTTPS = 2
    static let errorBufferSize = 256

    // curl_multi_setopt.
    static let multiPipelining: Int32 = 3
    static let multiMaxConnects: Int32 = 6
}

/// The CURLcode values ModelPull treats specially.
enum CurlCode {
    static let ok: Int32 = 0
    static let unsupportedProtocol: Int32 = 1
    static let urlMalformed: Int32 = 3
    static let operationTimedOut: Int32 = 28
    static let abortedByCallback: Int32 = 42
    static let couldNotResolveProxy: Int32 = 5
    static let couldNotConnect: Int32 = 7
    static let receiveError: Int32 = 56
    static let peerFailedVerification: Int32 = 60
    static let caCertificateBadFile: Int32 = 77
    static let proxyHandshake: Int32 = 97

    /// Whether a failure through a proxy is the proxy's: it could not be resolved or reached
    /// (with a proxy, the only connection libcurl makes is to it), or it refused the tunnel
    /// before any answer from the server.
    static func isProxyFailure(_ code: Int32, reason: String, head: HTTPResponseHead?) -> Bool {
        switch code {
        case couldNotResolveProxy, couldNotConnect, proxyHandshake: return true
        case receiveError: return head == nil && (reason.contains("CONNECT") || reason.lowercased().contains("proxy"))
        default: return false
        }
    }
}
