import Foundation

/// An HTTPS server on loopback, served by Python's ssl module (the Swift toolchain has no TLS
/// server); every GET answers `body` (HEAD its length). By default its certificate is
/// self-signed and nothing trusts it, so tests can check that TLS really runs and that an
/// untrusted certificate is refused. With `signedByTestCA` its certificate (for 127.0.0.1 and
/// localhost) is signed by `testAuthority`, a root that tests hand to ModelPull through
/// SSL_CERT_FILE and the like, as a company hands out its own root.
public final class TLSTestServer: @unchecked Sendable {
    private let server: PythonHelperServer
    public var port: Int { server.port }

    public init(signedByTestCA: Bool = false, body: Data = Data("secret body".utf8)) throws {
        let files = ["cert.pem": Data((signedByTestCA ? Self.issuedCertificate : Self.certificate).utf8),
                     "key.pem": Data((signedByTestCA ? Self.issuedKey : Self.key).utf8), "body": body]
        server = try PythonHelperServer(name: "tls", script: Self.script, files: files) { folder in
            [folder + "/cert.pem", folder + "/key.pem", folder + "/body"]
        }
    }

    public func url(_ path: String) -> URL { URL(string: "https://127.0.0.1:\(port)\(path)")! }

    public func stop() { server.stop() }

