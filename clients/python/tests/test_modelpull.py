"""Tests of the installed `modelpull` wheel against loopback servers (clients/testing).

Run with the Python of a venv the wheel is installed in, outside the source tree's import path:

    venv/bin/python -m unittest discover -s clients/python/tests -v

Needs no Swift toolchain: the binary is the wheel's own. scripts/test_packages.sh runs this with
the toolchain off PATH and no LD_LIBRARY_PATH.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import urllib.request

import modelpull
from modelpull import DownloadProgress, DownloadStatus, ModelPull, ModelPullError, download_model, download_model_sync

HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS = os.path.join(HERE, "..", "..", "testing", "fake_servers.py")

servers: subprocess.Popen = None  # type: ignore[assignment]
info: dict = {}
work = ""


def setUpModule() -> None:
    global servers, info, work
    work = tempfile.mkdtemp(prefix="modelpull-pytest-")
    servers = subprocess.Popen([sys.executable, SERVERS, "--root", os.path.join(work, "www")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    info = json.loads(servers.stdout.readline())


def tearDownModule() -> None:
    servers.stdin.close()
    servers.terminate()
    servers.wait()


def set_rate(bytes_per_second: int) -> None:
    urllib.request.urlopen(f"{info['static']}/_control?rate={bytes_per_second}").read()


def bytes_sent() -> int:
    return json.load(urllib.request.urlopen(f"{info['static']}/_stats"))["bytesSent"]


def children() -> list:
    """Our child processes (zombies included), except the test servers."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == servers.pid:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            found.append((int(entry), fields[0]))
    return found


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_stream(test: unittest.TestCase, events: list) -> DownloadProgress:
    """The progress rules: bytes and percent never decrease, exactly one terminal event, last."""
    test.assertTrue(events, "no events")
    terminal = [e for e in events if e.is_terminal]
    test.assertEqual(len(terminal), 1, [e.status for e in events])
    test.assertIs(events[-1], terminal[0])
    seen_bytes, seen_percent = -1, -1.0
    for event in events:
        test.assertIsInstance(event.status, DownloadStatus)
        if event.downloaded_bytes is not None:
            test.assertGreaterEqual(event.downloaded_bytes, seen_bytes)
            seen_bytes = event.downloaded_bytes
        if event.percent is not None:
            test.assertGreaterEqual(event.percent, seen_percent)
            seen_percent = event.percent
    return events[-1]


class Installation(unittest.TestCase):
    def test_the_bundled_binary_is_used_and_needs_no_toolchain(self) -> None:
        self.assertNotIn("MODELPULL", os.environ)
        binary = modelpull.find_binary()
        self.assertEqual(binary, modelpull.bundled_binary())
        self.assertTrue(binary.startswith(sys.prefix), (binary, sys.prefix))
        self.assertFalse(os.path.abspath(modelpull.__file__).startswith(os.path.abspath(os.path.join(HERE, ".."))),
                         "imported from the source tree, not the installed wheel")
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
        self.assertTrue(out.startswith(f"modelpull {modelpull.__version__} "), (out, modelpull.__version__))
        self.assertNotIn("/opt/swift", os.environ.get("PATH", ""))
        self.assertNotIn("LD_LIBRARY_PATH", os.environ)
        libs = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
        for bad in ("not found", "libswift", "libFoundation", "libdispatch", "/opt/swift"):
            self.assertNotIn(bad, libs)
        # The console script and python -m run the same binary.
        out = subprocess.run([sys.executable, "-m", "modelpull", "--version"], capture_output=True, text=True).stdout
        self.assertTrue(out.startswith(f"modelpull {modelpull.__version__}"))


