#!/usr/bin/env python3
"""Build the platform wheel modelpull-<version>-py3-none-<plat>.whl with the standard library.

    build_wheel.py --version 0.1.0 --binary PATH --plat linux_x86_64 --out dist [--license FILE]

The package is clients/python/modelpull with the version stamped into _version.py and the
binary at modelpull/bin/modelpull (mode 0755, which pip keeps). A console script `modelpull`
runs the bundled binary. Used by scripts/package.sh.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import stat
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "clients", "python")
# A fixed timestamp keeps the wheel's bytes the same for the same inputs.
EPOCH = (2020, 1, 1, 0, 0, 0)


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", required=True)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--plat", required=True, help="platform tag, e.g. linux_x86_64")
    parser.add_argument("--out", required=True)
    parser.add_argument("--license", help="a LICENSE file to include, if the project has one")
    args = parser.parse_args()

    name = f"modelpull-{args.version}"
    dist_info = f"modelpull-{args.version}.dist-info"
    entries = []  # (archive name, bytes, executable)

    package = os.path.join(SOURCE, "modelpull")
    for filename in sorted(os.listdir(package)):
        full = os.path.join(package, filename)
        if not os.path.isfile(full) or not (filename.endswith(".py") or filename == "py.typed"):
            continue
        with open(full, "rb") as f:
            data = f.read()
        if filename == "_version.py":
            data = (b"# Stamped by scripts/package.sh from ServerConfiguration.serverVersion.\n"
                    b'__version__ = "%s"\n' % args.version.encode())
        entries.append((f"modelpull/{filename}", data, False))
    with open(args.binary, "rb") as f:
        entries.append(("modelpull/bin/modelpull", f.read(), True))

    with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        "Name: modelpull",
        f"Version: {args.version}",
        "Summary: Download ML models (Hugging Face, MLX, Ollama, any URL) with progress, resume and "
        "real cancellation; a drop-in for AbstractCore's download_model",
        "Requires-Python: >=3.9",
        "Classifier: Programming Language :: Python :: 3",
        "Classifier: Operating System :: POSIX :: Linux",
        "Classifier: Typing :: Typed",
        "Description-Content-Type: text/markdown",
        "",
        readme,
    ])
    entries.append((f"{dist_info}/METADATA", metadata.encode(), False))
    entries.append((f"{dist_info}/WHEEL", (
        "Wheel-Version: 1.0\n"
        "Generator: modelpull scripts/build_wheel.py\n"
        "Root-Is-Purelib: false\n"
        f"Tag: py3-none-{args.plat}\n").encode(), False))
    entries.append((f"{dist_info}/entry_points.txt",
                    b"[console_scripts]\nmodelpull = modelpull.__main__:main\n", False))
    entries.append((f"{dist_info}/top_level.txt", b"modelpull\n", False))
    if args.license:
        with open(args.license, "rb") as f:
            entries.append((f"{dist_info}/LICENSE", f.read(), False))

    record_lines = [f"{path},{record_hash(data)},{len(data)}" for path, data, _ in entries]
    record_lines.append(f"{dist_info}/RECORD,,")
    entries.append((f"{dist_info}/RECORD", ("\n".join(record_lines) + "\n").encode(), False))

    os.makedirs(args.out, exist_ok=True)
    wheel_path = os.path.join(args.out, f"{name}-py3-none-{args.plat}.whl")
    tmp = wheel_path + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as wheel:
        for path, data, executable in entries:
            info = zipfile.ZipInfo(path, date_time=EPOCH)
            mode = 0o755 if executable else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
    os.replace(tmp, wheel_path)
    print(wheel_path)


if __name__ == "__main__":
    main()