    private static let script = """
    import http.server, ssl, sys

    BODY = open(sys.argv[3], "rb").read()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def do_HEAD(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()

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

extension TLSTestServer {
    /// The test root that signed `signedByTestCA` servers' certificates (CA:TRUE, never installed).
    public static let testAuthority = """
-----BEGIN CERTIFICATE-----
MIIDNTCCAh2gAwIBAgIUYzBE9vhx9J4cJu6cj4aptlOXdeYwDQYJKoZIhvcNAQEL
BQAwITEfMB0GA1UEAwwWTW9kZWxQdWxsIFRlc3QgUm9vdCBDQTAgFw0yNjEyMDQw
MzIwMDdaGA8yMTI2MTExMDAzMjAwN1owITEfMB0GA1UEAwwWTW9kZWxQdWxsIFRl
c3QgUm9vdCBDQTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAL+kJnmg
pm+q6AI32WWdGs1z5YB0gHqeVfB2Cc7wAZQpQ0ATauTdjTMA9cPp5Txwyfc2npdr
dO2rswqX7uluTM9BpL6Vm6VMA2znLjYKqcBsArgkeBqY+TrY4oGQHa0yvpWrcUBC
6jFI4Iuzq76seZhlPUCJcM6XM7an7ssW077hOG9ovFNhLAsviA39hVwJndCW1RR1
UuQlqhp5J4oYtnq+TLRe4RG/TdiWCUSI/gjGDR/dWNH1VCbYP2nIhdSov4Y6pT1y
Cu1vRb1UuCiU9otx/7D4TvPy2gaE43ZyVDl22Xmu8sWBG/FVWvE7A2hV64NxJp7L
DbKIDs8GOwtxpFcCAwEAAaNjMGEwHQYDVR0OBBYEFOmTTwg4ilTRNFlRgW2i9j+P
kTudMB8GA1UdIwQYMBaAFOmTTwg4ilTRNFlRgW2i9j+PkTudMA8GA1UdEwEB/wQF
MAMBAf8wDgYDVR0PAQH/BAQDAgEGMA0GCSqGSIb3DQEBCwUAA4IBAQCRd18RajAU
2/AmSl1k4EwzwW+JEd8lItV+q43cfSj0RnnrjelcrscBnQSSi5v0HV0V7KmqHNot
Ly0NiF0uPFXD+wts+hiKeW7ljKFONxjCm0l0OVeEWBD6Ksp8QmAKVVrxkPDYn6zK
//VyCehRLxPlGXGz2YCRAizU0Xf1u507yyYONalAOSdImYKpR+/m/HrHp+YOmQ4A
A2TWLIcx/kjM/EkMTGXpKmFr/BZZSQm0hqJBGD6e97ECFDzk+ZjkbR69N/Ui3rLS
g/SKhdP/jAY+Xx5KHguF7ajPByaBaAMHjN362GQdTMpcUI2fzUaFppBkcdTIcOf+
piJpBkXVBWxb
-----END CERTIFICATE-----
"""

    /// The name `openssl rehash` gives `testAuthority` in an SSL_CERT_DIR folder.
    public static let testAuthorityHashName = "ca199d45.0"

    /// Writes `testAuthority` as a bundle file and as a hashed folder; returns their paths.
    public static func writeTestAuthority(into folder: String) throws -> (bundle: String, directory: String) {
        let directory = folder + "/certs"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try testAuthority.write(toFile: folder + "/test-root.pem", atomically: true, encoding: .utf8)
        try testAuthority.write(toFile: directory + "/" + testAuthorityHashName, atomically: true, encoding: .utf8)
        return (folder + "/test-root.pem", directory)
    }

    private static let issuedCertificate = """
-----BEGIN CERTIFICATE-----
MIIDQzCCAiugAwIBAgIUUe1ENrdEtyhVit1xHZBduOQlz/QwDQYJKoZIhvcNAQEL
BQAwITEfMB0GA1UEAwwWTW9kZWxQdWxsIFRlc3QgUm9vdCBDQTAgFw0yNjEyMDQw
MzIwMDdaGA8yMTI2MTExMDAzMjAwN1owFDESMBAGA1UEAwwJMTI3LjAuMC4xMIIB
IjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAttUfAOXuB+sM3/u1q9sqd2VU
BT+8mL2BXkhYExtJp+Y5OsS77NuSSPQn3uvxFjfJbKlwQCl4JG+agh2xsTNBocyL
aA3PKKAOOIKqFbgD+GxHQZQb/7Jd4OASyhB/Cbp5JDOGr6jWqa/EgEjXArAuTYzN
EC6UeFEgItGGDN9ZxamqYhoQMjjkElNT45oT7XG6br0pT5PuNwStPwzpP66WKfoV
LR2SgFvNeF4S0J9K4JROVa5tXem292FB4cheohdIOhzRuFD65al3oJBhaCCtrpUh
CC4MwsT53O0Ukfsan8XCeS8lcxszbO8XIe4uyqb2GOC6AMUaa3v3lYwuZn5XMwID
AQABo34wfDAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCQYDVR0TBAIwADAT
BgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4EFgQUdhQVklXc7b6979o/5o5RzTDd
9FowHwYDVR0jBBgwFoAU6ZNPCDiKVNE0WVGBbaL2P4+RO50wDQYJKoZIhvcNAQEL
BQADggEBACCkFliUaUJ62Sae+UHwRPVbdLPxapJX9FCzdRAR1pjDiHTI01a8irZr
ANbscuLWOITnGabmXmvDBs4uv8bnTN0ijJu34fL8B7o0HqcdZhDwBHJDkbqy3U5J
PBS7I7L7Q+StnkO6xvN8KXcLd7euf74OWQxbNWAMZU3qi1cGfCpxPGAtHdsu00hR
n3TNHhl6IJ4ZiCAVjQpSCncTPGcgXoO74TQ+vzhBdo55dye/Ueau9CVkzu0XzxwM
fZPanCnWUlrSlNa1znt6MJf/lHS7ItBsH6JgzIBCNQdAPa7ftpLISUxZtoNjT0CJ
EfDgPTaALX61e76kq1SjKXi60UFIwp0=
-----END CERTIFICATE-----
"""

    private static let issuedKey = """
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC21R8A5e4H6wzf
+7Wr2yp3ZVQFP7yYvYFeSFgTG0mn5jk6xLvs25JI9Cfe6/EWN8lsqXBAKXgkb5qC
HbGxM0GhzItoDc8ooA44gqoVuAP4bEdBlBv/sl3g4BLKEH8JunkkM4avqNapr8SA
SNcCsC5NjM0QLpR4USAi0YYM31nFqapiGhAyOOQSU1PjmhPtcbpuvSlPk+43BK0/
DOk/rpYp+hUtHZKAW814XhLQn0rglE5Vrm1d6bb3YUHhyF6iF0g6HNG4UPrlqXeg
kGFoIK2ulSEILgzCxPnc7RSR+xqfxcJ5LyVzGzNs7xch7i7KpvYY4LoAxRpre/eV
jC5mflczAgMBAAECggEAN0OFOw7FG8SbICrj134IQI2yz2FcHukNLRP990yEv4jx
3Icx7J7UAVQ3pwS3W0lii4NNyD8grxbC47iZCOBe4srCiqG97+AtXDx2r9ju7kzA
XxynN+tQwBPK6iQBWk3wpxYiDH+i3yifY01hHFFntY4tP8psm0+eQJgHhmWOq5Wh
/h1E/Ts7IBwHTs7QEzAVydhXBYOWa2zveObvOI+m9/0jVglzTaUfMf672+35nRhL
J4HWTC3uMV+Sb0JuA9uMKiSTNmeIZhAintsqMrGkPqCUgSyyXVwyAjmDKLTMp6Ru
6nqWWuYNyhnB4tsEPaXf3lKex/QGBUviERvlBbzuuQKBgQDZKxwsocW7m4ImGzKw
s1H1ca5IdeGS6UVSA8Ci/3N3UitrfB5X5SPHxK4sQM2WEMQN7NmTAFtoLjvkLeu+
aaZp5XJVPi771zXOgPdp86nTbtwI00KNUa9FBlBav6jfPuJTzj5UX3FCSrcCIO8x
tRcn8QGFo/0hHWJK0FeDbyWZiQKBgQDXhkjSd4z3ouOqmJ6BkGI4Z9ISB/XAXlsE
LwxNs3y3u/ncTWu9X7V+oNOnfRA9lsC1Vxg5PXircLxUYXju/vVKhuAjaVESO6tU
uQrqUGDsP0/O9JEYBHp03rvuH/1Sk4Akt2r7GK+Fs7aN1v2ks3lWmgc2jUwFuFRQ
r9t26QdH2wKBgA+Vj2UIiucGptVTOFUD2UrSyJ38j556TPYwvL81s7SJWgJRmt/V
2rZ4P8N/NwGg3GDfcVGiQez8/GFIhlVYwY9x3r2NQ9PgwsS57odU7Af3OaUMfAcm
KHy8kkGg5V535cf70e8+FiOatv1ZHbEkfK/qFKDhfsXElQwnXVBaRol5AoGAP28F
lfSb5/LoYTikRmwRjJp6CNaQ7TqYPUX/sAro5UcNRlr/H/DAgXGiegRkOExbkcP9
nDNMheEbfRZnOqiN146U/7cqplwrlDcWUFqx/DayLa5r2g7PYACCfZaqv5gsOiJF
+XuNhaOcUmj5pHUyfFu/Tb4OpwxWvJzV0kzJ2MsCgYAoT9Id9t4wMVSuYxP7KpHh
2yCy+tXVujae3/NYI6kWlMA9y7FiKYGGKEQSWcVITWvfRJfOS3iG9/UVvwqWGj96
quPpEDQZgdTgJttie6IM7X8p/E9KZj8F9idwV1Kq0Nxwj/qwp6ARVVpi0uiGN+Df
rjWez3sx0dYHGyQjmZ+ZXw==
-----END PRIVATE KEY-----
"""
}