class DownloadModel(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        set_rate(0)
        self.dir = tempfile.mkdtemp(dir=work)

    def tearDown(self) -> None:
        set_rate(0)

    async def test_url_with_checksum(self) -> None:
        f = info["files"]["model.bin"]
        events = [p async for p in download_model("url", f["url"], sha256=f["sha256"], local_dir=self.dir)]
        last = check_stream(self, events)
        self.assertEqual(events[0].status, DownloadStatus.STARTING)
        self.assertEqual(last.status, DownloadStatus.COMPLETE, last)
        self.assertEqual(last.status.value, "complete")
        self.assertEqual(last.percent, 100.0)
        self.assertEqual(last.total_bytes, f["size"])
        self.assertEqual(last.path, os.path.join(self.dir, "model.bin"))
        self.assertEqual(sha256(last.path), f["sha256"])
        self.assertEqual(last.files, [{"path": "model.bin", "size": f["size"], "sha256": f["sha256"]}])
        self.assertEqual(children(), [])

    async def test_wrong_checksum_is_an_integrity_error_event(self) -> None:
        f = info["files"]["model.bin"]
        events = [p async for p in download_model("url", f["url"], sha256="ab" * 32, local_dir=self.dir)]
        last = check_stream(self, events)
        self.assertEqual(last.status, DownloadStatus.ERROR)
        self.assertEqual(last.error_kind, "integrity")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "model.bin")))

    async def test_hugging_face_repo_with_progress(self) -> None:
        set_rate(2_000_000)  # a few seconds, so progress is seen on the way
        events = [p async for p in download_model("huggingface", info["repo"], base_url=info["hub"],
                                                  cache_dir=self.dir)]
        last = check_stream(self, events)
        self.assertEqual(last.status, DownloadStatus.COMPLETE, last)
        moving = [e.downloaded_bytes for e in events if e.status is DownloadStatus.DOWNLOADING and e.downloaded_bytes]
        self.assertGreaterEqual(len(set(moving)), 2, f"no byte progress: {moving}")
        self.assertEqual(last.total_bytes, info["repoBytes"])
        self.assertEqual(last.downloaded_bytes, info["repoBytes"])
        self.assertEqual(last.files_total, info["repoFiles"])
        self.assertTrue(last.path.startswith(os.path.join(self.dir, "models--acme--tiny", "snapshots")))
        self.assertEqual(sorted(f["path"] for f in last.files), ["config.json", "model.safetensors", "tokenizer/tokenizer.json"])
        with open(os.path.join(last.path, "config.json")) as fh:
            self.assertIn("tiny", fh.read())
        self.assertEqual(len(last.revision), 40)

    async def test_not_found_arrives_as_an_error_event(self) -> None:
        events = [p async for p in download_model("huggingface", "acme/missing", base_url=info["hub"], cache_dir=self.dir)]
        last = check_stream(self, events)
        self.assertEqual(last.status, DownloadStatus.ERROR)
        self.assertEqual(last.error_kind, "not_found")
        self.assertIs(last.retryable, False)
        self.assertEqual(last.error_code, 1003)
        self.assertIn("acme/missing", last.message)

    async def test_unsupported_provider_is_an_error_event_too(self) -> None:
        events = [p async for p in download_model("openai", "gpt-4")]
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0].status, DownloadStatus.ERROR)
        self.assertEqual(events[0].error_kind, "unsupported_provider")

    async def assert_stopped_then_resumes(self, f: dict) -> None:
        """After a cancel: the process is gone, the server sends nothing more, a partial file is
        left; the next call resumes it."""
        self.assertEqual(children(), [])
        await asyncio.sleep(1.0)  # server threads notice the closed sockets
        before = bytes_sent()
        await asyncio.sleep(1.0)
        self.assertEqual(bytes_sent(), before, "still transferring after the cancel")
        partial = os.path.join(self.dir, ".modelpull", "big.bin.partial")
        self.assertTrue(os.path.exists(partial), os.listdir(self.dir))
        set_rate(0)
        events = [p async for p in download_model("url", f["url"], sha256=f["sha256"], local_dir=self.dir)]
        last = check_stream(self, events)
        self.assertEqual(last.status, DownloadStatus.COMPLETE, last)
        self.assertGreater(last.bytes_reused or 0, 0, "the partial file was not resumed")
        self.assertLess(last.bytes_downloaded, f["size"])
        self.assertEqual(sha256(last.path), f["sha256"])

    async def test_break_cancels_and_the_next_call_resumes(self) -> None:
        f = info["files"]["big.bin"]
        set_rate(300_000)
        async for p in download_model("url", f["url"], sha256=f["sha256"], local_dir=self.dir):
            self.assertFalse(p.is_terminal, p)
            if (p.downloaded_bytes or 0) >= 2_000_000:
                break
        # The generator is closed as soon as it is dropped; give the loop a moment to run it.
        for _ in range(100):
            if not children():
                break
            await asyncio.sleep(0.05)
        await self.assert_stopped_then_resumes(f)

    async def test_task_cancellation_cancels_and_the_next_call_resumes(self) -> None:
        f = info["files"]["big.bin"]
        set_rate(300_000)
        moving = asyncio.Event()

        async def consume() -> None:
            async for p in download_model("url", f["url"], sha256=f["sha256"], local_dir=self.dir):
                if (p.downloaded_bytes or 0) >= 2_000_000:
                    moving.set()

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(moving.wait(), 30)
        task.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await task
        await self.assert_stopped_then_resumes(f)


