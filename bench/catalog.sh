#!/usr/bin/env bash
# Cached catalog reads against the HTTP ceiling, side by side in one run: the release binary
# serves a product list page, a filtered list, a list filtered by an option, a product detail
# and the detail of a product with six variants from its cache, and a
# minimal hyper server (bench/ceiling.rs) answers the very same bytes; wrk drives both with the
# same threads and connections. Prints requests/s per run, the medians and the ratios.
#
#   bench/catalog.sh                    # the embedded default: SQLite, cache in process
#   ENGINE=postgres bench/catalog.sh    # PostgreSQL + Redis (PG_URL, REDIS_URL to override)
#   RUNS=5 DURATION=15s CONNECTIONS=64 bench/catalog.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE="${ENGINE:-sqlite}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
PRODUCTS="${PRODUCTS:-2000}"
PORT="${PORT:-18421}"
CEILING_PORT="${CEILING_PORT:-18422}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/emporium-target}"

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet --bin emporium --example ceiling
BIN="$CARGO_TARGET_DIR/release/emporium"
CEILING="$CARGO_TARGET_DIR/release/examples/ceiling"

work=$(mktemp -d)
server=""; ceiling=""
cleanup() {
  for pid in $server $ceiling; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
repo=$PWD
cd "$work"

export EMPORIUM_LISTEN="127.0.0.1:$PORT"
export EMPORIUM_PUBLIC_URL="http://127.0.0.1:$PORT"
export EMPORIUM_SECRET_KEY="catalog-benchmark-secret-key-0123456789abcdef"
export RUST_LOG=warn
# One load generator is one client address: per-client limits would answer 429.
export EMPORIUM_THROTTLE_ANON=off EMPORIUM_THROTTLE_USER=off
case "$ENGINE" in
  sqlite)
    export DATABASE_URL="sqlite://$work/bench.db?mode=rwc" ;;
  postgres)
    admin="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    psql "$admin" -qc "DROP DATABASE IF EXISTS emporium_bench" -qc "CREATE DATABASE emporium_bench"
    export DATABASE_URL="${admin%/*}/emporium_bench"
    export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
    export EMPORIUM_REDIS_PREFIX="bench-$$:" ;;
  *) echo "ENGINE is sqlite or postgres" >&2; exit 1 ;;
esac

"$BIN" migrate >/dev/null
"$BIN" createsuperuser --email bench@shop.example --password 'Bench-Passw0rd!' >/dev/null
"$BIN" serve --no-worker >"$work/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fs "$base/health/" >/dev/null 2>&1 && break; sleep 0.1; done

# The catalog: 20 categories, $PRODUCTS products with descriptions, a few out of stock; every
# tenth sold in three sizes and two colours (six variants).
python3 - "$base" "$PRODUCTS" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
base, count = sys.argv[1], int(sys.argv[2])
def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": "Bearer " + token} if token else {})})
    with urllib.request.urlopen(request) as response:
        return json.load(response)
token = call("POST", "/api/auth/login/", {"email": "bench@shop.example", "password": "Bench-Passw0rd!"})["access"]
categories = [call("POST", "/api/categories/", {"name": f"Category {n}"}, token)["id"] for n in range(20)]
def product(n):
    body = {"name": f"Product {n}", "description": f"Product number {n}, a sturdy and useful thing. " * 4,
            "category": categories[n % 20]}
    if n % 10 == 5:
        body["options"] = [{"name": "Size", "values": ["S", "M", "L"]},
                           {"name": "Colour", "values": ["Red", "Blue"]}]
        body["variants"] = [{"sku": f"B{n}-{size}-{colour}", "price": f"{5 + n % 200 + k}.00",
                             "stock": 10 + k, "options": {"Size": size, "Colour": colour}}
                            for k, (size, colour) in enumerate((s, c) for s in "SML" for c in ("Red", "Blue"))]
    else:
        body.update({"price": f"{5 + n % 200}.{n % 100:02d}", "stock": 0 if n % 50 == 0 else 10 + n % 90})
    call("POST", "/api/products/", body, token)
with ThreadPoolExecutor(8) as pool:
    list(pool.map(product, range(count)))
PY

first_id() { curl -fs "$base/api/products/?page_size=1$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["id"])'; }
detail_id=$(first_id "&in_stock=false")
variants_id=$(first_id "&option=Size:M")
targets=(
  "list=/api/products/"
  "filtered=/api/products/?category=3&min_price=20.00&ordering=price"
  "option=/api/products/?option=Size:M&option=Colour:Blue"
  "detail=/api/products/$detail_id/"
  "variants=/api/products/$variants_id/"
)
mappings=()
for target in "${targets[@]}"; do
  name=${target%%=*}; path=${target#*=}
  curl -fs "$base$path" >/dev/null                      # a miss fills the cache
  curl -fs -D "$work/$name.headers" -o "$work/$name.json" "$base$path"
  grep -qi '^x-cache: hit' "$work/$name.headers" || { echo "$name is not served from the cache" >&2; exit 1; }
  mappings+=("$path=$work/$name.json")
done
"$CEILING" "127.0.0.1:$CEILING_PORT" "${mappings[@]}" &
ceiling=$!
sleep 0.5

rps() { wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "$1" | awk '/^Requests\/sec/ {printf "%d", $2}'; }
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "engine: $ENGINE; $PRODUCTS products; wrk -t2 -c$CONNECTIONS -d$DURATION; $RUNS runs"
printf '%-9s %-30s %-30s %9s\n' target "emporium req/s (runs)" "ceiling req/s (runs)" ratio
for target in "${targets[@]}"; do
  name=${target%%=*}; path=${target#*=}
  ours=(); top=()
  for _ in $(seq 1 "$RUNS"); do
    ours+=("$(rps "$base$path")")
    top+=("$(rps "http://127.0.0.1:$CEILING_PORT$path")")
  done
  m_ours=$(echo "${ours[*]}" | median); m_top=$(echo "${top[*]}" | median)
  ratio=$(awk -v a="$m_ours" -v b="$m_top" 'BEGIN {printf "%.2f", a / b}')
  printf '%-9s %-30s %-30s %9s\n' "$name" "$m_ours (${ours[*]})" "$m_top (${top[*]})" "$ratio"
done
[ "$ENGINE" = postgres ] && psql "${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}" -qc "DROP DATABASE IF EXISTS emporium_bench" >/dev/null 2>&1 &
