import Foundation

/// A forward HTTP proxy on loopback, as a corporate or cluster egress proxy behaves: `CONNECT
/// host:port` opens a tunnel (https targets), an absolute-form request (`GET http://host/path`)
/// is forwarded (http targets). It can require Basic credentials (407 otherwise) or refuse
/// everything (403, as a proxy whose policy forbids the host). Each request it sees is recorded.
/// Python serves it, like `TLSTestServer`, so the proxy is a program of its own.
public final class HTTPProxyServer: @unchecked Sendable {
    public enum Policy: Sendable {
        case allow
        case requireCredentials(user: String, password: String)
        case refuse
    }

    private let server: PythonHelperServer
    public var port: Int { server.port }

    public init(policy: Policy = .allow) throws {
        var options: [String] = []
        switch policy {
        case .allow: break
        case .requireCredentials(let user, let password): options = ["--credentials", "\(user):\(password)"]
        case .refuse: options = ["--refuse"]
        }
        server = try PythonHelperServer(name: "proxy", script: Self.script) { folder in [folder + "/requests.log"] + options }
    }

    /// `http://127.0.0.1:<port>`, optionally with credentials, as HTTPS_PROXY takes it.
    public func url(user: String? = nil, password: String? = nil) -> String {
        let credentials = user.map { "\($0):\(password ?? "")@" } ?? ""
        return "http://\(credentials)127.0.0.1:\(port)"
    }

    /// Every request line the proxy received, in order: `CONNECT 127.0.0.1:443`,
    /// `GET http://127.0.0.1:8080/path`, with ` 407` or ` 403` appended when it refused.
    public var requests: [String] {
        let text = (try? String(contentsOfFile: server.folder + "/requests.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    public func stop() { server.stop() }

    private static let script = #"""
    import base64, socket, socketserver, sys, threading

    LOG = sys.argv[1]
    CREDENTIALS = None
    REFUSE = "--refuse" in sys.argv
    if "--credentials" in sys.argv:
        CREDENTIALS = sys.argv[sys.argv.index("--credentials") + 1]
    LOCK = threading.Lock()

    def record(line):
        with LOCK, open(LOG, "a") as log:
            log.write(line + "\n")

    def pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            request_line = self.rfile.readline().decode("latin-1").strip()
            if not request_line:
                return
            headers = []
            while True:
                line = self.rfile.readline().decode("latin-1")
                if line in ("\r\n", "\n", ""):
                    break
                headers.append(line.rstrip("\r\n"))
            method, target, _ = request_line.split(" ", 2)
            if REFUSE:
                record(f"{method} {target} 403")
                return self.answer(403, "Forbidden by proxy policy")
            if CREDENTIALS is not None:
                expected = "Basic " + base64.b64encode(CREDENTIALS.encode()).decode()
                given = [h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("proxy-authorization:")]
                if given != [expected]:
                    record(f"{method} {target} 407")
                    return self.answer(407, "Proxy credentials required", extra="Proxy-Authenticate: Basic realm=\"test\"\r\n")
            record(f"{method} {target}")
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                try:
                    upstream = socket.create_connection((host, int(port)), timeout=10)
                except OSError:
                    return self.answer(502, "Cannot reach the target")
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                self.relay(upstream)
            else:
                self.forward(method, target, headers)

        def answer(self, status, text, extra=""):
            body = text.encode()
            self.wfile.write(f"HTTP/1.1 {status} {text}\r\n{extra}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)

        def relay(self, upstream):
            upstream.settimeout(None)
            back = threading.Thread(target=pump, args=(upstream, self.connection), daemon=True)
            back.start()
            pump(self.connection, upstream)
            back.join()
            upstream.close()

        def forward(self, method, target, headers):
            rest = target.split("://", 1)[1]
            authority, _, path = rest.partition("/")
            host, _, port = authority.partition(":")
            kept = [h for h in headers if not h.lower().startswith(("proxy-", "connection:"))]
            length = 0
            for h in headers:
                if h.lower().startswith("content-length:"):
                    length = int(h.split(":", 1)[1])
            body = self.rfile.read(length) if length else b""
            try:
                upstream = socket.create_connection((host, int(port or 80)), timeout=10)
            except OSError:
                return self.answer(502, "Cannot reach the target")
            head = f"{method} /{path} HTTP/1.1\r\n" + "".join(h + "\r\n" for h in kept) + "Connection: close\r\n\r\n"
            upstream.sendall(head.encode("latin-1") + body)
            upstream.settimeout(None)
            pump(upstream, self.connection)
            upstream.close()

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """#
}
