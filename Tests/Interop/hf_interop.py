#!/usr/bin/env python3
"""Interop checks between ModelPull and the real huggingface_hub, driven by
Tests/EndToEndTests/HuggingFaceInteropTests.swift.

  hf_interop.py verify --cache DIR --manifest FILE
      With HF_HUB_OFFLINE=1: every file of every repo in the manifest loads through
      hf_hub_download(local_files_only=True) and snapshot_download(local_files_only=True) with the
      expected bytes, and scan_cache_dir() reports the repos with no warnings.

  hf_interop.py download --cache DIR --repo REPO [--revision REV]
      Downloads a repo with snapshot_download from $HF_ENDPOINT (the fake Hub) into DIR.

  hf_interop.py offline-snapshot --cache DIR --repo REPO [--revision REV] [--allow GLOB]...
      With HF_HUB_OFFLINE=1: snapshot_download's own verdict on what ModelPull left in DIR
      (it reads ModelPull's trees/<commit>.json). Prints {"path": …} or {"error": class name}.

The manifest is JSON: {"repos": [{"repo": "org/name", "revision": "main", "commit": "…",
"allow": [globs] or null, "files": {"path": "sha256 hex"}}]}.
Prints one JSON line with what was checked; exits 1 with a reason on stderr on any mismatch.
"""
import argparse
import hashlib
import json
import os
import sys
import warnings


def fail(message):
    print(f"INTEROP FAILURE: {message}", file=sys.stderr)
    sys.exit(1)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(cache, manifest_path):
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        fail("verify must run with HF_HUB_OFFLINE=1 so nothing can come from the network")
    from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download

    with open(manifest_path) as handle:
        manifest = json.load(handle)
    checked = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for entry in manifest["repos"]:
            repo, revision, commit = entry["repo"], entry["revision"], entry["commit"]
            expected_snapshot = os.path.realpath(
                os.path.join(cache, "models--" + repo.replace("/", "--"), "snapshots", commit))
            for path, digest in entry["files"].items():
                local = hf_hub_download(repo, path, revision=revision, cache_dir=cache, local_files_only=True)
                if not os.path.abspath(local).startswith(os.path.join(cache, "models--")):
                    fail(f"{repo}/{path}: resolved outside the cache: {local}")
                if sha256(local) != digest:
                    fail(f"{repo}/{path}: hf_hub_download returned different bytes")
                checked += 1
            folder = snapshot_download(repo, revision=revision, cache_dir=cache, local_files_only=True,
                                       allow_patterns=entry.get("allow"))
            if os.path.realpath(folder) != expected_snapshot:
                fail(f"{repo}: snapshot_download returned {folder}, expected {expected_snapshot}")
            for path, digest in entry["files"].items():
                if sha256(os.path.join(folder, path)) != digest:
                    fail(f"{repo}/{path}: wrong bytes in the snapshot folder")

        info = scan_cache_dir(cache)
        if info.warnings:
            fail("scan_cache_dir warnings: " + "; ".join(str(w) for w in info.warnings))
        repos = {r.repo_id: r for r in info.repos}
        for entry in manifest["repos"]:
            cached = repos.get(entry["repo"])
            if cached is None:
                fail(f"scan_cache_dir does not list {entry['repo']}")
            revisions = {r.commit_hash: r for r in cached.revisions}
            if entry["commit"] not in revisions:
                fail(f"scan_cache_dir does not list commit {entry['commit']} of {entry['repo']}")
            if entry["revision"] != entry["commit"] and entry["revision"] not in revisions[entry["commit"]].refs:
                fail(f"scan_cache_dir: ref {entry['revision']} does not name {entry['commit']}")
    hub_warnings = [str(w.message) for w in caught if "huggingface_hub" in (w.filename or "")]
    if hub_warnings:
        fail("huggingface_hub warned: " + "; ".join(hub_warnings))
    print(json.dumps({"checkedFiles": checked, "repos": sorted(repos)}))


def download(cache, repo, revision):
    from huggingface_hub import snapshot_download

    folder = snapshot_download(repo, revision=revision, cache_dir=cache)
    print(json.dumps({"path": folder}))


def offline_snapshot(cache, repo, revision, allow):
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        fail("offline-snapshot must run with HF_HUB_OFFLINE=1")
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(repo, revision=revision, cache_dir=cache, allow_patterns=allow or None)
        print(json.dumps({"path": folder}))
    except Exception as error:  # the class name is the verdict
        print(json.dumps({"error": error.__class__.__name__, "message": str(error)}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("verify")
    check.add_argument("--cache", required=True)
    check.add_argument("--manifest", required=True)
    fetch = sub.add_parser("download")
    fetch.add_argument("--cache", required=True)
    fetch.add_argument("--repo", required=True)
    fetch.add_argument("--revision", default="main")
    offline = sub.add_parser("offline-snapshot")
    offline.add_argument("--cache", required=True)
    offline.add_argument("--repo", required=True)
    offline.add_argument("--revision", default="main")
    offline.add_argument("--allow", action="append")
    args = parser.parse_args()
    if args.command == "verify":
        verify(args.cache, args.manifest)
    elif args.command == "offline-snapshot":
        offline_snapshot(args.cache, args.repo, args.revision, args.allow)
    else:
        download(args.cache, args.repo, args.revision)


if __name__ == "__main__":
    main()
