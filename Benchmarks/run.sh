#!/usr/bin/env bash
# Benchmarks/run.sh: ModelPull against curl, aria2c and huggingface_hub on identical work, on
# this machine, in one run, and a Markdown table of the results on stdout.
#
# Usage (Debian or Ubuntu, as root, from anywhere):
#   Benchmarks/run.sh                          full scale, several minutes
#   BENCH_SCALE=small Benchmarks/run.sh        same cases on small files, about a minute
#   BENCH_CASES="sha256 hello" Benchmarks/run.sh    only some cases (names below)
#
# What it does:
#   1. installs what is missing with apt-get (nginx, aria2, curl, time, python3, python3-venv,
#      openssl) without starting the system nginx service, and huggingface_hub from PyPI into a
#      virtualenv in the work dir;
#   2. builds ModelPull with `swift build -c release` (products modelpull and modelpull-bench);
#   3. writes the random test files the chosen cases need under Benchmarks/work/repos/bench/
#      {repo}/ (kept between runs while their sizes match; a full run needs ~7 GiB of disk);
#   4. starts its own nginx (config, pid file and logs in Benchmarks/work/nginx) on two free
#      loopback ports serving those files with Range support: the CDN, and the same CDN with a
#      per-connection `limit_rate`; and Benchmarks/hub_api.py twice, a local Hub API that
#      redirects large files to one CDN or the other (HF_ENDPOINT for huggingface_hub,
#      --base-url for ModelPull);
#   5. runs every case for each tool under /usr/bin/time (peak RSS, CPU seconds; wall time from
#      the shell's clock), checks each tool produced every file at its size, and prints the table.
#   Everything it started is stopped on exit (trap), whatever happens.
#
# Cases (BENCH_CASES, space separated; default all, in this order):
#   throttled_one    1 file of LARGE, CDN throttled per connection
#   throttled_three  MEDIUM_COUNT files of MEDIUM, throttled
#   unthrottled      1 file of HUGE, unthrottled
#   small_files      SMALL_COUNT files of SMALL_KIB KiB
#   peak_rss         1 file of RSS, unthrottled, at several connection counts: watch the peak
#                    RSS column (must not grow with size or connections)
#   verify           1 file of HUGE, unthrottled: ModelPull with verification off
#                    (MODELPULL_BENCH_SKIP_VERIFY=1, a benchmark-only switch) then on; the "on"
#                    row's ratio is the cost of verification
#   sha256           SHA-256 of the HUGE file: ModelPull (accelerated and portable), sha256sum, openssl
#   hello            spawn → `hello` response latency, median of HELLO_RUNS
#
# Environment (sizes in MiB unless said otherwise):
#   BENCH_SCALE=full|small   presets (LARGE / MEDIUM_COUNT×MEDIUM / HUGE / SMALL_COUNT×SMALL / RSS):
#                            full = 512 / 3×256 / 1024 / 300×4 KiB / 2048;
#                            small = 32 / 3×16 / 64 / 60×4 KiB / 128
#   BENCH_LARGE_MIB, BENCH_MEDIUM_MIB, BENCH_MEDIUM_COUNT, BENCH_HUGE_MIB,
#   BENCH_SMALL_COUNT, BENCH_SMALL_KIB, BENCH_RSS_MIB   override one size of the preset
#   BENCH_LIMIT_RATE=20000000   per-connection limit of the throttled CDN, nginx syntax (bytes/s)
#   BENCH_HELLO_RUNS=20
#   BENCH_TOOLS=REGEX           only the rows whose tool matches (e.g. "ModelPull" while
#                               tuning); the ratio column then needs the reference row too
#   BENCH_REPEAT=3              run every tool of every case N times (one after another) and
#                               report the run with the median wall time; peak RSS is the
#                               largest of the N. Default 1. On a shared 2-core machine one run
#                               varies by 10-30 %, so compare ratios from repeated runs.
#   BENCH_CASES="..."           see above
#   BENCH_WORK=DIR              work dir (default Benchmarks/work, gitignored)
#   BENCH_SCRATCH_PATH=DIR      swift build --scratch-path (default: the package's .build)
#   BENCH_SKIP_INSTALL=1        never run apt-get or pip (fail or mark tools missing instead)
#   BENCH_SKIP_BUILD=1          use the binaries already built in the scratch path
#   BENCH_HF_HUB_SPEC=huggingface_hub   the pip requirement for the huggingface_hub peer
#
# The table: wall seconds, MB/s (10^6 bytes per wall second), peak RSS (MB, 10^6 bytes), CPU
# seconds (user + system), "vs ModelPull" = the tool's wall time ÷ the reference ModelPull
# row's wall time (above 1 means ModelPull was faster), and, for runs the throttled CDN served,
# what it wrote to its sockets over the files' size (bytes sent and thrown away). A tool that failed shows why instead
# of numbers; its log is in Benchmarks/work/logs/.
#
# Adding a case: write a `case_NAME` function that calls `measure` (or a run_* helper) once per
# tool, a `data_NAME` function if it needs its own files, and add NAME to ALL_CASES.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_WORK:-$ROOT/Benchmarks/work}"
SCRATCH="${BENCH_SCRATCH_PATH:-$ROOT/.build}"
ALL_CASES="throttled_one throttled_three unthrottled small_files peak_rss verify sha256 hello ollama_registry"
CASES="${BENCH_CASES:-$ALL_CASES}"
export PATH="/opt/swift/usr/bin:$PATH"  # where the Swift toolchain lives on these machines

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# MARK: - configuration

