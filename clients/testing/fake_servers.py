#!/usr/bin/env python3
"""Loopback servers for the package tests (Python and Node): a ranged static file server and a
fake Hugging Face Hub (Benchmarks/hub_api.py) whose LFS files redirect to it. Standard library
only.

    fake_servers.py --root DIR          # creates the fixtures, starts both servers, prints one
                                        # JSON line: {"static", "hub", "files", "repo", ...},
                                        # then serves until stdin closes or it is killed.

Static server (ThreadingHTTPServer, HTTP/1.1):
    GET|HEAD /<path under ROOT>   strong ETag, Last-Modified, Accept-Ranges, Range (one range),
                                  If-Range; bodies go out in 64 KiB chunks, each connection
                                  limited to the current rate when one is set.
    GET /_control?rate=BYTES_PER_SECOND   0 = unlimited (per connection)
    GET /_stats                   {"bytesSent": N, "requests": N, "open": N} (bodies only)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CHUNK = 64 * 1024


class Stats:
    lock = threading.Lock()
    bytes_sent = 0
    requests = 0
    open = 0
    rate = 0  # bytes per second per connection, 0 = unlimited


class StaticHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    root = "."

    def log_message(self, format, *args):  # quiet
        pass

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def serve(self, head):
        url = urlsplit(self.path)
        if url.path == "/_control":
            query = parse_qs(url.query)
            with Stats.lock:
                Stats.rate = int(query.get("rate", ["0"])[0])
            return self.reply(200, b"{}", {"Content-Type": "application/json"})
        if url.path == "/_stats":
            with Stats.lock:
                body = json.dumps({"bytesSent": Stats.bytes_sent, "requests": Stats.requests,
                                   "open": Stats.open}).encode()
            return self.reply(200, body, {"Content-Type": "application/json"})
        rel = unquote(url.path).lstrip("/")
        full = os.path.realpath(os.path.join(self.root, rel))
        if not full.startswith(os.path.realpath(self.root) + os.sep) or not os.path.isfile(full):
            return self.reply(404, b"not found")
        st = os.stat(full)
        size = st.st_size
        etag = '"%x-%x"' % (size, st.st_mtime_ns)
        headers = {"ETag": etag, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream",
                   "Last-Modified": self.date_time_string(int(st.st_mtime))}
        start, end, status = 0, size - 1, 200
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if_range = self.headers.get("If-Range")
        if match and (match.group(1) or match.group(2)) and (if_range is None or if_range == etag):
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last) if last else size - 1, size - 1)
            else:
                start, end = max(size - int(last), 0), size - 1
            if start >= size or start > end:
                return self.reply(416, b"", {"Content-Range": f"bytes */{size}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            status = 206
        length = end - start + 1 if size else 0
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if head:
            return
        with Stats.lock:
            Stats.requests += 1
            Stats.open += 1
        try:
            with open(full, "rb") as f:
                f.seek(start)
                left = length
                while left > 0:
                    chunk = f.read(min(CHUNK, left))
                    if not chunk:
                        break
                    began = time.monotonic()
                    self.wfile.write(chunk)
                    left -= len(chunk)
                    with Stats.lock:
                        Stats.bytes_sent += len(chunk)
                        rate = Stats.rate
                    if rate > 0:
                        pause = len(chunk) / rate - (time.monotonic() - began)
                        if pause > 0:
                            time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            with Stats.lock:
                Stats.open -= 1


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a client opening many connections at once must not see drops

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def write_random(path: str, size: int, seed: int) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(1 << 20, left)
            block = rng.getrandbits(8 * n).to_bytes(n, "little")
            f.write(block)
            digest.update(block)
            left -= n
    return digest.hexdigest()


def make_fixtures(root: str) -> dict:
    files = {}
    for name, size, seed in (("model.bin", 6_000_000, 1), ("big.bin", 40_000_000, 2)):
        sha = write_random(os.path.join(root, "files", name), size, seed)
        files[name] = {"path": f"/files/{name}", "size": size, "sha256": sha}
    repo = os.path.join(root, "hub", "acme", "tiny")
    os.makedirs(os.path.join(repo, "tokenizer"), exist_ok=True)
    with open(os.path.join(repo, "config.json"), "w") as f:
        f.write('{"model_type": "tiny"}\n')
    with open(os.path.join(repo, "tokenizer", "tokenizer.json"), "w") as f:
        f.write('{"version": "1.0"}\n')
    write_random(os.path.join(repo, "model.safetensors"), 8_000_000, 3)
    repo_bytes = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(repo) for n in names)
    return {"files": files, "repo": "acme/tiny", "repoBytes": repo_bytes, "repoFiles": 3}


def serve(server: ThreadingHTTPServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True)
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    info = make_fixtures(root)

    StaticHandler.root = root
    static = QuietServer(("127.0.0.1", 0), StaticHandler)
    serve(static)
    static_url = f"http://127.0.0.1:{static.server_address[1]}"

    sys.path.insert(0, os.path.join(REPO, "Benchmarks"))
    import hub_api  # the fake Hub the benchmarks use

    hub_api.Handler.repos = hub_api.scan(os.path.join(root, "hub"), 1_000_000)
    hub_api.Handler.cdn = static_url + "/hub"
    hub = QuietServer(("127.0.0.1", 0), hub_api.Handler)
    serve(hub)

    for entry in info["files"].values():
        entry["url"] = static_url + entry["path"]
    info.update({"static": static_url, "hub": f"http://127.0.0.1:{hub.server_address[1]}"})
    print(json.dumps(info), flush=True)
    # Serve until the test that started us goes away (stdin closes) or kills us.
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()


class Running:
    """`with Running(root) as info:` starts these servers in a child process for a Python test
    script, hands over the JSON line (`info`) and stops them on the way out."""

    def __init__(self, root: str):
        import subprocess
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--root", root],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __enter__(self) -> dict:
        return json.loads(self.process.stdout.readline())

    def __exit__(self, *exc) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def drive(script_doc: str, name: str, run) -> int:
    """The `main` of an async test script: `--binary` (default the debug build), a work folder,
    these servers around `run(binary, info, work)`, and a last line saying all checks passed."""
    import argparse
    import asyncio
    import tempfile
    parser = argparse.ArgumentParser(description=script_doc.split("\n\n")[0])
    parser.add_argument("--binary", default=os.path.join(REPO, ".build", "debug", "modelpull"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix=name + "-")
    with Running(work) as info:
        asyncio.run(run(os.path.abspath(args.binary), info, work))
    print(f"{name}: all checks passed")
    return 0
