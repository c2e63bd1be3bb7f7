"""Finding the `modelpull` executable."""

from __future__ import annotations

import os
import shutil
import stat
from typing import Optional

__all__ = ["find_binary", "bundled_binary"]


def bundled_binary() -> Optional[str]:
    """The binary shipped inside the wheel (``modelpull/bin/modelpull``), if present."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "modelpull")
    if not os.path.isfile(path):
        return None
    if not os.access(path, os.X_OK):
        # An installer that dropped the executable bit: restore it if we may.
        try:
            mode = os.stat(path).st_mode
            os.chmod(path, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        except OSError:
            return None
    return path


def find_binary(binary: Optional[str] = None) -> str:
    """Where the `modelpull` executable is: ``binary`` if given, else the ``MODELPULL``
    environment variable, else the binary bundled next to this module, else ``modelpull`` on
    PATH. Raises FileNotFoundError saying what was tried."""
    if binary:
        return binary
    env = os.environ.get("MODELPULL")
    if env:
        return env
    bundled = bundled_binary()
    if bundled:
        return bundled
    found = shutil.which("modelpull")
    if found:
        return found
    raise FileNotFoundError(
        "no modelpull binary: install the platform wheel (it carries one), set MODELPULL to the "
        "binary's path, or put `modelpull` on PATH")