MiB=$((1024 * 1024))
case "${BENCH_SCALE:-full}" in
  full)  large=512; medium=256; medium_count=3; huge=1024; small_count=300; small_kib=4; rss=2048 ;;
  small) large=32;  medium=16;  medium_count=3; huge=64;   small_count=60;  small_kib=4; rss=128 ;;
  *) die "BENCH_SCALE must be full or small" ;;
esac
LARGE_BYTES=$(( ${BENCH_LARGE_MIB:-$large} * MiB ))
MEDIUM_BYTES=$(( ${BENCH_MEDIUM_MIB:-$medium} * MiB ))
MEDIUM_COUNT=${BENCH_MEDIUM_COUNT:-$medium_count}
HUGE_BYTES=$(( ${BENCH_HUGE_MIB:-$huge} * MiB ))
SMALL_COUNT=${BENCH_SMALL_COUNT:-$small_count}
SMALL_BYTES=$(( ${BENCH_SMALL_KIB:-$small_kib} * 1024 ))
RSS_BYTES=$(( ${BENCH_RSS_MIB:-$rss} * MiB ))
LIMIT_RATE="${BENCH_LIMIT_RATE:-20000000}"
HELLO_RUNS="${BENCH_HELLO_RUNS:-20}"
REPEAT="${BENCH_REPEAT:-1}"

# Human size for case names: "512 MiB", "4 KiB".
human() {
  local b=$1
  if (( b >= MiB && b % MiB == 0 )); then echo "$(( b / MiB )) MiB"
  elif (( b % 1024 == 0 )); then echo "$(( b / 1024 )) KiB"
  else echo "$b B"; fi
}
rate_label() { awk -v r="$1" 'BEGIN { if (r ~ /^[0-9]+$/) printf "%g MB/s", r / 1e6; else printf "%s/s", r }'; }

# MARK: - cleanup: everything started here is stopped by its pid, never by name

PIDS_TO_STOP=()
NGINX_PID_FILE="$WORK/nginx/nginx.pid"
POLICY_RC_CREATED=""

