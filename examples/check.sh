#!/usr/bin/env bash
# Runs both example clients against a local HTTP server, as a user would, and checks the files
# they download. Used by .ci/run; needs a built modelpull (MODELPULL, default .build/debug/modelpull).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export MODELPULL="${MODELPULL:-$root/.build/debug/modelpull}"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

mkdir -p "$work/www"
head -c 3000000 /dev/urandom > "$work/www/model.bin"
sha="$(sha256sum "$work/www/model.bin" | cut -d' ' -f1)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
server=$!
python3 - "$port" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
        break
    except OSError:
        time.sleep(0.05)
PY
url="http://127.0.0.1:$port/model.bin"

check() {
  local name="$1" out="$2" dir="$3"
  grep -q '^\[downloading\]\|^\[starting\]' "$out" || { echo "$name: no progress lines"; cat "$out"; exit 1; }
  grep -q "^done: $dir/model.bin" "$out" || { echo "$name: no result line"; cat "$out"; exit 1; }
  [ "$(sha256sum "$dir/model.bin" | cut -d' ' -f1)" = "$sha" ] || { echo "$name: wrong bytes"; exit 1; }
  echo "$name example: ok"
}

python3 "$root/examples/python/download.py" url "$url" --sha256 "$sha" --local-dir "$work/py" > "$work/py.out"
check python "$work/py.out" "$work/py"
node "$root/examples/node/download.mjs" url "$url" --sha256 "$sha" --local-dir "$work/node" > "$work/node.out"
check node "$work/node.out" "$work/node"

# A wrong checksum must fail with the integrity kind and a non-zero status.
if python3 "$root/examples/python/download.py" url "$url" --sha256 "$(printf 'ab%.0s' $(seq 32))" --local-dir "$work/bad" 2> "$work/bad.err" >/dev/null; then
  echo "python: a wrong checksum succeeded"; exit 1
fi
grep -q "integrity" "$work/bad.err" || { echo "python: error lacks the kind"; cat "$work/bad.err"; exit 1; }
echo "error path: ok"

# A missing binary is explained in one line by both examples, never a stack trace.
for example in "python3 $root/examples/python/download.py" "node $root/examples/node/download.mjs"; do
  if MODELPULL="$work/no-such-binary" $example url "$url" 2> "$work/missing.err" >/dev/null; then
    echo "$example: ran without a binary"; exit 1
  fi
  grep -q "MODELPULL" "$work/missing.err" && ! grep -q "^    at \|Traceback" "$work/missing.err" \
    || { echo "$example: unclear missing-binary error"; cat "$work/missing.err"; exit 1; }
done
echo "missing binary: ok"

# Ctrl-C cancels the download and exits 130, like `modelpull pull`. The server drips its body so
# the download is still running when the signal arrives.
slow_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 - "$slow_port" <<'PY' &
import http.server, sys, time
class Drip(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(64 << 20))
        self.end_headers()
        try:
            while True:
                self.wfile.write(b"x" * 16384)
                time.sleep(0.05)
        except OSError:
            pass
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Drip).serve_forever()
PY
slow=$!
trap 'kill "$server" "$slow" 2>/dev/null || true; rm -rf "$work"' EXIT
for example in "python3 $root/examples/python/download.py" "node $root/examples/node/download.mjs"; do
  $example url "http://127.0.0.1:$slow_port/slow.bin" --local-dir "$work/int" > "$work/int.out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q '^\[downloading\]' "$work/int.out" && break; sleep 0.1; done
  kill -INT "$pid"
  code=0; wait "$pid" || code=$?
  [ "$code" = 130 ] || { echo "$example: Ctrl-C exited $code, not 130"; cat "$work/int.out"; exit 1; }
done
echo "Ctrl-C exits 130: ok"
