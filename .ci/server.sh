# Sourced by .ci/schemathesis and .ci/clients: builds the server, and `start_server WORK PORT`
# runs it in the background on a fresh database (SQLite in WORK, or FUZZ_DATABASE_URL) with demo
# data and a superuser STAFF_EMAIL / STAFF_PASSWORD, the limits that would stop one busy client
# off, and waits until it answers. Sets BASE and SERVER (its pid); the caller's EXIT trap kills it.
STAFF_EMAIL=staff@example.com
STAFF_PASSWORD='Fuzz-Staff-Passw0rd'
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/emporium-target}"

start_server() { # work_dir port
  local work=$1 port=$2
  cargo build --quiet
  local bin="$CARGO_TARGET_DIR/debug/emporium"
  BASE="http://127.0.0.1:$port"
  export DATABASE_URL="${FUZZ_DATABASE_URL:-sqlite://$work/server.db?mode=rwc}"
  export EMPORIUM_LISTEN="127.0.0.1:$port"
  export EMPORIUM_SECRET_KEY="ci-server-run-secret-key-0123456789abcdef"
  export EMPORIUM_MEDIA_ROOT="$work/media"
  export RUST_LOG=warn
  # One client sending thousands of requests: limits that would stop it are off, and tokens
  # outlive the run.
  export EMPORIUM_THROTTLE_ANON=off EMPORIUM_THROTTLE_USER=off EMPORIUM_THROTTLE_REGISTER=off
  export EMPORIUM_THROTTLE_COUPON=off
  export EMPORIUM_LOGIN_MAX_FAILURES=1000000 EMPORIUM_ACCESS_TTL=1h
  (cd "$work" && "$bin" demo-data >/dev/null)
  (cd "$work" && "$bin" createsuperuser --email "$STAFF_EMAIL" --password "$STAFF_PASSWORD" >/dev/null)
  (cd "$work" && exec "$bin" serve >"$work/server.log" 2>&1) &
  SERVER=$!
  for _ in $(seq 1 100); do
    curl -fs "$BASE/health/" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "the server did not start; its log:" >&2
  cat "$work/server.log" >&2
  return 1
}