cleanup() {
  local status=$?
  set +e
  if [[ -n "$POLICY_RC_CREATED" ]]; then rm -f /usr/sbin/policy-rc.d; fi
  if [[ -s "$NGINX_PID_FILE" ]]; then
    local pid; pid=$(cat "$NGINX_PID_FILE")
    kill -QUIT "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    rm -f "$NGINX_PID_FILE"
  fi
  for pid in "${PIDS_TO_STOP[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  rm -f "$WORK"/*.pid
  rm -rf "$WORK/out"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# MARK: - tools

install_tools() {
  local missing=()
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  command -v aria2c >/dev/null || missing+=(aria2)
  command -v curl >/dev/null || missing+=(curl)
  [[ -x /usr/bin/time ]] || missing+=(time)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v sha256sum >/dev/null || missing+=(coreutils)
  command -v python3 >/dev/null || missing+=(python3)
  command -v python3 >/dev/null && python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
  if (( ${#missing[@]} == 0 )); then return; fi
  [[ "${BENCH_SKIP_INSTALL:-}" == 1 ]] && die "missing: ${missing[*]} (BENCH_SKIP_INSTALL=1)"
  (( EUID == 0 )) || die "missing: ${missing[*]}; run as root so apt-get can install them"
  log "installing ${missing[*]}"
  # The nginx package would start the system service on port 80; this script runs its own.
  # policy-rc.d answering 101 is Debian's switch for "install, don't start" (removed again).
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    POLICY_RC_CREATED=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  if [[ -n "$POLICY_RC_CREATED" ]]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_CREATED=""; fi
}

NGINX_BIN=""
find_nginx() { NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx); }

# huggingface_hub in its own virtualenv so the system Python is never touched; left in the
# work dir for the next run. On failure that peer is reported as unavailable, not fatal.
HF_PYTHON=""
HF_UNAVAILABLE=""
setup_venv() {
  local venv="$WORK/venv"
  if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import huggingface_hub' 2>/dev/null; then
    if [[ "${BENCH_SKIP_INSTALL:-}" == 1 ]]; then
      HF_UNAVAILABLE="no venv with huggingface_hub (BENCH_SKIP_INSTALL=1)"; return
    fi
    log "creating $venv with ${BENCH_HF_HUB_SPEC:-huggingface_hub}"
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check \
           "${BENCH_HF_HUB_SPEC:-huggingface_hub}"; } >"$WORK/logs/venv.log" 2>&1; then
      HF_UNAVAILABLE="pip install failed, see logs/venv.log"; return
    fi
  fi
  HF_PYTHON="$venv/bin/python"
}

# MARK: - build

BIN=""
build() {
  if [[ "${BENCH_SKIP_BUILD:-}" != 1 ]]; then
    command -v swift >/dev/null || die "swift is not on PATH (install a Swift 6 toolchain)"
    log "swift build -c release (scratch: $SCRATCH)"
    (cd "$ROOT" && swift build -c release --scratch-path "$SCRATCH" --product modelpull >&2 \
      && swift build -c release --scratch-path "$SCRATCH" --product modelpull-bench >&2)
  fi
  BIN=$(cd "$ROOT" && swift build -c release --scratch-path "$SCRATCH" --show-bin-path)
  [[ -x "$BIN/modelpull" && -x "$BIN/modelpull-bench" ]] || die "no release binaries in $BIN"
}

# MARK: - test data

REPOS="$WORK/repos"

# Random bytes, rewritten only when the size differs (a full run writes ~2.3 GiB).
make_file() {
  local path=$1 bytes=$2
  mkdir -p "$(dirname "$path")"
  if [[ -f "$path" && $(stat -c %s "$path") == "$bytes" ]]; then return; fi
  head -c "$bytes" /dev/urandom > "$path.tmp"
  mv "$path.tmp" "$path"
}

# The repos each case needs, written before the servers start (the Hub API lists repos once).
# A case without a data_ function needs none.
data_throttled_one() { make_file "$REPOS/bench/one-large/model.safetensors" "$LARGE_BYTES"; }
data_unthrottled() { make_file "$REPOS/bench/one-huge/model.safetensors" "$HUGE_BYTES"; }
data_sha256() { data_unthrottled; }
data_verify() { data_unthrottled; }
data_peak_rss() { make_file "$REPOS/bench/one-rss/model.safetensors" "$RSS_BYTES"; }

data_throttled_three() {
  local i dir="$REPOS/bench/three-medium"
  # A repo must hold exactly its files: drop those left by a run with another count.
  if [[ $(find "$dir" -type f 2>/dev/null | wc -l) != "$MEDIUM_COUNT" ]]; then rm -rf "$dir"; fi
  for i in $(seq 1 "$MEDIUM_COUNT"); do
    make_file "$dir/model-$(printf %05d "$i")-of-$(printf %05d "$MEDIUM_COUNT").safetensors" "$MEDIUM_BYTES"
  done
}

data_small_files() {
  local i dir="$REPOS/bench/many-small/files"
  if [[ $(find "$dir" -type f 2>/dev/null | wc -l) != "$SMALL_COUNT" ]]; then rm -rf "$dir"; fi
  for i in $(seq 1 "$SMALL_COUNT"); do
    make_file "$dir/f$(printf %04d "$i").bin" "$SMALL_BYTES"
  done
}

# An Ollama model as a registry holds it: a large weights blob and two small ones, named by
# their digests under $REPOS/ollama/blobs (the CDN serves them), and its manifest.
OLLAMA_MANIFESTS="$WORK/ollama-manifests"
data_ollama_registry() {
  local src="$REPOS/ollama-src" blobs="$REPOS/ollama/blobs" layers="" config="" name size hex
  make_file "$src/weights" "$LARGE_BYTES"
  [[ -f "$src/template" ]] || printf '{{ .Prompt }}' > "$src/template"
  [[ -f "$src/config" ]] || printf '{"model_format":"gguf","model_family":"llama"}' > "$src/config"
  rm -rf "$blobs"; mkdir -p "$blobs"
  for name in weights template config; do
    hex=$(sha_of "$src/$name"); size=$(stat -c %s "$src/$name")
    ln -f "$src/$name" "$blobs/sha256-$hex"
    case $name in
      config) config="{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"sha256:$hex\",\"size\":$size}" ;;
      *) layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.ollama.image.$name\",\"digest\":\"sha256:$hex\",\"size\":$size}" ;;
    esac
  done
  mkdir -p "$OLLAMA_MANIFESTS/bench/model"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":%s,"layers":[%s]}' \
    "$config" "$layers" > "$OLLAMA_MANIFESTS/bench/model/latest"
}

make_data() {
  log "test files in $REPOS"
  mkdir -p "$REPOS"
  local name
  for name in $CASES; do
    if declare -F "data_$name" >/dev/null; then "data_$name"; fi
  done
  # Written back now, not while the first tool of a case downloads (a fresh 2 GiB file still
  # being flushed slowed whichever tool ran first by up to 3x).
  sync
}

