"""`python -m modelpull ...` (and the `modelpull` console script): run the bundled binary."""

from __future__ import annotations

import os
import sys

from ._binary import bundled_binary


def main() -> None:
    # MODELPULL or the bundled binary only: PATH would find this very script again.
    binary = os.environ.get("MODELPULL") or bundled_binary()
    if not binary:
        sys.exit("modelpull: this installation carries no binary; set MODELPULL to one")
    os.execv(binary, [binary, *sys.argv[1:]])


if __name__ == "__main__":
    main()
