import Foundation

/// An HTTPS server on loopback with a self-signed certificate that nothing trusts, so tests can
/// check that TLS really runs and that an untrusted certificate is refused. Python's ssl module
/// serves it (the Swift toolchain has no TLS server); every GET answers "secret body".
public final class TLSTestServer: @unchecked Sendable {
    public let port: Int
    private let process = Process()
    private let directory: String

    public init() throws {
        directory = NSTemporaryDirectory() + "modelpull-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.certificate.write(toFile: directory + "/cert.pem", atomically: true, encoding: .utf8)
        try Self.key.write(toFile: directory + "/key.pem", atomically: true, encoding: .utf8)
        try Self.script.write(toFile: directory + "/serve.py", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", directory + "/serve.py", directory + "/cert.pem", directory + "/key.pem"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
    }

    public func url(_ path: String) -> URL { URL(string: "https://127.0.0.1:\(port)\(path)")! }

    public func stop() {
        // SIGKILL: a child spawned from a test thread can inherit a mask that blocks SIGTERM.
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }

    private static let script = """
    import http.server, ssl, sys

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"secret body"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """

    // A throwaway self-signed certificate for 127.0.0.1 (CA:FALSE, never installed anywhere):
    // its key is public on purpose, the point is that no client trusts it.
    private static let certificate = """
-----BEGIN CERTIFICATE-----
MIIDGTCCAgGgAwIBAgIUTvwJlyIBPhrBFT6Ba50rZAGFMEgwDQYJKoZIhvcNAQEL
BQAwFDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNzA0MjkwNVoYDzIxMjYx
MTAzMDQyOTA1WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQDTL87Q3IcFt4ZUS9oZxhZZcvhs1ho+RhKqbnystrS7
JcUq+aDbEh+8ZTNns+Fa+KeIX+oW8MYcNCMSIDHYXPHJeug5mdFcyHKTXIFZkB3o
NqDCJBR5Zs7D89bLPsZxConw8XwHgEGoTMHPUN7DYqXWQw46bUL+dwSaEz5FRYJQ
XzHbbv/d626TMkUTYgkSxfDFwQcMBbJXK1Lokgu2EDeV94dhGc6QaLzOpLjOe/mp
hdR2sGJoYLMZmKDMtyAiDMVCNC+wougdxtwO70G4SL8UT1ZGHcAB+bVmbeuVW+Fj
fHZ0oYBprKjHJv6DzypTk/FY4gF6+8Rz/3eu9bAg5ZyNAgMBAAGjYTBfMB0GA1Ud
DgQWBBRwytNHkfqypXmGqgWrG3GLX+KJvTAfBgNVHSMEGDAWgBRwytNHkfqypXmG
qgWrG3GLX+KJvTAPBgNVHREECDAGhwR/AAABMAwGA1UdEwEB/wQCMAAwDQYJKoZI
hvcNAQELBQADggEBAMZ7c92HUljCe+kbI4xKDGs2hyC2saAYI0MXLrgwUrkfGuhC
Ibcm9PHr23eTK9+x0Vnneg3qbyRNDDaOrglxmL9XUK1WYpAef9tAWuyNX+TDPr0N
qav02VhDH5wG8dNUem8fh26Q7lfYPn+kR7mH/ae9l1hhh/z7NCobqfIk7TRu0zb2
QraII9WS+OmdniuRyq2cco4LpA+QhV9SgRAi2GU0kTul/y11FHcBbtvevZ0f4YQe
j5kopGepYLjHOMQjX7i8CuTafOjQMgyXm47vYIAFxej3BdEQRZ2TFBDvaZm5LFKv
acMzk8S1UbsfpKPZt9A/XPpDXF6YwY6AaBN1KhM=
-----END CERTIFICATE-----
"""

    private static let key = """
-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDTL87Q3IcFt4ZU
S9oZxhZZcvhs1ho+RhKqbnystrS7JcUq+aDbEh+8ZTNns+Fa+KeIX+oW8MYcNCMS
IDHYXPHJeug5mdFcyHKTXIFZkB3oNqDCJBR5Zs7D89bLPsZxConw8XwHgEGoTMHP
UN7DYqXWQw46bUL+dwSaEz5FRYJQXzHbbv/d626TMkUTYgkSxfDFwQcMBbJXK1Lo
kgu2EDeV94dhGc6QaLzOpLjOe/mphdR2sGJoYLMZmKDMtyAiDMVCNC+wougdxtwO
70G4SL8UT1ZGHcAB+bVmbeuVW+FjfHZ0oYBprKjHJv6DzypTk/FY4gF6+8Rz/3eu
9bAg5ZyNAgMBAAECggEACnp8CMV0Zp53Sg30baR0Pe50MJRD+5SG/xFZ2sj6+TEz
0gDOUChbTkH4NbxJYXXmfCAEMayzK7mThuX1iy57abuRM7Bz4KZqdvDXUy4RKdEy
E0fugyKMflEGNpHwDzJOa1fUB1xABb1/PU3eK7QkldfAaDo9IXqezhVH2PCMuXeU
kEnFNAlkjkIMCbP22Q1kXUiDYRtuuKTZbkRXmCv+YFUFvMHetZpXn0pj/Lilo/vA
g41RUD7IvW6yT8RQPBnk6Lkc8LdzK1HJy7iaQTvNUeuio9qOafKVwfSoJ/s2AaL+
PiXsHQY6MjCYct6TD47pOE7bEr1EAOQd8j++CPHuMQKBgQD7zVVsm/Pwr+LNqFhV
bCT21Patcl3j94I1OODHUuk/pki8MS1SrPU0Ib8c6TJjFK+t3dOD0au08vFk8g4V
bQ2ZbirITZb/AIHS5fjn3edUlJWZSwUSWja/8+tAG0YcKzHoMWRKH2hOX5Lx2I9F
4oKhHQMqdeygUrrku13SYOhQnQKBgQDWtSHIfgISv56QS7lgb3EtD1OO3n9Lhg3X
UKXNuaV6jsw2XxemB3b66tCHFVHnntLYLlG6+sLZkLkV6SLfGV0DRlOhYfP3ihzl
TJgd6luL8LjE38NCIkK3XjSkib4R1UXIVQ7IMd/NNuv/AzmZhctw7Xjl5EMuHa0i
1dvnOMdgsQKBgQDmLrC2lmILVl4Y7pnBjRjFY60UpYXbDbnD+XjR/aMoAlRfZP0v
pNiKjYbtYOgk1xY59JyU1ikHQ0cUponlYEmcRq9paDRubAJBzuUY4SvFkAapmYDL
ZBjEpLAbbFNNENeQkQZDFC7/5jKoTvW6RvRvX9wzBpYHgVlEG1wLI3d7qQKBgQCP
BcmjTI0FADAX3tl1q8awRW1b1krlfD7sFwTbrbbVlRnjfiS6rG5NZu3RjhopOFsr
Nm+rJi91zjn8pnhcNQEIlWhQMHfbhV0KQaNzChJBffEW9BeVjkzy6QYYNMkwB+mc
MUzPfqmegd9i2DseUUnbx9SpDwzRQ2N5uQvrUp89gQKBgQCuZo01JU39uyEYSkec
3nLFmavd5ASvleAxw3Agh3yBCAbQ/4EmMTnxHqsDisXd635+H/kYZlO/oQNMWOv7
3NaPZjeJ6iNB2AulBqjcjmZV3J84NGJVrM117h7PWl8H+PHWk9XDRWEAkZPWQtif
2Ngj/4mG69rtKNUiYU4Gm9nNjA==
-----END PRIVATE KEY-----
"""
}
