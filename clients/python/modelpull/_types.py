"""The values the API hands out: DownloadStatus, DownloadProgress, ModelPullError."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Mapping, Optional

__all__ = ["DownloadStatus", "DownloadProgress", "ModelPullError", "TERMINAL_STATUSES"]


class DownloadStatus(str, Enum):
    """Status of a download; ``.value`` is the wire string. The first five are AbstractCore's."""

    STARTING = "starting"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    COMPLETE = "complete"
    ERROR = "error"
    QUEUED = "queued"
    CANCELLED = "cancelled"

    def __str__(self) -> str:  # "downloading", not "DownloadStatus.DOWNLOADING"
        return self.value

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({DownloadStatus.COMPLETE, DownloadStatus.ERROR, DownloadStatus.CANCELLED})


@dataclass
class DownloadProgress:
    """One progress event, a drop-in for AbstractCore's ``DownloadProgress``.

    ``status``, ``message``, ``percent`` (0-100), ``downloaded_bytes`` and ``total_bytes`` are
    AbstractCore's fields; the rest are ModelPull's. Bytes and percent never decrease, and a
    download ends with exactly one event whose status is COMPLETE (with ``path`` and ``files``),
    ERROR (with ``error_kind`` and ``retryable``) or CANCELLED.
    """

    status: DownloadStatus
    message: str = ""
    percent: Optional[float] = None
    downloaded_bytes: Optional[int] = None
    total_bytes: Optional[int] = None
    bytes_per_second: Optional[float] = None
    eta_seconds: Optional[float] = None
    file: Optional[str] = None
    files_done: Optional[int] = None
    files_total: Optional[int] = None
    error_kind: Optional[str] = None
    retryable: Optional[bool] = None
    #: On COMPLETE: the model's local path (a snapshot folder, or the downloaded file).
    path: Optional[str] = None
    #: On COMPLETE: ``[{"path": ..., "size": ..., "sha256"?: ...}]`` relative to ``path``.
    files: Optional[List[Dict[str, Any]]] = None
    download_id: Optional[str] = None
    #: On COMPLETE: the resolved revision (a commit for Hub downloads).
    revision: Optional[str] = None
    #: On COMPLETE: bytes transferred now, and bytes found already in place.
    bytes_downloaded: Optional[int] = None
    bytes_reused: Optional[int] = None
    #: On ERROR: the error's ``data`` as the server sent it (kind, retryable, details, ...).
    error: Optional[Dict[str, Any]] = field(default=None, repr=False)
    #: On ERROR: the JSON-RPC error code (1001-1015 for application errors).
    error_code: Optional[int] = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_wire(cls, params: Mapping[str, Any]) -> "DownloadProgress":
        """From the params of a ``downloads/progress`` notification."""
        try:
            status = DownloadStatus(params.get("status"))
        except ValueError:  # a status newer than this client: show it as progress
            status = DownloadStatus.DOWNLOADING
        error = params.get("error")
        progress = cls(
            status=status,
            message=str(params.get("message", "")),
            percent=_float(params.get("percent")),
            downloaded_bytes=_int(params.get("downloadedBytes")),
            total_bytes=_int(params.get("totalBytes")),
            bytes_per_second=_float(params.get("bytesPerSecond")),
            eta_seconds=_float(params.get("etaSeconds")),
            file=params.get("file"),
            files_done=_int(params.get("filesDone")),
            files_total=_int(params.get("filesTotal")),
            download_id=params.get("downloadId"),
        )
        if isinstance(error, dict):
            progress.error = error
            progress.error_kind = error.get("kind")
            progress.retryable = error.get("retryable")
        return progress


def _float(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> Optional[int]:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# Kinds the client itself reports, besides the server's (see schema/v1 ErrorKind).
CLIENT_KINDS = {
    -32700: "parse_error",
    -32600: "invalid_request",
    -32601: "method_not_found",
    -32602: "invalid_params",
    -32603: "internal",
}


class ModelPullError(Exception):
    """A failed request. ``kind`` is the stable error kind (``not_found``, ``network``,
    ``cancelled``... or ``invalid_params``/``internal`` for protocol-level errors, ``process``
    when the modelpull process could not start or died); ``retryable`` says whether trying the
    same request again may succeed; ``code`` and ``data`` are the JSON-RPC error's."""

    def __init__(self, message: str, *, kind: str, retryable: bool = False, code: Optional[int] = None,
                 data: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.retryable = retryable
        self.code = code
        self.data: Dict[str, Any] = dict(data or {})

    @classmethod
    def from_wire(cls, error: Mapping[str, Any]) -> "ModelPullError":
        code = error.get("code")
        raw = error.get("data")
        data: Dict[str, Any] = raw if isinstance(raw, dict) else {}
        kind = data.get("kind") or (CLIENT_KINDS.get(code) if isinstance(code, int) else None) or "internal"
        return cls(str(error.get("message", "modelpull error")), kind=kind,
                   retryable=bool(data.get("retryable", False)), code=code, data=data)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    def __repr__(self) -> str:
        return f"ModelPullError(kind={self.kind!r}, retryable={self.retryable!r}, code={self.code!r}, message={self.message!r})"

    def to_progress(self, last: Optional[DownloadProgress] = None) -> DownloadProgress:
        """The terminal ERROR (or CANCELLED) event for this error, keeping the byte counts of
        the last event seen."""
        status = DownloadStatus.CANCELLED if self.kind == "cancelled" else DownloadStatus.ERROR
        return DownloadProgress(
            status=status, message=self.message,
            percent=last.percent if last else None,
            downloaded_bytes=last.downloaded_bytes if last else None,
            total_bytes=last.total_bytes if last else None,
            error_kind=self.kind, retryable=self.retryable,
            download_id=self.data.get("downloadId") or (last.download_id if last else None),
            error=self.data or None, error_code=self.code)
