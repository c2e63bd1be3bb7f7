#!/usr/bin/env python3
"""A local Ollama registry for Benchmarks/run.sh: manifests from files, blobs redirected (307,
as registry.ollama.ai does) to a CDN that serves them. Standard library only.

    ollama_registry.py --manifests DIR --cdn BASE [--port-file FILE]

GET /v2/<namespace>/<model>/manifests/<tag>   DIR/<namespace>/<model>/<tag> with Docker's v2 type
GET /v2/<namespace>/<model>/blobs/sha256:<h>  307 to BASE/sha256-<h>
"""

import argparse
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    manifests = ""
    cdn = ""

    def log_message(self, format, *args):  # quiet
        pass

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 5 and parts[0] == "v2" and parts[3] == "manifests":
            path = os.path.join(self.manifests, parts[1], parts[2], parts[4])
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    body = f.read()
                return self.reply(200, body, {"Content-Type": MANIFEST_TYPE})
        if len(parts) == 5 and parts[0] == "v2" and parts[3] == "blobs" and parts[4].startswith("sha256:"):
            return self.reply(307, b"", {"Location": f"{self.cdn}/sha256-{parts[4][7:]}"})
        self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', {"Content-Type": "application/json"})

    def reply(self, status, body, headers):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifests", required=True)
    parser.add_argument("--cdn", required=True)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    Handler.manifests = args.manifests
    Handler.cdn = args.cdn.rstrip("/")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
