"""Stream a model download's progress to the browser over Server-Sent Events.

    pip install modelpull-<version>-py3-none-linux_x86_64.whl fastapi uvicorn
    uvicorn app:app --port 8000        # then open http://127.0.0.1:8000/

GET /api/models/download?provider=huggingface&model=org/name[&token=hf_...] answers with
`text/event-stream`: one `data: {...}` event per progress update, the last one `complete`,
`error` or `cancelled`. Closing the EventSource (or the tab) cancels the download; the partial
files stay and the next request resumes them.

This is the AbstractCore endpoint with one change, the import: `from modelpull import
download_model` instead of `from abstractcore import download_model`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import AsyncIterator, Optional

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, StreamingResponse

from modelpull import download_model

app = FastAPI(title="ModelPull SSE example")
STATIC = Path(__file__).parent / "static"
PROVIDERS = {"huggingface", "mlx", "ollama", "url"}


def human_size(count: Optional[int]) -> str:
    if count is None:
        return ""
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


@app.get("/api/models/download")
async def download(provider: str = Query(...), model: str = Query(...),
                   token: Optional[str] = Query(None)) -> StreamingResponse:
    if provider not in PROVIDERS:
        raise HTTPException(400, f"unknown provider {provider!r}: use one of {', '.join(sorted(PROVIDERS))}")
    if not token and provider == "huggingface":
        token = os.environ.get("HUGGINGFACE_TOKEN") or None

    async def events() -> AsyncIterator[str]:
        # When the browser goes away, Starlette cancels this generator; download_model then
        # cancels the download and stops its process.
        async for p in download_model(provider, model, token=token):
            event = {
                "status": p.status.value,
                "message": p.message,
                "progress": p.percent or 0,
                "current_size": human_size(p.downloaded_bytes),
                "total_size": human_size(p.total_bytes),
                "downloaded_bytes": p.downloaded_bytes,
                "total_bytes": p.total_bytes,
                "bytes_per_second": p.bytes_per_second,
                "eta_seconds": p.eta_seconds,
                "file": p.file,
                "error_kind": p.error_kind,
                "path": p.path,
            }
            yield f"data: {json.dumps(event)}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@app.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html")