# sha256 of a test file, cached beside the data (outside the repos the servers publish).
sha_of() {
  local path=$1 cache="$WORK/digests/${1#"$REPOS"/}.sha256"
  if [[ ! -f "$cache" || "$cache" -ot "$path" ]]; then
    mkdir -p "$(dirname "$cache")"
    sha256sum "$path" | cut -d' ' -f1 > "$cache"
  fi
  cat "$cache"
}

# MARK: - servers

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() {
  local url=$1
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.1
  done
  die "nothing answers at $url"
}

CDN=""; CDN_SLOW=""; HUB=""; HUB_SLOW=""
LOAD_BEFORE="?"

# A run killed with SIGKILL cannot clean up: stop what it left, found by the pid file it wrote
# and only if that pid still runs a command naming MARK (a reused pid is left alone).
stop_stale() {
  local pid_file=$1 mark=$2 pid
  [[ -s "$pid_file" ]] || return 0
  pid=$(cat "$pid_file")
  if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$mark"; then
    log "stopping process $pid left by an earlier run"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pid_file"
}

start_nginx() {
  local dir="$WORK/nginx" port port_slow
  mkdir -p "$dir/tmp" "$dir/logs"
  stop_stale "$NGINX_PID_FILE" "$dir/nginx.conf"
  port=$(free_port); port_slow=$(free_port)
  while [[ "$port_slow" == "$port" ]]; do port_slow=$(free_port); done
  # Workers run as root when the master does because the work dir may not be readable by
  # nobody (nginx's default user); this nginx only listens on loopback and only serves test data.
  local user_line=""
  (( EUID == 0 )) && user_line="user root;"
  cat > "$dir/nginx.conf" <<EOF
# Written by Benchmarks/run.sh; rewritten on every run.
$user_line
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    # The body bytes nginx wrote for each response of the throttled CDN: a run's sum against
    # the file sizes is what the client made the CDN send and then threw away.
    log_format body_bytes '\$body_bytes_sent';
    # Static files with sendfile, as a CDN edge would serve them; Range support is nginx's
    # default for static files (max_ranges unlimited).
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    default_type application/octet-stream;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;

    server {
        listen 127.0.0.1:$port;
        root $REPOS;
    }
    # The throttled CDN: the same files, each connection limited to $LIMIT_RATE bytes/s,
    # as CDNs throttle single connections. A small send buffer keeps the limit honest for
    # short requests too: with the default one, nginx hands the first ~2 MiB of every response
    # to the kernel at once, so a client making many short range requests would ride that
    # burst at up to twice the limit (measured: a 4 MiB range at 39 MB/s, 1 MiB at memory
    # speed) while one long request per connection (aria2c, curl) would not.
    server {
        listen 127.0.0.1:$port_slow sndbuf=128k;
        root $REPOS;
        limit_rate $LIMIT_RATE;
        access_log $dir/logs/throttled.log body_bytes;
    }
}
EOF
  # -e (nginx 1.19.5+) keeps even start-up errors out of /var/log/nginx.
  local early_log=()
  "$NGINX_BIN" -h 2>&1 | grep -q -- '-e filename' && early_log=(-e "$dir/logs/error.log")
  "$NGINX_BIN" -t -q -p "$dir" "${early_log[@]}" -c "$dir/nginx.conf" >&2
  "$NGINX_BIN" -p "$dir" "${early_log[@]}" -c "$dir/nginx.conf"
  CDN="http://127.0.0.1:$port"; CDN_SLOW="http://127.0.0.1:$port_slow"
  wait_http "$CDN/"
  wait_http "$CDN_SLOW/"
  log "nginx: $CDN (unthrottled), $CDN_SLOW (limit_rate $LIMIT_RATE)"
}

# hub_api.py in front of a CDN; sets HUB_URL to its base URL. (Not printed for $(...): its pid
# must reach PIDS_TO_STOP in this shell, not in a subshell.)
HUB_URL=""
start_hub() {
  local cdn=$1 name=$2 port_file="$WORK/$2.port"
  stop_stale "$WORK/$name.pid" "$port_file"
  rm -f "$port_file"
  python3 "$ROOT/Benchmarks/hub_api.py" --root "$REPOS" --cdn "$cdn" --port-file "$port_file" \
    >"$WORK/logs/$name.log" 2>&1 &
  PIDS_TO_STOP+=($!)
  echo $! > "$WORK/$name.pid"
  for _ in $(seq 600); do [[ -s "$port_file" ]] && break; sleep 0.1; done  # hashing on 1st run
  [[ -s "$port_file" ]] || die "$name did not start, see $WORK/logs/$name.log"
  HUB_URL="http://127.0.0.1:$(cat "$port_file")"
}

