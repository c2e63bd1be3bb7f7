#!/usr/bin/env bash
# CI for the release artifacts: build them with scripts/package.sh, install them as a user
# would (the wheel into a fresh venv, the tgz into a fresh folder, the tarball unpacked), and
# test them with the Swift toolchain OFF PATH and no LD_LIBRARY_PATH, against loopback servers
# written in Python (clients/testing/fake_servers.py):
#   - the tarball: checksum, --version, ldd names no toolchain library
#   - Python: clients/python/tests (unittest) through the installed wheel
#   - the FastAPI SSE example (fastapi, uvicorn, httpx from pip) through the same venv
#   - Node: clients/node/test (node --test) through the installed tgz
#   - the existing example clients (examples/check.sh) on the packaged binary
# Installs what it needs itself (apt: nodejs/npm, python3-venv, libcurl4, binutils when missing;
# pip: fastapi, uvicorn, httpx, vermin, mypy). MODELPULL_PREBUILT=path skips the Swift build (see
# scripts/package.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

section() { printf '\n=== %s ===\n' "$*"; }
started=$SECONDS

section "tools"
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v strip >/dev/null || missing+=(binutils)
PATH="$PATH:/sbin:/usr/sbin" ldconfig -p | grep -q 'libcurl\.so\.4 ' || missing+=(libcurl4)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

section "package (scripts/package.sh)"
t0=$SECONDS
scripts/package.sh
echo "packaging took $(( SECONDS - t0 )) s"
version="$(sed -n 's/.*static let serverVersion = "\([^"]*\)".*/\1/p' Sources/ModelPullRPC/Server/ServerConfiguration.swift)"
arch="$(uname -m)"
[ "$arch" = arm64 ] && arch=aarch64
dist="$root/dist"
tarball="modelpull-$version-linux-$arch.tar.gz"
wheel="$dist/modelpull-$version-py3-none-linux_$arch.whl"
tgz="$dist/modelpull-$version.tgz"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The environment every test below runs in: no Swift toolchain, no LD_LIBRARY_PATH, no MODELPULL.
clean_path="$(tr ':' '\n' <<<"$PATH" | grep -v -e '^$' -e '/opt/swift' -e 'swift' | paste -sd: -)"
clean() { env -u LD_LIBRARY_PATH -u MODELPULL PATH="$1:$clean_path" "${@:2}"; }
if clean /nonexistent sh -c 'command -v swift' >/dev/null; then
  echo "test_packages.sh: swift is still on the cleaned PATH" >&2; exit 1
fi

section "tarball"
(cd "$dist" && sha256sum -c "$tarball.sha256")
tar -C "$work" -xzf "$dist/$tarball"
unpacked="$work/modelpull-$version-linux-$arch"
ls "$unpacked"
clean /nonexistent "$unpacked/modelpull" --version
libs="$(clean /nonexistent ldd "$unpacked/modelpull")"
echo "$libs"
if grep -Eq 'not found|/opt/swift|libswift|libFoundation|libdispatch|libBlocksRuntime|libicu' <<<"$libs"; then
  echo "test_packages.sh: the packaged binary needs a toolchain library" >&2; exit 1
fi

section "python: the wheel in a fresh venv"
python3 -m venv "$work/venv"
venv="$work/venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel" fastapi uvicorn httpx vermin mypy
# Python >= 3.9 (vermin reads the syntax and library calls), and the types hold (py.typed).
"$venv/bin/vermin" --target=3.9- --violations --eval-annotations --no-tips -q "$venv"/lib/python*/site-packages/modelpull
(cd "$work" && "$venv/bin/mypy" --strict --no-incremental -p modelpull)
(cd "$work" && clean "$venv/bin" python -m unittest discover -s "$root/clients/python/tests" -v)

section "the FastAPI SSE example (from modelpull import download_model)"
(cd "$work" && clean "$venv/bin" python -m unittest discover -s "$root/examples/fastapi-sse" -p 'test_*.py' -v)

section "node: the tgz in a fresh folder"
app="$work/node-app"
mkdir -p "$app"
(cd "$app" && npm init -y >/dev/null && npm install --offline --no-audit --no-fund --silent "$tgz")
cp clients/node/test/modelpull.test.mjs "$app/"
(cd "$app" && clean "$app/node_modules/.bin" env MODELPULL_TEST_SERVERS="$root/clients/testing/fake_servers.py" \
  node --test modelpull.test.mjs)

section "the example clients on the packaged binary"
clean /nonexistent env MODELPULL="$unpacked/modelpull" bash examples/check.sh

echo
echo "package tests passed in $(( SECONDS - started )) s; sizes:"
ls -l "$dist/$tarball" "$wheel" "$tgz"
