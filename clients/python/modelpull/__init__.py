"""ModelPull for Python: download models from Hugging Face, MLX repos, Ollama or any URL.

    from modelpull import download_model

    async for p in download_model("huggingface", "org/name", token=token):
        print(p.status.value, p.percent, p.message)

A drop-in for AbstractCore's ``download_model`` (same arguments, same DownloadProgress fields,
failures as a final ERROR event), driven by the ``modelpull`` binary bundled in this wheel.
"""

from ._binary import bundled_binary, find_binary
from ._client import ModelPull, download_model
from ._sync import download_model_sync
from ._types import DownloadProgress, DownloadStatus, ModelPullError
from ._version import __version__

__all__ = [
    "DownloadProgress",
    "DownloadStatus",
    "ModelPull",
    "ModelPullError",
    "__version__",
    "bundled_binary",
    "download_model",
    "download_model_sync",
    "find_binary",
]