REGISTRY=""
start_registry() {
  local port_file="$WORK/ollama-registry.port"
  stop_stale "$WORK/ollama-registry.pid" "$port_file"
  rm -f "$port_file"
  python3 "$ROOT/Benchmarks/ollama_registry.py" --manifests "$OLLAMA_MANIFESTS" --cdn "$CDN_SLOW/ollama/blobs" \
    --port-file "$port_file" >"$WORK/logs/ollama-registry.log" 2>&1 &
  PIDS_TO_STOP+=($!)
  echo $! > "$WORK/ollama-registry.pid"
  for _ in $(seq 100); do [[ -s "$port_file" ]] && break; sleep 0.1; done
  [[ -s "$port_file" ]] || die "the Ollama registry did not start, see $WORK/logs/ollama-registry.log"
  REGISTRY="127.0.0.1:$(cat "$port_file")"
  log "Ollama registry: $REGISTRY (blobs → throttled CDN)"
}

start_servers() {
  start_nginx
  start_hub "$CDN" hub; HUB=$HUB_URL
  start_hub "$CDN_SLOW" hub-throttled; HUB_SLOW=$HUB_URL
  wait_http "$HUB/api/models/bench/none"
  wait_http "$HUB_SLOW/api/models/bench/none"
  log "hub API: $HUB (→ unthrottled CDN), $HUB_SLOW (→ throttled CDN)"
  start_registry
}

# MARK: - measuring

RESULTS="$WORK/results.tsv"
THROTTLED_LOG="$WORK/nginx/logs/throttled.log"
OUT="$WORK/out"

