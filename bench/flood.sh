#!/usr/bin/env bash
# The registration flood (a hardening scenario of the benchmark): 256 connections post
# registrations for 10 s while two light probes read /health/ and a cached product list.
# Reports the flood's statuses, the probes' p99 latency, and the server's peak resident memory
# and thread count. Needs wrk (Debian package `wrk`).
#
#   bench/flood.sh            # the embedded default (SQLite, no Redis)
#   DURATION=20s CONNECTIONS=512 bench/flood.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-256}"
PORT="${PORT:-18411}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/emporium-target}"

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/emporium"

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
export DATABASE_URL="sqlite://$work/flood.db?mode=rwc"
export EMPORIUM_LISTEN="127.0.0.1:$PORT"
export EMPORIUM_SECRET_KEY="flood-benchmark-secret-key-0123456789abcdef"
export RUST_LOG=warn
# The flood is meant to reach the hasher: per-client limits would stop it first.
export EMPORIUM_THROTTLE_REGISTER=off EMPORIUM_THROTTLE_ANON=off EMPORIUM_THROTTLE_USER=off

"$BIN" demo-data >/dev/null
"$BIN" serve --no-worker >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/health/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$PORT/api/products/" >/dev/null  # warm the cache

peak_rss=0; peak_threads=0
sample() {
  while kill -0 "$server" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0)
    threads=$(awk '/^Threads/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0)
    echo "$rss $threads"
    sleep 0.1
  done
}
sample >"$work/samples" &
sampler=$!

base="http://127.0.0.1:$PORT"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$OLDPWD/bench/register_flood.lua" "$base" >"$work/flood.txt" 2>&1 &
flood=$!
wrk -t1 -c2 -d"$DURATION" --latency "$base/health/" >"$work/health.txt" 2>&1 &
health=$!
wrk -t1 -c2 -d"$DURATION" --latency "$base/api/products/" >"$work/products.txt" 2>&1 &
products=$!
wait "$flood" "$health" "$products"
kill "$sampler" 2>/dev/null || true

read -r peak_rss peak_threads < <(sort -n -k1 "$work/samples" | tail -1)
peak_threads=$(sort -n -k2 "$work/samples" | tail -1 | awk '{print $2}')
p99() { awk '/ 99%/ {print $2}' "$1"; }
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
users=$(sqlite3 "$work/flood.db" 'SELECT COUNT(*) FROM users' 2>/dev/null || echo "?")
echo "flood:    $CONNECTIONS connections for $DURATION: $(grep '^statuses' "$work/flood.txt"), $(rps "$work/flood.txt") req/s; accounts stored: $users"
echo "health:   $(rps "$work/health.txt") req/s, p99 $(p99 "$work/health.txt")"
echo "products: $(rps "$work/products.txt") req/s, p99 $(p99 "$work/products.txt") (cached list)"
echo "server:   peak RSS $((peak_rss / 1024)) MiB, peak threads $peak_threads"
