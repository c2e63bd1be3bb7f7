"""The asyncio client: ModelPull (one long-lived process) and download_model (one per call)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from typing import Any, AsyncGenerator, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

from ._binary import find_binary
from ._types import DownloadProgress, DownloadStatus, ModelPullError
from ._version import __version__

__all__ = ["ModelPull", "download_model", "wire_params"]

# One JSON message per line; the OpenRPC document is one long line.
_LINE_LIMIT = 16 * 1024 * 1024
# Tasks that finish stopping a process after their caller was cancelled: kept referenced.
_closers: Set["asyncio.Task[None]"] = set()

_Patterns = Union[str, Sequence[str], None]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_params(provider: str, model: str, *, token: Optional[str] = None, base_url: Optional[str] = None,
                revision: Optional[str] = None, include: _Patterns = None, exclude: _Patterns = None,
                cache_dir: Optional[str] = None, local_dir: Optional[str] = None,
                **options: Any) -> Dict[str, Any]:
    """The ``models/download`` params for these arguments: snake_case names become the
    protocol's camelCase (``file_name`` → ``fileName``, ``stall_seconds`` → ``stallSeconds``),
    None values are left out, a single glob string becomes a list."""
    params: Dict[str, Any] = {"provider": provider, "model": model}
    named = {"token": token, "base_url": base_url, "revision": revision, "include": include,
             "exclude": exclude, "cache_dir": cache_dir, "local_dir": local_dir}
    for name, value in {**named, **options}.items():
        if value is None:
            continue
        if name in ("include", "exclude") and isinstance(value, str):
            value = [value]
        elif name in ("include", "exclude"):
            value = list(value)
        elif isinstance(value, os.PathLike):
            value = os.fspath(value)
        params[_camel(name)] = value
    return params


Route = Callable[[str, Any], None]


class ModelPull:
    """One long-lived ``modelpull`` process serving many calls::

        async with ModelPull() as mp:
            done = await mp.download("huggingface", "org/name", on_progress=print)
            print(done.path)
            async for p in mp.stream("url", "https://host/m.gguf", sha256="..."):
                ...
            print(await mp.list_models("huggingface"))

    Methods that return a value raise :class:`ModelPullError` (``kind``, ``retryable``,
    ``code``, ``data``) on failure; :meth:`stream` yields failures as a final ERROR event
    instead, like :func:`download_model`. Leaving the ``async with`` block (or :meth:`close`)
    cancels what is still running (partial files stay and resume next time) and waits for the
    process to exit.
    """

    def __init__(self, binary: Optional[str] = None, *, args: Sequence[str] = (),
                 env: Optional[Mapping[str, str]] = None, stderr: Any = None,
                 close_timeout: float = 5.0, client_name: str = "modelpull-python") -> None:
        self._binary_arg = binary
        self._args = list(args)
        self._env = dict(env) if env is not None else None
        self._stderr = stderr
        self._close_timeout = close_timeout
        self._client_name = client_name
        self._ids = itertools.count(1)
        self._routes: Dict[int, Route] = {}
        self._process: Optional[asyncio.subprocess.Process] = None
        self._reader: Optional["asyncio.Task[None]"] = None
        self._starting: Optional["asyncio.Future[None]"] = None
        self._closer: Optional["asyncio.Task[None]"] = None
        self._closed = False
        self._exit_error: Optional[ModelPullError] = None
        #: The ``hello`` result: protocolVersion, server {name, version}, capabilities.
        self.server_info: Dict[str, Any] = {}

    # MARK: lifecycle

    @property
    def binary(self) -> str:
        return find_binary(self._binary_arg)

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process else None

    async def start(self) -> "ModelPull":
        """Start the process and greet it (``hello``). Raises ModelPullError(kind="process")
        when the binary cannot be found or run. Calls made at once share one start."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)
        return self

    async def _start(self) -> None:
        if self._closed:
            raise ModelPullError("this ModelPull is closed", kind="process")
        try:
            binary = find_binary(self._binary_arg)
            self._process = await asyncio.create_subprocess_exec(
                binary, *self._args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=self._stderr, env=self._env, limit=_LINE_LIMIT)
        except (OSError, ValueError) as error:
            self._closed = True
            raise ModelPullError(f"cannot start modelpull: {error}", kind="process") from error
        self._reader = asyncio.get_running_loop().create_task(self._read())
        try:
            self.server_info = await self._call("hello", {
                "protocolVersions": ["1.0"], "client": {"name": self._client_name, "version": __version__}})
        except BaseException:
            await self.close()
            raise

    async def __aenter__(self) -> "ModelPull":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Close stdin (the server cancels what runs, keeping partial files, and exits), wait
        up to ``close_timeout`` seconds, then terminate, then kill. Always reaps the process,
        also when the calling task is being cancelled."""
        self._closed = True
        process = self._process
        if process is None:
            return
        closer = self._begin_close()
        if closer is not None:
            await asyncio.shield(closer)

    def _begin_close(self) -> Optional["asyncio.Task[None]"]:
        """Starts stopping the process without awaiting: safe from a ``finally`` of a cancelled
        task. Returns the task that finishes the job."""
        self._closed = True
        process = self._process
        if process is None:
            return None
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        if self._closer is not None:
            return self._closer
        task = asyncio.get_running_loop().create_task(self._finish_close(process))
        self._closer = task
        _closers.add(task)
        task.add_done_callback(_closers.discard)
        return task

    async def _finish_close(self, process: asyncio.subprocess.Process) -> None:
        try:
            try:
                await asyncio.wait_for(process.wait(), self._close_timeout)
            except asyncio.TimeoutError:
                if process.returncode is None:
                    process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 2.0)
                except asyncio.TimeoutError:
                    if process.returncode is None:
                        process.kill()
                    await process.wait()
            if self._reader is not None:
                await self._reader
        except asyncio.CancelledError:
            # The loop is shutting down (asyncio.run's end): do not leave the process running.
            if process.returncode is None:
                try:
                    process.kill()
                except ProcessLookupError:
                    pass
            raise

    # MARK: wire

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        try:
            while True:
                line = await stdout.readline()
                if not line:
                    break
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(message, dict):
                    continue
                if message.get("method") == "downloads/progress":
                    params = message.get("params") or {}
                    route = self._routes.get(params.get("requestId"))  # type: ignore[arg-type]
                    if route:
                        route("progress", params)
                elif "id" in message and ("result" in message or "error" in message):
                    route = self._routes.pop(message["id"], None) if isinstance(message["id"], int) else None
                    if route:
                        route("reply", message)
        except (ValueError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            code = self._process.returncode
            self._exit_error = ModelPullError(
                "the modelpull process exited" + (f" (status {code})" if code is not None else ""),
                kind="process", retryable=True)
            routes, self._routes = self._routes, {}
            for route in routes.values():
                route("exit", self._exit_error)

    def _send(self, message: Dict[str, Any]) -> None:
        process = self._process
        if process is None or process.stdin is None or process.stdin.is_closing() or self._exit_error:
            raise self._exit_error or ModelPullError("modelpull is not running", kind="process")
        process.stdin.write((json.dumps(message, separators=(",", ":")) + "\n").encode())

    def _notify(self, method: str, params: Dict[str, Any]) -> None:
        try:
            self._send({"jsonrpc": "2.0", "method": method, "params": params})
        except ModelPullError:
            pass

    async def request(self, method: str, params: Optional[Dict[str, Any]] = None) -> Any:
        """Send any JSON-RPC request and return its result (raises ModelPullError)."""
        await self.start()
        return await self._call(method, params)

    async def _call(self, method: str, params: Optional[Dict[str, Any]] = None) -> Any:
        future: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()
        request_id = next(self._ids)

        def route(kind: str, payload: Any) -> None:
            if future.done():
                return
            if kind == "reply":
                if "error" in payload:
                    future.set_exception(ModelPullError.from_wire(payload["error"]))
                else:
                    future.set_result(payload.get("result"))
            elif kind == "exit":
                future.set_exception(payload)

        self._routes[request_id] = route
        message: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            self._send(message)
            assert self._process is not None and self._process.stdin is not None
            await self._process.stdin.drain()
            return await future
        except (ConnectionError, BrokenPipeError) as error:
            raise ModelPullError(f"the modelpull process is gone: {error}", kind="process") from error
        finally:
            self._routes.pop(request_id, None)

    # MARK: downloads

    async def stream(self, provider: str, model: str, *, token: Optional[str] = None,
                     base_url: Optional[str] = None, revision: Optional[str] = None,
                     include: _Patterns = None, exclude: _Patterns = None, cache_dir: Optional[str] = None,
                     local_dir: Optional[str] = None, **options: Any) -> AsyncGenerator[DownloadProgress, None]:
        """Download and yield progress, ending with exactly one COMPLETE, ERROR or CANCELLED
        event (failures are yielded, not raised). Leaving the loop early or cancelling the task
        cancels this download."""
        params = wire_params(provider, model, token=token, base_url=base_url, revision=revision,
                             include=include, exclude=exclude, cache_dir=cache_dir,
                             local_dir=local_dir, **options)
        try:
            await self.start()
        except ModelPullError as error:
            yield error.to_progress()
            return
        queue: "asyncio.Queue[Tuple[str, Any]]" = asyncio.Queue()
        request_id = next(self._ids)
        self._routes[request_id] = lambda kind, payload: queue.put_nowait((kind, payload))
        finished = False
        last: Optional[DownloadProgress] = None
        terminal: Optional[DownloadProgress] = None
        try:
            try:
                self._send({"jsonrpc": "2.0", "id": request_id, "method": "models/download", "params": params})
            except ModelPullError as error:
                finished = True
                yield error.to_progress()
                return
            while True:
                kind, payload = await queue.get()
                if kind == "progress":
                    progress = DownloadProgress.from_wire(payload)
                    if progress.is_terminal:
                        terminal = progress  # yielded with the response's details
                    else:
                        last = progress
                        yield progress
                    continue
                finished = True
                if kind == "exit":
                    yield payload.to_progress(last)
                elif "error" in payload:
                    yield _failed(ModelPullError.from_wire(payload["error"]), terminal, last)
                else:
                    yield _completed(payload.get("result") or {}, terminal, last)
                return
        finally:
            self._routes.pop(request_id, None)
            if not finished:
                # Cancel this request (the job stops unless another request shares it). A
                # notification is written without awaiting, so this works from a cancelled task.
                self._notify("$/cancelRequest", {"id": request_id})

    async def download(self, provider: str, model: str, *,
                       on_progress: Optional[Callable[[DownloadProgress], Any]] = None,
                       **params: Any) -> DownloadProgress:
        """Download and return the COMPLETE event (``path``, ``files``, ``revision``...).
        Raises ModelPullError on failure (``kind="cancelled"`` when cancelled). Takes the same
        arguments as :meth:`stream`; ``on_progress`` (a function or coroutine function) gets
        every event before the last."""
        final: Optional[DownloadProgress] = None
        agen = self.stream(provider, model, **params)
        try:
            async for progress in agen:
                if progress.is_terminal:
                    final = progress
                    break
                if on_progress is not None:
                    outcome = on_progress(progress)
                    if asyncio.iscoroutine(outcome):
                        await outcome
        finally:
            await agen.aclose()
        if final is None:
            raise ModelPullError("the download ended without a result", kind="process")
        if final.status is not DownloadStatus.COMPLETE:
            raise ModelPullError(final.message, kind=final.error_kind or "internal",
                                 retryable=bool(final.retryable), code=final.error_code, data=final.error)
        return final

    async def cancel(self, download_id: str) -> Dict[str, Any]:
        """Stop a download for every request sharing it (``downloads/cancel``)."""
        return await self.request("downloads/cancel", {"downloadId": download_id})  # type: ignore[no-any-return]

    async def downloads(self) -> List[Dict[str, Any]]:
        """The downloads running or queued in this process (``downloads/list``)."""
        result = await self.request("downloads/list")
        return list(result.get("downloads", []))

    async def list_models(self, provider: Optional[str] = None, *, cache_dir: Optional[str] = None,
                          base_url: Optional[str] = None) -> List[Dict[str, Any]]:
        """Models present locally (``models/list``): dicts with provider, model, path,
        sizeBytes, complete, and per provider revisions, digest, modifiedAt."""
        params = {k: v for k, v in (("provider", provider), ("cacheDir", _path(cache_dir)),
                                    ("baseUrl", base_url)) if v is not None}
        result = await self.request("models/list", params)
        return list(result.get("models", []))

    async def delete_model(self, provider: str, model: str, *, cache_dir: Optional[str] = None,
                           base_url: Optional[str] = None) -> Dict[str, Any]:
        """Delete a local model (``models/delete``): {provider, model, deleted, freedBytes?}."""
        params = {k: v for k, v in (("provider", provider), ("model", model), ("cacheDir", _path(cache_dir)),
                                    ("baseUrl", base_url)) if v is not None}
        return await self.request("models/delete", params)  # type: ignore[no-any-return]

    async def providers(self) -> List[Dict[str, Any]]:
        """Each provider with ``available`` and, when it cannot serve, the ``reason``."""
        result = await self.request("providers/list")
        return list(result.get("providers", []))


def _path(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _completed(result: Mapping[str, Any], terminal: Optional[DownloadProgress],
               last: Optional[DownloadProgress]) -> DownloadProgress:
    base = terminal or last
    total = base.total_bytes if base else None
    progress = DownloadProgress(
        status=DownloadStatus.COMPLETE,
        message=(terminal.message if terminal else None) or str(result.get("message") or "Download complete"),
        percent=100.0,
        downloaded_bytes=base.downloaded_bytes if base and base.downloaded_bytes is not None else total,
        total_bytes=total,
        files_done=base.files_done if base else None,
        files_total=base.files_total if base else None,
        download_id=result.get("downloadId") or (base.download_id if base else None),
    )
    progress.path = result.get("path")
    files = result.get("files")
    progress.files = list(files) if isinstance(files, list) else None
    progress.revision = result.get("revision")
    progress.bytes_downloaded = result.get("bytesDownloaded")
    progress.bytes_reused = result.get("bytesReused")
    if progress.total_bytes is None and progress.files is not None:
        progress.total_bytes = sum(int(f.get("size", 0)) for f in progress.files)
        progress.downloaded_bytes = progress.total_bytes
    return progress


def _failed(error: ModelPullError, terminal: Optional[DownloadProgress],
            last: Optional[DownloadProgress]) -> DownloadProgress:
    progress = error.to_progress(terminal or last)
    if terminal is not None and terminal.message:
        progress.message = terminal.message
    progress.error_code = error.code
    return progress


async def download_model(provider: str, model: str, *, token: Optional[str] = None,
                         base_url: Optional[str] = None, revision: Optional[str] = None,
                         include: _Patterns = None, exclude: _Patterns = None,
                         cache_dir: Optional[str] = None, local_dir: Optional[str] = None,
                         **options: Any) -> AsyncGenerator[DownloadProgress, None]:
    """Download a model, yielding :class:`DownloadProgress`; a drop-in for AbstractCore's
    ``download_model``::

        async for p in download_model("huggingface", "org/name", token=token):
            print(p.status.value, p.percent, p.message)

    ``provider`` is ``huggingface``, ``mlx``, ``ollama`` or ``url``. Other keyword arguments
    are the protocol's ``models/download`` params in snake_case (``sha256``, ``file_name``,
    ``connections``, ``stall_seconds``, ``insecure``...). The last event is COMPLETE (with
    ``path`` and ``files``), ERROR (with ``error_kind`` and ``retryable``; failures are
    yielded, never raised) or CANCELLED. Leaving the loop (``break``), closing the iterator or
    cancelling the task cancels the download; its partial files stay and the next call
    resumes them. (After ``break``, CPython closes the iterator as soon as the loop lets go of
    it; if you keep another reference, close it yourself or use ``contextlib.aclosing``.) Each
    call runs its own ``modelpull`` process and reaps it before returning.
    """
    client = ModelPull()
    events = client.stream(provider, model, token=token, base_url=base_url, revision=revision,
                           include=include, exclude=exclude, cache_dir=cache_dir,
                           local_dir=local_dir, **options)
    try:
        async for progress in events:
            yield progress
    finally:
        # Stopping starts without awaiting (stdin closed: the server cancels and exits), so it
        # happens even when this runs inside a cancelled task or cancel scope.
        closer = client._begin_close()
        await events.aclose()
        if closer is not None:
            await asyncio.shield(closer)
