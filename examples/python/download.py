#!/usr/bin/env python3
"""Download a model through ModelPull from Python, printing progress as it comes.

    python3 examples/python/download.py url https://example.com/model.gguf --sha256 <hex>
    python3 examples/python/download.py huggingface org/name --include '*.json'

Copy this file into your project: it needs nothing but the standard library and a `modelpull`
binary (set MODELPULL to its path, or have it on PATH). Ctrl-C cancels the download cleanly; the
partial files stay and the next run resumes them.
"""
import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import sys


class ModelPullClient:
    """A minimal JSON-RPC 2.0 client for `modelpull` over stdin/stdout (NDJSON)."""

    def __init__(self, binary):
        self.binary = binary
        self.ids = itertools.count(1)
        self.pending = {}
        self.progress_handlers = {}

    async def start(self):
        # The OpenRPC document is one long line: raise asyncio's 64 KiB line limit.
        self.process = await asyncio.create_subprocess_exec(
            self.binary, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=16 * 1024 * 1024)
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        async for line in self.process.stdout:
            message = json.loads(line)
            if "id" in message and ("result" in message or "error" in message):
                future = self.pending.pop(message["id"], None)
                if future and not future.done():
                    future.set_result(message)
            elif message.get("method") == "downloads/progress":
                handler = self.progress_handlers.get(message["params"]["requestId"])
                if handler:
                    handler(message["params"])
        for future in self.pending.values():
            future.set_exception(ConnectionError("modelpull exited"))

    async def request(self, method, params=None, on_progress=None):
        request_id = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        if on_progress:
            self.progress_handlers[request_id] = on_progress
        message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        await self.process.stdin.drain()
        reply = await future
        self.progress_handlers.pop(request_id, None)
        if "error" in reply:
            raise ModelPullError(reply["error"])
        return reply["result"]

    async def close(self):
        self.process.stdin.close()
        await self.process.wait()


class ModelPullError(Exception):
    def __init__(self, error):
        data = error.get("data") or {}
        super().__init__(f"{data.get('kind', error['code'])}: {error['message']}")
        self.code = error["code"]
        self.kind = data.get("kind")
        self.retryable = data.get("retryable", False)


def print_progress(event):
    parts = [f"[{event['status']}]"]
    if "percent" in event:
        parts.append(f"{event['percent']:5.1f}%")
    if "totalBytes" in event:
        parts.append(f"{event['downloadedBytes']}/{event['totalBytes']} bytes")
    if event.get("bytesPerSecond"):
        parts.append(f"{event['bytesPerSecond'] / 1e6:.1f} MB/s")
    if "etaSeconds" in event:
        parts.append(f"ETA {event['etaSeconds']:.0f}s")
    parts.append(event["message"])
    print(" ".join(parts), flush=True)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("provider", choices=["huggingface", "mlx", "ollama", "url"])
    parser.add_argument("model")
    parser.add_argument("--revision")
    parser.add_argument("--include", action="append")
    parser.add_argument("--sha256")
    parser.add_argument("--local-dir")
    parser.add_argument("--base-url")
    args = parser.parse_args()

    binary = os.environ.get("MODELPULL") or shutil.which("modelpull")
    if not binary:
        sys.exit("set MODELPULL to the modelpull binary, or put it on PATH")
    if not os.access(binary, os.X_OK):
        sys.exit(f"MODELPULL is {binary}, which is not an executable file; point it at the modelpull binary")
    client = ModelPullClient(binary)
    await client.start()
    hello = await client.request("hello", {"protocolVersions": ["1.0"], "client": {"name": "example.py"}})
    print(f"connected to {hello['server']['name']} {hello['server']['version']} (protocol {hello['protocolVersion']})")

    params = {"provider": args.provider, "model": args.model}
    for key, value in [("revision", args.revision), ("include", args.include), ("sha256", args.sha256),
                       ("localDir", args.local_dir), ("baseUrl", args.base_url)]:
        if value:
            params[key] = value

    download_ids = set()
    interrupted = False

    def on_progress(event):
        download_ids.add(event["downloadId"])
        print_progress(event)

    def cancel():
        nonlocal interrupted
        interrupted = True
        for download_id in download_ids:
            asyncio.ensure_future(client.request("downloads/cancel", {"downloadId": download_id}))

    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, cancel)
    try:
        result = await client.request("models/download", params, on_progress=on_progress)
        print(f"done: {result['path']} ({len(result['files'])} files, "
              f"{result['bytesDownloaded']} bytes downloaded, {result['bytesReused']} reused)")
        status = 0
    except ModelPullError as error:
        print(f"failed: {error}", file=sys.stderr)
        # 130 after Ctrl-C, as shells and `modelpull pull` report an interrupt.
        status = 130 if interrupted and error.kind == "cancelled" else 1
    await client.close()
    return status


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