# measure CASE TOOL BYTES EXPECTED -- COMMAND...
#   Runs COMMAND $REPEAT times, each in a fresh empty $OUT (the tools write there), timed;
#   EXPECTED is a file of "name size" lines every one of which must then exist under $OUT
#   (symlinks followed), or "" for no check. Appends one row to $RESULTS: case, tool, status,
#   wall, user, sys, rss KB, bytes, from the run with the median wall time (rss: the largest).
measure() {
  local case_name=$1 tool=$2 bytes=$3 expected=$4
  shift 5
  if [[ -n "${BENCH_TOOLS:-}" ]] && ! [[ "$tool" =~ $BENCH_TOOLS ]]; then return 0; fi
  local slug; slug=$(printf '%s-%s' "$case_name" "$tool" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-120)
  local logfile="$WORK/logs/$slug.log" timefile="$WORK/time.txt" runs="$WORK/runs.tsv"
  : > "$runs"
  local run status=ok
  for (( run = 1; run <= REPEAT; run++ )); do
    rm -rf "$OUT"; mkdir -p "$OUT"
    sync  # flush the previous tool's writes so they are not charged to this one
    log "$case_name: $tool${REPEAT:+ (run $run of $REPEAT)}"
    local start end rc=0
    : > "$THROTTLED_LOG" 2>/dev/null || true
    start=$EPOCHREALTIME
    /usr/bin/time -f '%U %S %M' -o "$timefile" "$@" >"$logfile" 2>&1 || rc=$?
    end=$EPOCHREALTIME
    sleep 0.2  # nginx logs a response when its connection ends
    if (( rc != 0 )); then
      status="failed (exit $rc): $(grep -v '^Command exited' "$logfile" | tail -n 1 | cut -c1-100)"
    elif [[ -n "$expected" ]]; then
      local found="$WORK/found.txt" missing
      find -L "$OUT" -type f -printf '%f %s\n' 2>/dev/null | sort -u > "$found"
      missing=$(sort -u "$expected" | comm -23 - "$found" | head -n 1)
      [[ -z "$missing" ]] || status="failed: output lacks \"$missing\" (name size)"
    fi
    local user sys rss
    read -r user sys rss < <(tail -n 1 "$timefile") || true
    printf '%s\t%s\t%s\t%s\t%s\n' "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')" \
      "$user" "$sys" "$rss" "$(awk '{ sum += $1 } END { printf "%d", sum }' "$THROTTLED_LOG" 2>/dev/null)" >> "$runs"
    log "  $(tail -n 1 "$runs" | cut -f1) s wall, $(tail -n 1 "$runs" | cut -f2,3 | tr '\t' '+') CPU s"
    rm -rf "$OUT"
    [[ "$status" == ok ]] || break
  done
  local median peak
  median=$(sort -n "$runs" | awk -v n="$(wc -l < "$runs")" 'NR == int((n + 1) / 2)')
  peak=$(cut -f4 "$runs" | sort -n | tail -n 1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case_name" "$tool" "$status" \
    "$(cut -f1 <<<"$median")" "$(cut -f2 <<<"$median")" "$(cut -f3 <<<"$median")" "$peak" "$bytes" \
    "$(cut -f5 <<<"$median")" >> "$RESULTS"
}

# A row that could not be run at all.
skip_row() { printf '%s\t%s\t%s\t\t\t\t\t\n' "$1" "$2" "$3" >> "$RESULTS"; }

# "name size" lines for the files of a repo dir.
expect_repo() {
  local dir=$1 list="$WORK/expected-$(basename "$1").txt"
  find "$dir" -type f -printf '%f %s\n' | sort -u > "$list"
  echo "$list"
}

repo_bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

# MARK: - tools as functions: one call per row

# ModelPull's Hugging Face provider: the whole repo into a hub cache. An optional 4th argument
# labels the row; MODELPULL_BENCH_SKIP_VERIFY in the caller's environment reaches the binary.
run_modelpull_hf() {
  local case_name=$1 repo=$2 hub=$3 note=${4:-}
  measure "$case_name" "ModelPull (huggingface${note:+, $note})" "$(repo_bytes "$REPOS/$repo")" "$(expect_repo "$REPOS/$repo")" -- \
    env MODELPULL_BENCH_SKIP_VERIFY="${MODELPULL_BENCH_SKIP_VERIFY:-}" \
    "$BIN/modelpull" pull huggingface "$repo" --base-url "$hub" --cache-dir "$OUT/cache" --log-level error
}

# ModelPull's url provider (size learned from the first range, verified against the sha256).
# Extra arguments go to `modelpull pull` and into the row's label.
run_modelpull_url() {
  local case_name=$1 repo=$2 cdn=$3 file=$4
  shift 4
  local path="$REPOS/$repo/$file"
  measure "$case_name" "ModelPull (url${*:+ $*})" "$(stat -c %s "$path")" "$(expect_repo "$REPOS/$repo")" -- \
    "$BIN/modelpull" pull url "$cdn/$repo/$file" --local-dir "$OUT" --sha256 "$(sha_of "$path")" \
    --log-level error "$@"
}

run_hf_hub() {
  local case_name=$1 repo=$2 hub=$3
  if [[ -n "$HF_UNAVAILABLE" ]]; then skip_row "$case_name" huggingface_hub "n/a: $HF_UNAVAILABLE"; return; fi
  measure "$case_name" "huggingface_hub" "$(repo_bytes "$REPOS/$repo")" "$(expect_repo "$REPOS/$repo")" -- \
    env HF_ENDPOINT="$hub" HF_HOME="$WORK/hf-home" HF_HUB_DISABLE_PROGRESS_BARS=1 \
    HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_XET=1 \
    "$HF_PYTHON" -c 'import sys; from huggingface_hub import snapshot_download as s; s(sys.argv[1], cache_dir=sys.argv[2])' \
    "$repo" "$OUT/cache"
}

# The files of a repo as URLs under BASE, the URL of the repo's root: "$CDN/$repo" for direct
# links, "$HUB/$repo/resolve/main" for the Hub's.
repo_urls() {
  local repo=$1 base=$2
  (cd "$REPOS/$repo" && find . -type f | sort | sed "s|^\./|$base/|")
}

# curl and aria2c get the files' URLs under BASE (see repo_urls).
run_curl() {
  local case_name=$1 repo=$2 base=$3
  local urls=(); mapfile -t urls < <(repo_urls "$repo" "$base")
  # One process for all files, so connections are reused like the other tools may.
  measure "$case_name" "curl" "$(repo_bytes "$REPOS/$repo")" "$(expect_repo "$REPOS/$repo")" -- \
    curl -sS --fail -L --remote-name-all --output-dir "$OUT" "${urls[@]}"
}

# curl, then an fsync of what it wrote (coreutils `sync FILE`): the same durability ModelPull
# gives before it exposes a file, for a like-for-like wall time.
run_curl_fsync() {
  local case_name=$1 repo=$2 base=$3
  local urls=(); mapfile -t urls < <(repo_urls "$repo" "$base")
  measure "$case_name" "curl + fsync" "$(repo_bytes "$REPOS/$repo")" "$(expect_repo "$REPOS/$repo")" -- \
    sh -c 'dir=$1; shift; curl -sS --fail -L --remote-name-all --output-dir "$dir" "$@" && sync "$dir"/*' \
    sh "$OUT" "${urls[@]}"
}

run_aria2() {
  local case_name=$1 repo=$2 base=$3 label="aria2c -x16 -s16"
  local list="$WORK/aria2-input.txt"
  repo_urls "$repo" "$base" > "$list"
  local count; count=$(wc -l < "$list")
  # -j: as many files at once as there are (up to 16), so many small files are not serial.
  local jobs=$(( count < 16 ? count : 16 ))
  (( count > 1 )) && label="$label -j$jobs"
  measure "$case_name" "$label" "$(repo_bytes "$REPOS/$repo")" "$(expect_repo "$REPOS/$repo")" -- \
    aria2c -x16 -s16 -j"$jobs" -i "$list" -d "$OUT" --allow-overwrite=true \
    --auto-file-renaming=false --console-log-level=warn --summary-interval=0 --download-result=hide
}

# MARK: - cases

case_throttled_one() {
  local name; name="1 file, $(human "$LARGE_BYTES"), CDN $(rate_label "$LIMIT_RATE") per connection"
  run_modelpull_hf "$name" bench/one-large "$HUB_SLOW"
  run_modelpull_url "$name" bench/one-large "$CDN_SLOW" model.safetensors
  run_hf_hub "$name" bench/one-large "$HUB_SLOW"
  run_aria2 "$name" bench/one-large "$CDN_SLOW/bench/one-large"
  run_curl "$name" bench/one-large "$CDN_SLOW/bench/one-large"
}

case_throttled_three() {
  local name; name="$MEDIUM_COUNT files × $(human "$MEDIUM_BYTES"), CDN $(rate_label "$LIMIT_RATE") per connection"
  run_modelpull_hf "$name" bench/three-medium "$HUB_SLOW"
  run_hf_hub "$name" bench/three-medium "$HUB_SLOW"
  run_aria2 "$name" bench/three-medium "$CDN_SLOW/bench/three-medium"
  run_curl "$name" bench/three-medium "$CDN_SLOW/bench/three-medium"
}

case_unthrottled() {
  local name; name="1 file, $(human "$HUGE_BYTES"), unthrottled"
  run_modelpull_hf "$name" bench/one-huge "$HUB"
  run_modelpull_url "$name" bench/one-huge "$CDN" model.safetensors
  run_hf_hub "$name" bench/one-huge "$HUB"
  run_aria2 "$name" bench/one-huge "$CDN/bench/one-huge"
  run_curl "$name" bench/one-huge "$CDN/bench/one-huge"
  run_curl_fsync "$name" bench/one-huge "$CDN/bench/one-huge"
}

case_small_files() {
  local name; name="$SMALL_COUNT files × $(human "$SMALL_BYTES")"
  run_modelpull_hf "$name" bench/many-small "$HUB"
  run_hf_hub "$name" bench/many-small "$HUB"
  # The Hub serves small (non-LFS) files itself; the peers fetch the same URLs, redirects and all.
  run_aria2 "$name" bench/many-small "$HUB/bench/many-small/resolve/main"
  run_curl "$name" bench/many-small "$HUB/bench/many-small/resolve/main"
}

case_peak_rss() {
  local name; name="1 file, $(human "$RSS_BYTES"), unthrottled: peak RSS"
  run_modelpull_hf "$name" bench/one-rss "$HUB"
  run_modelpull_url "$name" bench/one-rss "$CDN" model.safetensors
  local connections
  for connections in 1 4 64; do
    run_modelpull_url "$name" bench/one-rss "$CDN" model.safetensors --connections "$connections"
  done
  run_curl "$name" bench/one-rss "$CDN/bench/one-rss"
}

case_verify() {
  local name; name="1 file, $(human "$HUGE_BYTES"), unthrottled: verification off, then on"
  # Off first: the "vs ModelPull" column of the "on" row is then on ÷ off.
  MODELPULL_BENCH_SKIP_VERIFY=1 run_modelpull_hf "$name" bench/one-huge "$HUB" "verification off"
  run_modelpull_hf "$name" bench/one-huge "$HUB" "verification on"
}

case_sha256() {
  local file="$REPOS/bench/one-huge/model.safetensors" bytes
  bytes=$(stat -c %s "$file")
  local name; name="SHA-256 of $(human "$bytes") (page cache)"
  cat "$file" > /dev/null  # every tool reads it from memory
  measure "$name" "ModelPull ($("$BIN/modelpull-bench" implementation | cut -d'"' -f2))" \
    "$bytes" "" -- "$BIN/modelpull-bench" sha256 "$file"
  measure "$name" "ModelPull (portable)" "$bytes" "" -- \
    env MODELPULL_SHA256_PORTABLE=1 "$BIN/modelpull-bench" sha256 "$file"
  measure "$name" "sha256sum" "$bytes" "" -- sha256sum "$file"
  measure "$name" "openssl dgst -sha256" "$bytes" "" -- openssl dgst -sha256 "$file"
}

case_hello() {
  local name="spawn → hello response (median of $HELLO_RUNS)" line rc=0
  log "$name"
  line=$("$BIN/modelpull-bench" hello "$BIN/modelpull" "$HELLO_RUNS" 2>"$WORK/logs/hello.log") || rc=$?
  if (( rc != 0 )); then skip_row "$name" ModelPull "failed: $(tail -n 1 "$WORK/logs/hello.log")"; return; fi
  local median min max
  median=$(sed -n 's/.*hello_median_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  min=$(sed -n 's/.*min_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  max=$(sed -n 's/.*max_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  printf '%s\t%s\t%s\t%s\t\t\t\t\n' "$name" "ModelPull" "ok: min $min ms, max $max ms" \
    "$(awk -v m="$median" 'BEGIN { printf "%.4f", m / 1000 }')" >> "$RESULTS"
}

# MARK: - report

# A registry pull into Ollama's store (no server) against fetching the same blobs from the same
# throttled CDN on one connection (curl) and on 16 (aria2c -x16, like Ollama's own downloader,
# which uses up to 16 parts per blob).
case_ollama_registry() {
  local name; name="Ollama model, $(human "$LARGE_BYTES") + 2 small blobs, CDN $(rate_label "$LIMIT_RATE") per connection: registry"
  local expected="$WORK/expected-ollama.txt" bytes urls=() file
  find "$REPOS/ollama/blobs" -type f -printf '%f %s\n' | sort -u > "$expected"
  bytes=$(repo_bytes "$REPOS/ollama/blobs")
  for file in "$REPOS"/ollama/blobs/*; do urls+=("$CDN_SLOW/ollama/blobs/$(basename "$file")"); done
  measure "$name" "ModelPull (ollama, source registry)" "$bytes" "$expected" -- \
    env OLLAMA_MODELS="$OUT/models" "$BIN/modelpull" pull ollama "$REGISTRY/bench/model" --source registry --insecure \
    --log-level error
  measure "$name" "curl (one connection per blob)" "$bytes" "$expected" -- \
    bash -c 'cd "$0" && for url in "$@"; do curl -sSfO "$url" || exit 1; done' "$OUT" "${urls[@]}"
  measure "$name" "aria2c -x16 -s16 (16 parts per blob)" "$bytes" "$expected" -- \
    aria2c -q -Z -x16 -s16 -k1M --dir "$OUT" --allow-overwrite=true "${urls[@]}"
}

machine() {
  local cpu mem
  cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || uname -m)
  mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo "?")
  echo "- machine: $cpu, $(nproc) cores, $mem RAM, $(uname -sr), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "- tools: $("$NGINX_BIN" -v 2>&1 | sed 's/.*: //'), $(curl --version | head -n 1 | cut -d' ' -f1-2)," \
       "$(aria2c --version | head -n 1), $(openssl version | cut -d' ' -f1-2)," \
       "huggingface_hub $([[ -n "$HF_PYTHON" ]] && "$HF_PYTHON" -c 'import huggingface_hub as h; print(h.__version__)' || echo n/a)," \
       "$(swift --version 2>/dev/null | grep -o 'Swift version [0-9.]*' | head -n 1)"
  echo "- ModelPull SHA-256: $("$BIN/modelpull-bench" implementation | cut -d'"' -f2); scale: ${BENCH_SCALE:-full}; runs per row: $REPEAT (median wall); throttled CDN: limit_rate $LIMIT_RATE per connection"
  echo "- load average before / after the cases: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
}

# Markdown table; "vs ModelPull" is against the first successful ModelPull row of each case.
print_table() {
  echo
  machine
  echo
  echo "| case | tool | wall s | MB/s | peak RSS MB | CPU s | vs ModelPull | throttled CDN sent, over size |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -F'\t' '
    function num(x) { return x + 0 }
    {
      rows++; c[rows] = $1; t[rows] = $2; st[rows] = $3; w[rows] = $4; u[rows] = $5; s[rows] = $6
      r[rows] = $7; b[rows] = $8; sent[rows] = $9
      if (!($1 in ref) && $2 ~ /^ModelPull/ && $3 ~ /^ok/ && $4 != "") ref[$1] = $4
    }
    END {
      for (i = 1; i <= rows; i++) {
        if (st[i] !~ /^ok/) { printf "| %s | %s | %s | | | | | |\n", c[i], t[i], st[i]; continue }
        mbps = (b[i] != "" && num(w[i]) > 0) ? sprintf("%.1f", num(b[i]) / num(w[i]) / 1e6) : ""
        rss = (r[i] != "") ? sprintf("%.1f", num(r[i]) * 1024 / 1e6) : ""
        cpu = (u[i] != "") ? sprintf("%.2f", num(u[i]) + num(s[i])) : ""
        vs = (c[i] in ref && num(ref[c[i]]) > 0) ? sprintf("%.2f×", num(w[i]) / num(ref[c[i]])) : ""
        wall = sprintf("%.3f", num(w[i]))
        if (st[i] ~ /^ok: /) wall = wall " (" substr(st[i], 5) ")"
        # Only where the throttled CDN served the whole run (its log then holds every byte).
        over = (num(sent[i]) >= num(b[i]) && num(b[i]) > 0) ? sprintf("+%.2f %%", (num(sent[i]) - num(b[i])) * 100 / num(b[i])) : ""
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", c[i], t[i], wall, mbps, rss, cpu, vs, over
      }
    }' "$RESULTS"
}

# MARK: - main

main() {
  for name in $CASES; do
    declare -F "case_$name" >/dev/null || die "unknown case \"$name\" (known: $ALL_CASES)"
  done
  mkdir -p "$WORK/logs"
  : > "$RESULTS"
  install_tools
  find_nginx
  setup_venv
  build
  make_data
  start_servers
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
  for name in $CASES; do "case_$name"; done
  print_table
}

main "$@"
