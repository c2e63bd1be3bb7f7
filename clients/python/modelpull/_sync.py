"""download_model_sync: the blocking iterator, for scripts without an event loop."""

from __future__ import annotations

import json
import subprocess
from typing import Any, Dict, Generator, Optional

from ._binary import find_binary
from ._client import _completed, _failed, _Patterns, wire_params
from ._types import DownloadProgress, ModelPullError

__all__ = ["download_model_sync"]


def download_model_sync(provider: str, model: str, *, token: Optional[str] = None,
                        base_url: Optional[str] = None, revision: Optional[str] = None,
                        include: _Patterns = None, exclude: _Patterns = None,
                        cache_dir: Optional[str] = None, local_dir: Optional[str] = None,
                        **options: Any) -> Generator[DownloadProgress, None, None]:
    """:func:`download_model` for code without an event loop::

        for p in download_model_sync("url", "https://host/model.gguf", sha256="..."):
            print(p.status.value, p.percent)

    Same arguments and events. Leaving the loop, closing the generator or Ctrl-C cancels the
    download (partial files stay for the next call) and reaps the process.
    """
    params = wire_params(provider, model, token=token, base_url=base_url, revision=revision,
                         include=include, exclude=exclude, cache_dir=cache_dir,
                         local_dir=local_dir, **options)
    try:
        process = subprocess.Popen([find_binary()], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    except (OSError, ValueError) as error:
        yield ModelPullError(f"cannot start modelpull: {error}", kind="process").to_progress()
        return
    assert process.stdin is not None and process.stdout is not None
    last: Optional[DownloadProgress] = None
    terminal: Optional[DownloadProgress] = None
    try:
        request: Dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "models/download", "params": params}
        try:
            process.stdin.write((json.dumps(request) + "\n").encode())
            process.stdin.flush()
        except OSError as error:
            yield ModelPullError(f"the modelpull process is gone: {error}", kind="process").to_progress()
            return
        for line in process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if message.get("method") == "downloads/progress":
                progress = DownloadProgress.from_wire(message.get("params") or {})
                if progress.is_terminal:
                    terminal = progress
                else:
                    last = progress
                    yield progress
            elif message.get("id") == 1 and "error" in message:
                yield _failed(ModelPullError.from_wire(message["error"]), terminal, last)
                return
            elif message.get("id") == 1 and "result" in message:
                yield _completed(message.get("result") or {}, terminal, last)
                return
        yield ModelPullError("the modelpull process exited", kind="process", retryable=True).to_progress(last)
    finally:
        _stop(process)


def _stop(process: "subprocess.Popen[bytes]") -> None:
    """stdin EOF (the server cancels what runs and exits), then terminate, then kill; reaped."""
    try:
        if process.stdin is not None:
            process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(5.0)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(2.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    finally:
        if process.stdout is not None:
            process.stdout.close()