class LongLivedProcess(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        set_rate(0)
        self.dir = tempfile.mkdtemp(dir=work)

    async def test_many_calls_on_one_process(self) -> None:
        async with ModelPull() as mp:
            pid = mp.pid
            self.assertEqual(mp.server_info["server"]["version"], modelpull.__version__)
            names = [p["name"] for p in await mp.providers()]
            self.assertEqual(sorted(names), ["huggingface", "mlx", "ollama", "url"])

            seen = []
            done = await mp.download("huggingface", info["repo"], base_url=info["hub"], cache_dir=self.dir,
                                     on_progress=seen.append)
            self.assertEqual(done.status, DownloadStatus.COMPLETE)
            self.assertTrue(seen and all(not e.is_terminal for e in seen))

            models = await mp.list_models("huggingface", cache_dir=self.dir)
            self.assertEqual([(m["model"], m["complete"], m["sizeBytes"]) for m in models],
                             [("acme/tiny", True, info["repoBytes"])])
            deleted = await mp.delete_model("huggingface", info["repo"], cache_dir=self.dir)
            self.assertTrue(deleted["deleted"])
            self.assertGreaterEqual(deleted["freedBytes"], info["repoBytes"])
            self.assertEqual(await mp.list_models("huggingface", cache_dir=self.dir), [])
            self.assertFalse((await mp.delete_model("huggingface", info["repo"], cache_dir=self.dir))["deleted"])

            with self.assertRaises(ModelPullError) as caught:
                await mp.download("huggingface", "acme/missing", base_url=info["hub"], cache_dir=self.dir)
            self.assertEqual((caught.exception.kind, caught.exception.code, caught.exception.retryable),
                             ("not_found", 1003, False))
            self.assertEqual(caught.exception.data["kind"], "not_found")
            with self.assertRaises(ModelPullError) as caught:
                await mp.cancel("dl-nope")
            self.assertEqual(caught.exception.kind, "not_found")
            with self.assertRaises(ModelPullError) as caught:
                await mp.request("models/list", {"provder": "url"})
            self.assertEqual((caught.exception.kind, caught.exception.code), ("invalid_params", -32602))
            self.assertEqual(mp.pid, pid, "one process for all calls")
        self.assertEqual(children(), [])

    async def test_cancel_by_download_id(self) -> None:
        f = info["files"]["big.bin"]
        set_rate(300_000)
        try:
            async with ModelPull() as mp:
                events = []
                async for p in mp.stream("url", f["url"], local_dir=self.dir):
                    events.append(p)
                    if p.download_id and (p.downloaded_bytes or 0) > 0 and len(await mp.downloads()) == 1:
                        result = await mp.cancel(p.download_id)
                        self.assertTrue(result["cancelled"])
                last = check_stream(self, events)
                self.assertEqual(last.status, DownloadStatus.CANCELLED)
                self.assertEqual(last.error_kind, "cancelled")
                self.assertEqual(await mp.downloads(), [])
        finally:
            set_rate(0)


    async def test_leaving_a_stream_cancels_only_that_download(self) -> None:
        f = info["files"]["big.bin"]
        set_rate(300_000)
        try:
            async with ModelPull() as mp:
                started = await asyncio.gather(mp.start(), mp.start())  # one start, one process
                self.assertIs(started[0], started[1])
                events = mp.stream("url", f["url"], local_dir=self.dir)
                async for p in events:
                    if (p.downloaded_bytes or 0) > 1_000_000:
                        break
                await events.aclose()
                for _ in range(100):
                    if not await mp.downloads():
                        break
                    await asyncio.sleep(0.05)
                self.assertEqual(await mp.downloads(), [])
                self.assertEqual(len(children()), 1, "the process serves on")
                self.assertEqual(len(await mp.providers()), 4)
        finally:
            set_rate(0)


class Sync(unittest.TestCase):
    def setUp(self) -> None:
        set_rate(0)
        self.dir = tempfile.mkdtemp(dir=work)

    def test_blocking_iterator(self) -> None:
        f = info["files"]["model.bin"]
        events = list(download_model_sync("url", f["url"], sha256=f["sha256"], local_dir=self.dir))
        last = check_stream(self, events)
        self.assertEqual(last.status, DownloadStatus.COMPLETE)
        self.assertEqual(sha256(last.path), f["sha256"])
        self.assertEqual(children(), [])

    def test_blocking_break_cancels(self) -> None:
        f = info["files"]["big.bin"]
        set_rate(300_000)
        try:
            for p in download_model_sync("url", f["url"], local_dir=self.dir):
                if (p.downloaded_bytes or 0) > 1_000_000:
                    break
            self.assertEqual(children(), [])  # closed and reaped when the loop let go of it
            time.sleep(1.0)
            before = bytes_sent()
            time.sleep(1.0)
            self.assertEqual(bytes_sent(), before)
        finally:
            set_rate(0)


class NothingLeaks(unittest.TestCase):
    """The interpreter exits with a download running: the modelpull process goes too."""

    def run_script(self, ending: str) -> None:
        f = info["files"]["big.bin"]
        script = textwrap.dedent(f"""
            import asyncio, os, sys
            from modelpull import ModelPull
            async def main():
                mp = ModelPull()
                await mp.start()
                print(mp.pid, flush=True)
                async for p in mp.stream("url", {f['url']!r}, local_dir={self.dir!r}):
                    if (p.downloaded_bytes or 0) > 0:
                        {ending}
            asyncio.run(main())
        """)
        set_rate(300_000)
        try:
            out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
            pid = int(out.stdout.split()[0])
            for _ in range(100):  # gone (not even a zombie: init reaps an orphan at once)
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.1)
            self.assertFalse(os.path.exists(f"/proc/{pid}"), f"modelpull {pid} outlived the interpreter")
        finally:
            set_rate(0)

    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(dir=work)

    def test_return_without_closing(self) -> None:
        self.run_script("return")

    def test_hard_exit(self) -> None:
        self.run_script("os._exit(3)")


if __name__ == "__main__":
    unittest.main()
