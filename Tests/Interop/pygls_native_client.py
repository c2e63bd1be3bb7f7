#!/usr/bin/env python3
"""A native modelpull session driven by pygls's JsonRPCClient (`pip install pygls`), as an
editor's language tooling would: LSP framing, `"params": null` for calls without params,
progress notifications, and pygls's standard teardown (shutdown, exit, stop). Exits non-zero on
the first broken promise.

    Tests/Interop/pygls_native_client.py [--binary .build/debug/modelpull]
"""

from __future__ import annotations

import asyncio
import os
import sys

from pygls.client import JsonRPCClient

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "clients", "testing"))
import fake_servers  # noqa: E402  (the loopback stand-ins for a file server and the Hub)


def field(value, name):
    """pygls hands back results as objects with attributes (or dicts for some shapes)."""
    return value[name] if isinstance(value, dict) else getattr(value, name)


async def run(binary: str, info: dict, work: str) -> None:
    client = JsonRPCClient()
    progress: list = []

    @client.feature("downloads/progress")
    def on_progress(*args):
        progress.append(args[-1])

    await client.start_io(binary, env={**os.environ, "XDG_CACHE_HOME": os.path.join(work, "cache")})
    hello = await client.protocol.send_request_async("hello", {"protocolVersions": ["1.0"], "client": {"name": "pygls"}})
    assert field(hello, "protocolVersion") == "1.0", hello
    # pygls sends `"params": null` for these.
    providers = await client.protocol.send_request_async("providers/list", None)
    assert [field(p, "name") for p in field(providers, "providers")] == ["huggingface", "mlx", "ollama", "url"]
    downloads = await client.protocol.send_request_async("downloads/list", None)
    assert list(field(downloads, "downloads")) == []
    model = info["files"]["model.bin"]
    result = await client.protocol.send_request_async(
        "models/download", {"provider": "url", "model": model["url"], "sha256": model["sha256"], "localDir": os.path.join(work, "out")})
    assert field(result, "status") == "complete", result
    assert progress, "progress notifications reached the client"
    with open(os.path.join(work, "out", "model.bin"), "rb") as f:
        assert len(f.read()) == model["size"]
    print("ok   hello, providers/list and downloads/list with null params, models/download with progress (LSP framing)")

    # pygls's standard teardown: shutdown, exit, then stop waits for the process.
    await client.protocol.send_request_async("shutdown", None)
    client.protocol.notify("exit", None)
    await asyncio.wait_for(client.stop(), timeout=10)
    print("ok   shutdown, exit and stop: the server exited and the client's teardown returned")


if __name__ == "__main__":
    sys.exit(fake_servers.drive(__doc__, "pygls_native_client", run))
