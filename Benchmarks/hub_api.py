#!/usr/bin/env python3
"""A local stand-in for the Hugging Face Hub API, for Benchmarks/run.sh.

Serves model repos laid out as ROOT/{org}/{name}/{path...} with the endpoints and headers the
Hub download clients (huggingface_hub, ModelPull) use, and sends the bytes of large ("LFS")
files to a CDN -- the benchmark's nginx -- by a 302 redirect, like the real Hub does. Small
("regular") files are answered by a 307 to /api/resolve-cache/... on this server, which serves
them itself, again like the real Hub. See shared/reference/hf-protocol.md.

    hub_api.py --root DIR --cdn http://127.0.0.1:PORT [--port 0] [--port-file FILE]
               [--lfs-threshold BYTES] [--verbose]

Endpoints (revision: "main" or the repo's commit; anything else is RevisionNotFound):
    GET  /api/models/{org}/{name}[/revision/{rev}]      model info: id, sha, siblings
    GET  /api/models/{org}/{name}/tree/{rev}[/{dir}]     tree listing (recursive=true, cursor paging)
    HEAD|GET /{org}/{name}/resolve/{rev}/{path}          302 to CDN (LFS) or 307 to resolve-cache
    HEAD|GET /api/resolve-cache/models/{org}/{name}/{commit}/{path}   regular file bytes (Range ok)

Digests (sha256, git blob ids) are computed at start and cached in ROOT/.hub_api_cache.json by
size and mtime, so restarting on the same files is instant. Python standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

PAGE_SIZE = 1000  # the Hub's tree page size without expand
LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {size}\n"
CACHE_NAME = ".hub_api_cache.json"


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def file_digests(path: str, want_oid: bool) -> tuple[str, str | None]:
    """(sha256, git blob id of the content or None), reading the file once in 1 MiB chunks.
    LFS files need no content blob id (git stores their pointer), and skipping it saves
    seconds on the benchmark's gigabytes."""
    size = os.path.getsize(path)
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(b"blob %d\0" % size) if want_oid else None
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha256.update(chunk)
            if sha1:
                sha1.update(chunk)
    return sha256.hexdigest(), sha1.hexdigest() if sha1 else None


class RepoFile:
    def __init__(self, path: str, full: str, size: int, sha256: str, content_oid: str | None, lfs: bool):
        self.path = path  # repo-relative, "/"-separated
        self.full = full
        self.size = size
        self.sha256 = sha256
        self.lfs = lfs
        if lfs:
            pointer = LFS_POINTER.format(sha=sha256, size=size).encode()
            self.oid = git_blob_id(pointer)  # git stores the pointer, not the content
            self.pointer_size = len(pointer)
        else:
            self.oid = content_oid
            self.pointer_size = None

    def tree_entry(self) -> dict:
        entry = {"type": "file", "oid": self.oid, "size": self.size, "path": self.path}
        if self.lfs:
            entry["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": self.pointer_size}
        return entry


class Repo:
    def __init__(self, repo_id: str, files: list[RepoFile]):
        self.id = repo_id
        self.files = sorted(files, key=lambda f: f.path)
        self.by_path = {f.path: f for f in self.files}
        # A stable fake commit: changes whenever any file's content does.
        listing = "\n".join(f"{f.path} {f.oid}" for f in self.files)
        self.commit = hashlib.sha1(f"{repo_id}\n{listing}".encode()).hexdigest()

    def commit_for(self, revision: str):
        return self.commit if revision in ("main", self.commit) else None


