#!/usr/bin/env python3
"""`modelpull mcp` driven by the official MCP Python SDK (`pip install mcp`), as an agent's host
would: stdio_client + ClientSession, against loopback stand-ins for a file server and the Hub
(clients/testing/fake_servers.py). Exits non-zero on the first broken promise.

    Tests/Interop/mcp_sdk_client.py [--binary .build/debug/modelpull]
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import urllib.request

import jsonschema
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "clients", "testing"))
import fake_servers  # noqa: E402  (the loopback stand-ins for a file server and the Hub)
TOOLS = {"download_model", "list_models", "delete_model", "list_providers", "list_downloads", "cancel_download"}


class Progress:
    """What a progress_callback heard, and whether anything came after the result."""

    def __init__(self) -> None:
        self.events: list[tuple[float, float | None, str | None]] = []
        self.closed_at: int | None = None

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((progress, total, message))

    def check(self, label: str, total: int | None = None) -> None:
        values = [p for p, _, _ in self.events]
        assert values, f"{label}: no progress notification"
        assert all(b > a for a, b in zip(values, values[1:])), f"{label}: progress not strictly increasing: {values}"
        if total is not None:
            totals = {t for _, t, _ in self.events if t is not None}
            assert totals <= {float(total)}, f"{label}: totals {totals}, expected {total}"
        assert all(m for _, _, m in self.events), f"{label}: a progress without a message"


def control(static: str, rate: int) -> None:
    urllib.request.urlopen(f"{static}/_control?rate={rate}").read()


def bytes_sent(static: str) -> int:
    return json.loads(urllib.request.urlopen(f"{static}/_stats").read())["bytesSent"]


async def session_for(binary: str, env: dict, *extra: str):
    params = StdioServerParameters(command=binary, args=["mcp", *extra], env=env)
    return stdio_client(params)


async def run(binary: str, info: dict, work: str) -> None:
    static, files = info["static"], info["files"]
    env = {"HF_ENDPOINT": info["hub"], "HF_HOME": os.path.join(work, "hf-home"), "XDG_CACHE_HOME": os.path.join(work, "cache"),
           "OLLAMA_HOST": "127.0.0.1:9"}

    async with stdio_client(StdioServerParameters(command=binary, args=["mcp"], env=env)) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            assert init.server_info.name == "modelpull", init
            assert init.protocol_version == "2025-11-25", init.protocol_version

            listed = await session.list_tools()
            assert {t.name for t in listed.tools} == TOOLS, [t.name for t in listed.tools]
            for tool in listed.tools:
                jsonschema.Draft202012Validator.check_schema(tool.input_schema)
                if tool.output_schema:
                    jsonschema.Draft202012Validator.check_schema(tool.output_schema)
            print("ok   initialize (2025-11-25) and tools/list: six tools, schemas valid")

            # A url download with progress; nothing after the result.
            control(static, 4_000_000)
            model = files["model.bin"]
            progress = Progress()
            result = await session.call_tool("download_model", {"provider": "url", "model": model["url"],
                                                                "localDir": os.path.join(work, "url"), "sha256": model["sha256"]},
                                             progress_callback=progress)
            heard = len(progress.events)
            await asyncio.sleep(0.5)
            assert not result.is_error, result
            assert result.structured_content["status"] == "complete", result.structured_content
            assert result.structured_content["files"][0]["sha256"] == model["sha256"]
            progress.check("url", total=model["size"])
            assert len(progress.events) == heard, "progress after the result"
            assert any(m and m.startswith("Downloading model.bin — ") for _, _, m in progress.events), progress.events
            print(f"ok   download_model url: {heard} progress notifications, strictly increasing, none after the result")

            # A Hugging Face repo from the fake Hub.
            progress = Progress()
            result = await session.call_tool("download_model", {"provider": "huggingface", "model": info["repo"]},
                                             progress_callback=progress)
            assert not result.is_error, result
            assert result.structured_content["status"] == "complete"
            assert len(result.structured_content["files"]) == info["repoFiles"]
            progress.check("huggingface", total=info["repoBytes"])
            print("ok   download_model huggingface: the repo, with progress")

            # An error is a tool result with the kind, not a protocol error.
            result = await session.call_tool("download_model", {"provider": "url", "model": f"{static}/files/missing.bin",
                                                                "localDir": os.path.join(work, "missing")})
            assert result.is_error and result.structured_content["kind"] == "not_found", result
            assert "missing.bin" in result.content[0].text
            print("ok   a 404 is isError with kind not_found")

            # Cancelling the call stops the transfer; calling again resumes from the bytes kept.
            control(static, 2_000_000)
            big = files["big.bin"]
            arguments = {"provider": "url", "model": big["url"], "localDir": os.path.join(work, "big"), "connections": 1}
            progress = Progress()
            call = asyncio.create_task(session.call_tool("download_model", arguments, progress_callback=progress))
            while not progress.events or progress.events[-1][0] < 3_000_000:
                await asyncio.sleep(0.05)
            call.cancel()
            try:
                await call
            except asyncio.CancelledError:
                pass
            await asyncio.sleep(0.5)
            before = bytes_sent(static)
            await asyncio.sleep(1.0)
            assert bytes_sent(static) - before < 256 * 1024, "the transfer went on after the call was cancelled"
            control(static, 0)
            result = await session.call_tool("download_model", arguments)
            assert not result.is_error, result
            assert result.structured_content["bytesReused"] >= 3_000_000, result.structured_content
            print(f"ok   cancelling stops the transfer; the next call reused {result.structured_content['bytesReused']} bytes")

            # Two calls at once.
            first, second = await asyncio.gather(
                session.call_tool("download_model", {"provider": "url", "model": model["url"], "localDir": os.path.join(work, "a")}),
                session.call_tool("download_model", {"provider": "url", "model": big["url"], "localDir": os.path.join(work, "b")}))
            assert not first.is_error and not second.is_error, (first, second)
            print("ok   two download_model calls at once")

            # The other tools.
            models = await session.call_tool("list_models", {"provider": "huggingface"})
            assert [m["model"] for m in models.structured_content["models"]] == [info["repo"]], models.structured_content
            providers = await session.call_tool("list_providers", {})
            by_name = {p["name"]: p for p in providers.structured_content["providers"]}
            # OLLAMA_HOST is set in this server's env: no hint for it; no HF_TOKEN is: a hint.
            assert by_name["ollama"]["available"] is False and "hint" not in by_name["ollama"], by_name["ollama"]
            assert "HF_TOKEN" in by_name["huggingface"]["hint"], by_name["huggingface"]
            downloads = await session.call_tool("list_downloads", {})
            assert downloads.structured_content == {"downloads": []}, downloads.structured_content
            deleted = await session.call_tool("delete_model", {"provider": "huggingface", "model": info["repo"]})
            assert deleted.structured_content["deleted"] is True, deleted.structured_content
            print("ok   list_models, list_providers (with what the host must set), list_downloads, delete_model")

    # A short call deadline: "running", then the same call again waits for the same job.
    async with stdio_client(StdioServerParameters(command=binary, args=["mcp", "--mcp-call-seconds", "1"], env=env)) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            control(static, 3_000_000)
            arguments = {"provider": "url", "model": files["big.bin"]["url"], "localDir": os.path.join(work, "slow"),
                         "connections": 1}
            progress = Progress()
            result = await session.call_tool("download_model", arguments, progress_callback=progress)
            assert not result.is_error and result.structured_content["status"] == "running", result
            download_id = result.structured_content["downloadId"]
            listed = await session.call_tool("list_downloads", {})
            assert [d["downloadId"] for d in listed.structured_content["downloads"]] == [download_id], listed
            control(static, 0)
            result = await session.call_tool("download_model", arguments)
            assert result.structured_content["status"] == "complete", result.structured_content
            assert result.structured_content["downloadId"] == download_id, "the second call joined the same job"
            print("ok   a call past --mcp-call-seconds answers running; the same call again joins the job and completes")

    # The 2026-07-28 revision: server/discover, then per-request versions.
    async with stdio_client(StdioServerParameters(command=binary, args=["mcp"], env=env)) as (read, write):
        async with ClientSession(read, write) as session:
            discovered = await session.discover()
            assert "2026-07-28" in discovered.supported_versions, discovered
            listed = await session.list_tools()
            assert {t.name for t in listed.tools} == TOOLS
            result = await session.call_tool("list_providers", {})
            assert not result.is_error
            print("ok   2026-07-28: server/discover, then tools with the version in each request")


if __name__ == "__main__":
    sys.exit(fake_servers.drive(__doc__, "mcp_sdk_client", run))
