"""The SSE example served by uvicorn, read by an HTTP client, against loopback servers.

    venv/bin/python -m unittest discover -s examples/fastapi-sse -p 'test_*.py' -v

Needs the modelpull wheel, fastapi, uvicorn and httpx in that Python (scripts/test_packages.sh
installs them).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS = os.path.join(HERE, "..", "..", "clients", "testing", "fake_servers.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_pids(pid: int) -> list:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def sse_events(response: httpx.Response):
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[len("data: "):])


class SSEApp(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.work = tempfile.mkdtemp(prefix="modelpull-sse-")
        cls.servers = subprocess.Popen([sys.executable, SERVERS, "--root", os.path.join(cls.work, "www")],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        cls.info = json.loads(cls.servers.stdout.readline())
        port = free_port()
        cls.base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, HF_ENDPOINT=cls.info["hub"], HF_HUB_CACHE=os.path.join(cls.work, "hub-cache"),
                   XDG_CACHE_HOME=os.path.join(cls.work, "xdg"), HF_HUB_DISABLE_IMPLICIT_TOKEN="1")
        env.pop("MODELPULL", None)
        cls.app = subprocess.Popen([sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1",
                                    "--port", str(port), "--log-level", "warning"], cwd=HERE, env=env)
        for _ in range(200):
            try:
                httpx.get(cls.base + "/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.app.terminate()
        cls.app.wait(10)
        cls.servers.stdin.close()
        cls.servers.terminate()
        cls.servers.wait()

    def set_rate(self, rate: int) -> None:
        urllib.request.urlopen(f"{self.info['static']}/_control?rate={rate}").read()

    def bytes_sent(self) -> int:
        return json.load(urllib.request.urlopen(f"{self.info['static']}/_stats"))["bytesSent"]

    def test_page(self) -> None:
        page = httpx.get(self.base + "/")
        self.assertEqual(page.status_code, 200)
        self.assertIn("new EventSource(", page.text)

    def test_streams_a_hub_download(self) -> None:
        self.set_rate(2_000_000)
        try:
            params = {"provider": "huggingface", "model": self.info["repo"]}
            with httpx.stream("GET", self.base + "/api/models/download", params=params, timeout=60) as response:
                self.assertEqual(response.status_code, 200)
                self.assertTrue(response.headers["content-type"].startswith("text/event-stream"))
                self.assertEqual(response.headers["cache-control"], "no-cache")
                events = list(sse_events(response))
        finally:
            self.set_rate(0)
        statuses = [e["status"] for e in events]
        self.assertEqual(statuses[0], "starting")
        self.assertEqual(statuses[-1], "complete", events[-1])
        self.assertEqual(sum(s in ("complete", "error", "cancelled") for s in statuses), 1)
        progress = [e["progress"] for e in events]
        self.assertEqual(progress, sorted(progress), "progress went backwards")
        self.assertGreaterEqual(len({e["downloaded_bytes"] for e in events if e["status"] == "downloading"}), 2)
        self.assertEqual(events[-1]["progress"], 100)
        self.assertEqual(events[-1]["total_bytes"], self.info["repoBytes"])
        self.assertTrue(os.path.isfile(os.path.join(events[-1]["path"], "config.json")))

    def test_an_error_is_the_last_event(self) -> None:
        params = {"provider": "huggingface", "model": "acme/missing"}
        with httpx.stream("GET", self.base + "/api/models/download", params=params, timeout=60) as response:
            events = list(sse_events(response))
        self.assertEqual(events[-1]["status"], "error")
        self.assertEqual(events[-1]["error_kind"], "not_found")

    def test_client_disconnect_cancels_the_download(self) -> None:
        big = self.info["files"]["big.bin"]
        self.set_rate(300_000)
        try:
            params = {"provider": "url", "model": big["url"]}
            with httpx.stream("GET", self.base + "/api/models/download", params=params, timeout=60) as response:
                for event in sse_events(response):
                    self.assertNotIn(event["status"], ("complete", "error", "cancelled"))
                    if (event["downloaded_bytes"] or 0) > 1_000_000:
                        self.assertTrue(child_pids(self.app.pid), "no modelpull process while downloading")
                        break
            # The connection is closed: the app cancels, the modelpull process exits, the file
            # server stops sending.
            for _ in range(100):
                if not child_pids(self.app.pid):
                    break
                time.sleep(0.05)
            self.assertEqual(child_pids(self.app.pid), [], "modelpull still running after the disconnect")
            time.sleep(1.0)
            before = self.bytes_sent()
            time.sleep(1.0)
            self.assertEqual(self.bytes_sent(), before, "still transferring after the disconnect")
            partial = os.path.join(self.work, "xdg", "modelpull", "url", ".modelpull", "big.bin.partial")
            self.assertTrue(os.path.exists(partial))
        finally:
            self.set_rate(0)


if __name__ == "__main__":
    unittest.main()