def scan(root: str, lfs_threshold: int) -> dict[str, Repo]:
    cache_path = os.path.join(root, CACHE_NAME)
    try:
        with open(cache_path) as f:
            cache = json.load(f)
    except (OSError, ValueError):
        cache = {}
    new_cache = {}
    repos = {}
    for org in sorted(os.listdir(root)):
        org_dir = os.path.join(root, org)
        if org.startswith(".") or not os.path.isdir(org_dir):
            continue
        for name in sorted(os.listdir(org_dir)):
            repo_dir = os.path.join(org_dir, name)
            if not os.path.isdir(repo_dir):
                continue
            files = []
            for dirpath, dirnames, filenames in os.walk(repo_dir):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for filename in sorted(filenames):
                    full = os.path.join(dirpath, filename)
                    rel = os.path.relpath(full, repo_dir).replace(os.sep, "/")
                    st = os.stat(full)
                    key = f"{org}/{name}/{rel}"
                    stamp = [st.st_size, st.st_mtime_ns]
                    lfs = st.st_size >= lfs_threshold
                    cached = cache.get(key)
                    if cached and cached["stamp"] == stamp and (lfs or cached["oid"]):
                        sha256, oid = cached["sha256"], cached["oid"]
                    else:
                        sha256, oid = file_digests(full, want_oid=not lfs)
                    new_cache[key] = {"stamp": stamp, "sha256": sha256, "oid": oid}
                    files.append(RepoFile(rel, full, st.st_size, sha256, oid, lfs))
            repos[f"{org}/{name}"] = Repo(f"{org}/{name}", files)
    try:
        tmp = cache_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(new_cache, f)
        os.replace(tmp, cache_path)
    except OSError:
        pass  # a read-only root just means hashing again next time
    return repos


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so clients keep connections alive, as they would with the real Hub; every
    # response therefore carries Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "modelpull-bench-hub/1"
    # Headers and body go out in two writes; with Nagle on, the second waits for the client's
    # delayed ACK (~40 ms per response on Linux), which would make this server, not the
    # clients, the measurement.
    disable_nagle_algorithm = True

    repos: dict = {}
    cdn: str = ""
    verbose = False

    def log_message(self, format, *args):
        if self.verbose:
            sys.stderr.write("hub_api: " + (format % args) + "\n")

    def do_HEAD(self):
        self.route(head=True)

    def do_GET(self):
        self.route(head=False)

    # MARK: routing

    def route(self, head: bool):
        url = urlsplit(self.path)
        # Split the raw path first, then decode each segment: a revision like refs%2Fpr%2F1
        # is one segment.
        segments = [unquote(s) for s in url.path.split("/")[1:]]
        query = parse_qs(url.query)
        try:
            if segments[:2] == ["api", "models"] and len(segments) >= 4:
                return self.api(segments[2:], query, url.path)
            if segments[:3] == ["api", "resolve-cache", "models"] and len(segments) >= 7:
                return self.resolve_cache(segments[3:], head)
            if len(segments) >= 5 and segments[2] == "resolve":
                return self.resolve(segments, head)
            self.error(404, None, "Not found")
        except BrokenPipeError:
            pass

    def find_repo(self, org: str, name: str):
        repo = self.repos.get(f"{org}/{name}")
        if repo is None:
            self.error(404, "RepoNotFound", f"Repository Not Found for url: {self.path}")
        return repo

    def api(self, segments, query, raw_path):
        repo = self.find_repo(segments[0], segments[1])
        if repo is None:
            return
        rest = segments[2:]
        if not rest or rest[0] == "revision":
            revision = rest[1] if len(rest) > 1 else "main"
            commit = repo.commit_for(revision)
            if commit is None:
                return self.error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return self.json(self.info(repo, commit, blobs="true" in query.get("blobs", [])))
        if rest[0] == "tree" and len(rest) >= 2:
            revision = rest[1]
            commit = repo.commit_for(revision)
            if commit is None:
                return self.error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return self.tree(repo, revision, "/".join(rest[2:]), query)
        self.error(404, None, "Not found")

    @staticmethod
    def info(repo: Repo, commit: str, blobs: bool) -> dict:
        siblings = []
        for f in repo.files:
            sibling = {"rfilename": f.path}
            if blobs:
                sibling.update({"size": f.size, "blobId": f.oid})
                if f.lfs:
                    sibling["lfs"] = {"size": f.size, "sha256": f.sha256, "pointerSize": f.pointer_size}
            siblings.append(sibling)
        org = repo.id.split("/")[0]
        return {"_id": commit[:24], "id": repo.id, "modelId": repo.id, "author": org, "sha": commit,
                "private": False, "gated": False, "disabled": False,
                "lastModified": "2025-01-31T12:00:00.000Z", "tags": [], "downloads": 0, "likes": 0,
                "siblings": siblings}

    def tree(self, repo: Repo, revision: str, folder: str, query):
        recursive = query.get("recursive", ["false"])[0].lower() in ("true", "1")
        prefix = folder + "/" if folder else ""
        entries = []
        directories = set()
        for f in repo.files:
            parts = f.path.split("/")
            for depth in range(1, len(parts)):
                directories.add("/".join(parts[:depth]))
            entries.append(f.tree_entry())
        entries += [{"type": "directory", "oid": "d" * 40, "size": 0, "path": d} for d in directories]
        entries = [e for e in entries if e["path"].startswith(prefix)
                   and (recursive or "/" not in e["path"][len(prefix):])]
        entries.sort(key=lambda e: e["path"])
        try:
            start = min(int(query.get("cursor", ["0"])[0]), len(entries))
        except ValueError:
            start = 0
        end = min(start + PAGE_SIZE, len(entries))
        headers = {}
        if end < len(entries):
            folder_part = "/" + quote(folder) if folder else ""
            host = self.headers.get("Host", "127.0.0.1")
            next_url = (f"http://{host}/api/models/{repo.id}/tree/{quote(revision, safe='')}{folder_part}"
                        f"?recursive={str(recursive).lower()}&cursor={end}")
            headers["Link"] = f'<{next_url}>; rel="next"'
        self.json(entries[start:end], headers)

    def resolve(self, segments, head: bool):
        repo = self.find_repo(segments[0], segments[1])
        if repo is None:
            return
        revision, path = segments[3], "/".join(segments[4:])
        commit = repo.commit_for(revision)
        if commit is None:
            return self.error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        f = repo.by_path.get(path)
        if f is None:
            return self.error(404, "EntryNotFound", f'{path} does not exist on "{revision}"',
                              {"X-Repo-Commit": commit})
        if f.lfs:
            # The CDN URL is nginx serving ROOT; the real one is signed, which clients ignore.
            location = f"{self.cdn}/{quote(repo.id)}/{quote(f.path)}"
            return self.empty(302, {"Location": location, "X-Repo-Commit": commit,
                                    "X-Linked-Etag": f'"{f.sha256}"', "X-Linked-Size": str(f.size),
                                    "ETag": f'"{f.oid}"'})
        location = f'/api/resolve-cache/models/{quote(repo.id)}/{commit}/{quote(f.path)}?etag=%22{f.oid}%22'
        self.empty(307, {"Location": location, "X-Repo-Commit": commit, "ETag": f'"{f.oid}"'})

    def resolve_cache(self, segments, head: bool):
        repo = self.find_repo(segments[0], segments[1])
        if repo is None:
            return
        commit, path = segments[2], "/".join(segments[3:])
        f = repo.by_path.get(path)
        if commit != repo.commit or f is None:
            return self.error(404, "EntryNotFound", f"{path} not found")
        with open(f.full, "rb") as fh:
            data = fh.read()
        headers = {"ETag": f'"{f.oid}"', "X-Repo-Commit": commit, "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        status = 200
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if match and (match.group(1) or match.group(2)):
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
            else:
                start, end = max(len(data) - int(last), 0), len(data) - 1
            if start >= len(data) or start > end:
                return self.empty(416, {"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start:end + 1], 206
        self.send(status, data, headers, head)

    # MARK: responses

    def send(self, status: int, body: bytes, headers: dict, head: bool = False):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and self.command != "HEAD":
            self.wfile.write(body)

    def empty(self, status: int, headers: dict):
        self.send(status, b"", headers)

    def json(self, value, headers=None):
        body = json.dumps(value, separators=(",", ":")).encode()
        self.send(200, body, {"Content-Type": "application/json", **(headers or {})})

    def error(self, status: int, code, message: str, headers=None):
        extra = dict(headers or {})
        if code:
            extra["X-Error-Code"] = code
        extra["X-Error-Message"] = message
        body = json.dumps({"error": message}).encode()
        self.send(status, body, {"Content-Type": "application/json", **extra})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="directory of {org}/{name}/ repos")
    parser.add_argument("--cdn", required=True, help="base URL serving ROOT (nginx), no trailing /")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the port here once listening")
    parser.add_argument("--lfs-threshold", type=int, default=10 * 1000 * 1000,
                        help="files this size or larger are LFS (302 to the CDN); the Hub's "
                             "rule is 10 MB")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    Handler.repos = scan(args.root, args.lfs_threshold)
    Handler.cdn = args.cdn.rstrip("/")
    Handler.verbose = args.verbose
    # A listen backlog like a real server's: socketserver's default of 5 drops the SYNs of a
    # client opening a dozen connections at once, and each dropped one costs a 1 s retransmit.
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)  # the script polls for the file: never half-written
    if args.verbose:
        for repo in Handler.repos.values():
            sys.stderr.write(f"hub_api: {repo.id} @ {repo.commit}: {len(repo.files)} files\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
