#!/usr/bin/env bash
# Builds the release artifacts into dist/:
#   modelpull-<version>-linux-<arch>.tar.gz (+ .sha256)   the binary, README, LICENSE
#   modelpull-<version>-py3-none-linux_<arch>.whl          the Python package, binary inside
#   modelpull-<version>.tgz                                the npm package, binary inside
#
# The binary is built in release mode with the Swift runtime linked statically
# (--static-swift-stdlib), stripped, and checked: `--version` must print the version, and it
# must load no library from the Swift toolchain. The version has one source:
# ServerConfiguration.serverVersion in Sources/ModelPullRPC/Server/ServerConfiguration.swift;
# it is stamped into the wheel and the npm package here.
#
#   scripts/package.sh                     build, then package
#   MODELPULL_PREBUILT=path scripts/package.sh   package that binary instead of building
#                                          (it must be a --static-swift-stdlib build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"

version="$(sed -n 's/.*static let serverVersion = "\([^"]*\)".*/\1/p' Sources/ModelPullRPC/Server/ServerConfiguration.swift)"
[ -n "$version" ] || { echo "package.sh: cannot read serverVersion" >&2; exit 1; }
arch="$(uname -m)"                       # x86_64, aarch64
case "$arch" in
  x86_64) npm_cpu=x64 ;;
  aarch64|arm64) arch=aarch64; npm_cpu=arm64 ;;
  *) npm_cpu="$arch" ;;
esac
dist="$root/dist"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$dist"
echo "modelpull $version, linux-$arch"

# 1. The binary.
started=$SECONDS
if [ -n "${MODELPULL_PREBUILT:-}" ]; then
  built="$MODELPULL_PREBUILT"
  echo "using the prebuilt binary $built"
else
  # FoundationNetworking (URLSession) links -lcurl; a system with libcurl4 but without the
  # -dev package has no libcurl.so to link against, so point the linker at libcurl.so.4.
  case "$arch" in x86_64) abi=x86-64 ;; aarch64) abi=AArch64 ;; *) abi="" ;; esac
  curl_so="$(PATH="$PATH:/sbin:/usr/sbin" ldconfig -p | awk -v abi="$abi" '$1 == "libcurl.so.4" && index($0, abi) {print $NF; exit}')"
  [ -n "$curl_so" ] || { echo "package.sh: libcurl.so.4 not found (apt-get install libcurl4)" >&2; exit 1; }
  mkdir -p "$stage/link"
  ln -s "$curl_so" "$stage/link/libcurl.so"
  linker=(-Xlinker -L"$stage/link")
  swift build -c release --static-swift-stdlib --product modelpull "${linker[@]}"
  built="$(swift build -c release --static-swift-stdlib --show-bin-path)/modelpull"
fi
mkdir -p "$stage/bin"
cp "$built" "$stage/bin/modelpull"
strip "$stage/bin/modelpull" 2>/dev/null || true
chmod 755 "$stage/bin/modelpull"
binary="$stage/bin/modelpull"
echo "binary: $(( SECONDS - started )) s, $(stat -c %s "$binary") bytes stripped"

# 2. Check it: the version, and nothing loaded from the toolchain.
reported="$(env -u LD_LIBRARY_PATH PATH=/usr/bin:/bin "$binary" --version)"
case "$reported" in
  "modelpull $version "*|"modelpull $version") ;;
  *) echo "package.sh: the binary says '$reported', expected modelpull $version" >&2; exit 1 ;;
esac
libs="$(env -u LD_LIBRARY_PATH ldd "$binary")"
if grep -Eq 'not found|/opt/swift|libswift|libFoundation|libdispatch|libBlocksRuntime|lib_FoundationICU|libicu' <<<"$libs"; then
  echo "package.sh: the binary needs the Swift toolchain's libraries:" >&2
  echo "$libs" >&2
  exit 1
fi
echo "needs: $(readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"

license=()
if [ -f LICENSE ]; then
  license=(LICENSE)
else
  echo "package.sh: WARNING: the repository has no LICENSE file; the packages ship without one" >&2
fi

# 3. The tarball.
name="modelpull-$version-linux-$arch"
mkdir -p "$stage/$name"
cp "$binary" README.md "${license[@]}" "$stage/$name/"
tar -C "$stage" --owner=0 --group=0 --numeric-owner -czf "$dist/$name.tar.gz" "$name"
(cd "$dist" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")

# 4. The wheel.
python3 scripts/build_wheel.py --version "$version" --binary "$binary" --plat "linux_$arch" \
  --out "$dist" ${license:+--license LICENSE} >/dev/null

# 5. The npm package (npm pack format; no dependencies, so it packs offline).
npm_dir="$stage/npm"
mkdir -p "$npm_dir/bin"
cp clients/node/index.js clients/node/index.d.ts clients/node/package.json clients/node/README.md "$npm_dir/"
[ -f LICENSE ] && cp LICENSE "$npm_dir/"
cp "$binary" "$npm_dir/bin/modelpull"
node - "$npm_dir" "$version" "$npm_cpu" <<'JS'
const fs = require("node:fs");
const [dir, version, cpu] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(`${dir}/package.json`, "utf8"));
manifest.version = version;
manifest.cpu = [cpu];
delete manifest.scripts;
fs.writeFileSync(`${dir}/package.json`, JSON.stringify(manifest, null, 2) + "\n");
const index = fs.readFileSync(`${dir}/index.js`, "utf8");
const stamped = index.replace(/^export const version = "[^"]*";/m, `export const version = ${JSON.stringify(version)};`);
if (stamped === index) throw new Error("index.js: no version line to stamp");
fs.writeFileSync(`${dir}/index.js`, stamped);
JS
rm -f "$dist/modelpull-$version.tgz"
(cd "$npm_dir" && npm pack --silent --pack-destination "$dist" >/dev/null)
[ -f "$dist/modelpull-$version.tgz" ] || { echo "package.sh: npm pack made no modelpull-$version.tgz" >&2; exit 1; }

echo "built in $(( SECONDS - started )) s:"
ls -l "$dist/$name.tar.gz" "$dist/$name.tar.gz.sha256" \
  "$dist/modelpull-$version-py3-none-linux_$arch.whl" "$dist/modelpull-$version.tgz"
