#!/usr/bin/env python3
"""The benchmark: Emporium against the Django + DRF baseline and against the machine's limits,
side by side in one run.

    BASELINE_DIR=/path/to/baseline-drf python3 bench/run.py [--rounds 3] [--duration 5]

It builds Emporium in release mode, sets the baseline up in a virtualenv (from PyPI, once),
starts on a fresh PostgreSQL database each: Emporium with Redis, the baseline with Redis in both
of its configurations (sync workers; gthread with keep-alive), and Emporium on its embedded
default (SQLite, no Redis). It seeds the same data into every one through its HTTP API, then runs
each workload against each server with wrk at the same threads, connections and duration, round
after round, sampling each server's resident memory (all its processes). The ceilings: a minimal
hyper server answering the very bytes of the product list (bench/ceiling.rs), and pgbench on the
same PostgreSQL. It prints one table per workload (medians of the rounds) and appends them to
bench/RESULTS.md with the date, the git revision and the machine. `--profile` also records
Emporium under perf for the list, detail, checkout and mixed workloads (bench/profiles/).

Only the standard library: run it with the machine's python3.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LUA = BENCH / "wrk" / "load.lua"
FLOOD_LUA = BENCH / "register_flood.lua"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "emporium-target"))
PG_ADMIN = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# The baseline's cache lives in its own Redis database, emptied before each run.
BASELINE_REDIS = os.environ.get("BASELINE_REDIS_URL", "redis://127.0.0.1:6379/1")
VENV = Path(os.environ.get("BASELINE_VENV", Path.home() / ".cache" / "emporium-bench" / "drf-venv"))

STAFF_EMAIL = "bench-staff@shop.example"
STAFF_PASSWORD = "Bench-Staff-Passw0rd!"
USER_PASSWORD = "tulip-Orbit-93-cascade"
NAMES = ["Chair", "Table", "Lamp", "Desk", "Shelf", "Sofa", "Rug", "Mirror", "Stool", "Bench"]
WOODS = ["Oak", "Steel", "Velvet", "Linen", "Walnut", "Birch", "Marble", "Cane"]

# Users: per round one group of 32 for the add-to-cart workload (so no cart passes its line
# limit), one group for the cart reads, one for checkout, 16 for the mixed workload.
CONNECTIONS = 32


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- processes and memory -------------------------------------------------------------------


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


class Sampler:
    """Samples a process tree's resident memory five times a second; `peak` is the largest."""

    def __init__(self, pid: int):
        self.pid, self.peak = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_kib(self.pid))
            self._stop.wait(0.2)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class Server:
    """A server under test: its name, base URL and process."""

    def __init__(self, name: str, base: str, process: subprocess.Popen, kind: str):
        self.name, self.base, self.process, self.kind = name, base, process, kind
        self.data: dict = {}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def wait_healthy(base: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{base}: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/health/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{base}: not healthy after {seconds} s")


def psql(*sql: str) -> None:
    for statement in sql:
        subprocess.run(["psql", PG_ADMIN, "-qc", statement], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fresh_database(name: str) -> str:
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


# --- HTTP ------------------------------------------------------------------------------------


def call(base: str, method: str, path: str, body=None, token: str | None = None,
         retry: bool = True):
    """One JSON request; retries 503/429 (the password hashers are bounded on purpose)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    for attempt in range(60):
        request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            if retry and error.code in (429, 503):
                time.sleep(min(0.2 * (attempt + 1), 2))
                continue
            raw = error.read()
            raise SystemExit(f"{method} {base}{path}: {error.code} {raw[:300]!r}")
        except (urllib.error.URLError, OSError) as error:
            if attempt < 5:
                time.sleep(0.5)
                continue
            raise SystemExit(f"{method} {base}{path}: {error}")
    raise SystemExit(f"{method} {base}{path}: still refused after 60 attempts")


def seed(server: Server, args) -> None:
    """The same data through each server's API: categories, products, users (logged in), and
    a few lines in the carts of the users whose cart is read."""
    base = server.base
    started = time.time()
    _, tokens = call(base, "POST", "/api/auth/login/", {"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
    staff = tokens["access"]
    categories = [call(base, "POST", "/api/categories/", {"name": f"Category {n}"}, staff)[1]["id"]
                  for n in range(args.categories)]

    def product(n: int) -> tuple[int, int]:
        body = {
            "name": f"{WOODS[n % len(WOODS)]} {NAMES[n % len(NAMES)]} {n}",
            "description": ("A sturdy, well made piece. " if n % 4 == 0 else "A light piece. ")
            + f"Number {n} of the collection, finished by hand. " * 3,
            "price": f"{5 + n % 200}.{n % 100:02d}",
            "category": categories[n % len(categories)],
            "stock": 0 if n % 50 == 0 else 1_000_000,
        }
        return n, call(base, "POST", "/api/products/", body, staff)[1]["id"]

    with ThreadPoolExecutor(8) as pool:
        made = dict(pool.map(product, range(args.products)))
    ids = [made[n] for n in range(args.products)]
    in_stock = [made[n] for n in range(args.products) if n % 50 != 0]

    def user(n: int) -> str:
        email = f"user{n}@bench.example"
        call(base, "POST", "/api/auth/register/",
             {"email": email, "password": USER_PASSWORD, "first_name": "Bench", "last_name": f"User{n}"})
        return call(base, "POST", "/api/auth/login/", {"email": email, "password": USER_PASSWORD})[1]["access"]

    with ThreadPoolExecutor(4) as pool:
        users = list(pool.map(user, range(args.users)))
    carts = users[:CONNECTIONS]
    for n, token in enumerate(carts):
        for k in range(3):
            call(base, "POST", "/api/cart/add/", {"product_id": in_stock[(n * 3 + k) % len(in_stock)], "quantity": 1}, token)
    # Emporium's checkout as a shop runs it: a shipping method for the buyers' country and a tax
    # rate there (the baseline has neither and ignores the field).
    method = None
    if server.kind == "emporium":
        zone = call(base, "POST", "/api/shipping/zones/", {"name": "United States", "countries": ["US"]}, staff)[1]
        method = call(base, "POST", "/api/shipping/methods/",
                      {"zone": zone["id"], "name": "Standard", "kind": "flat", "price": "4.90"}, staff)[1]["id"]
        call(base, "POST", "/api/tax/rates/", {"country": "US", "rate": "8.25", "name": "Sales tax"}, staff)
    server.data = {
        "method": method,
        "ids": ids,
        "add_ids": in_stock[:20],
        "checkout_ids": in_stock[:400],
        "users": users,
        "category": categories[3],
    }
    log(f"{server.name}: seeded {len(categories)} categories, {len(ids)} products, {len(users)} users "
        f"in {time.time() - started:.0f} s")


# --- load ------------------------------------------------------------------------------------


def write_lines(folder: Path, name: str, lines) -> str:
    path = folder / name
    path.write_text("\n".join(str(line) for line in lines) + "\n")
    return str(path)


def wrk(base: str, mode: str, threads: int, connections: int, duration: float, work: Path,
        paths=None, ids=None, tokens=None, method=None) -> dict:
    env = dict(os.environ, BENCH_MODE=mode)
    if method is not None:
        env["BENCH_METHOD"] = str(method)
    if paths is not None:
        env["BENCH_PATHS"] = write_lines(work, f"paths-{mode}-{os.getpid()}-{threading.get_ident()}", paths)
    if ids is not None:
        env["BENCH_IDS"] = write_lines(work, f"ids-{mode}-{threading.get_ident()}", ids)
    if tokens is not None:
        env["BENCH_TOKENS"] = write_lines(work, f"tokens-{mode}-{threading.get_ident()}", tokens)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
               "-s", str(LUA), base]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60)
    match = re.search(r"^BENCH (\{.*\})$", out.stdout, re.M)
    if not match:
        raise SystemExit(f"wrk gave no figures: {out.stdout}\n{out.stderr}")
    figures = json.loads(match.group(1))
    for line in re.findall(r"^REFUSED (.*)$", out.stdout, re.M):
        log(f"{base} {mode}: refused{line[:400]}")
    seconds = figures["duration_us"] / 1e6
    return {
        "requests": figures["requests"],
        "rps": figures["requests"] / seconds,
        "orders": figures["orders"] / seconds,
        "p50": figures["p50_us"] / 1000,
        "p99": figures["p99_us"] / 1000,
        "errors": figures["errors"],
    }


def cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields)


def wait_quiet(seconds: float = 20) -> None:
    """Waits until the machine is mostly idle (a server may still be working off a backlog
    the last run left, e.g. queued registrations), at most `seconds`."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        idle0, total0 = cpu_times()
        time.sleep(0.5)
        idle1, total1 = cpu_times()
        if total1 > total0 and (idle1 - idle0) / (total1 - total0) > 0.85:
            return


def measure(server: Server, run) -> dict:
    wait_quiet()
    with Sampler(server.process.pid) as sampler:
        result = run()
    result["rss_mib"] = sampler.peak / 1024
    return result


def metric(base: str, name: str, labels: str) -> float:
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError):
        return 0.0
    for line in text.splitlines():
        if line.startswith(f"{name}{{{labels}}}"):
            return float(line.split()[-1])
    return 0.0


def pgbench(database: str, duration: float) -> dict:
    out = subprocess.run(["pgbench", "-n", "-c", str(CONNECTIONS), "-j", "2", "-T", str(int(duration)),
                          database], capture_output=True, text=True, check=True)
    tps = float(re.search(r"tps = ([0-9.]+)", out.stdout).group(1))
    latency = re.search(r"latency average = ([0-9.]+) ms", out.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    return {"rps": tps, "orders": tps, "p50": float(latency.group(1)) if latency else 0.0, "p99": 0.0,
            "errors": int(failed.group(1)) if failed else 0, "rss_mib": 0.0}


# --- the run ---------------------------------------------------------------------------------


def start_emporium(name: str, port: int, work: Path, database_url: str, redis: bool) -> Server:
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("EMPORIUM_") or key in ("DATABASE_URL", "REDIS_URL"):
            del env[key]
    env.update({
        "DATABASE_URL": database_url,
        "EMPORIUM_LISTEN": f"127.0.0.1:{port}",
        "EMPORIUM_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "EMPORIUM_SECRET_KEY": "benchmark-only-secret-key-0123456789abcdef",
        "EMPORIUM_ACCESS_TTL": "3h",
        # One load generator is one client address: per-client limits would answer 429.
        "EMPORIUM_THROTTLE_ANON": "off", "EMPORIUM_THROTTLE_USER": "off",
        "EMPORIUM_THROTTLE_REGISTER": "off",
        "RUST_LOG": "warn",
    })
    if redis:
        env["REDIS_URL"] = REDIS
        env["EMPORIUM_REDIS_PREFIX"] = f"bench-{os.getpid()}-{port}:"
    binary = str(TARGET / "release" / "emporium")
    folder = work / name
    folder.mkdir()
    subprocess.run([binary, "migrate"], env=env, cwd=folder, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([binary, "createsuperuser", "--email", STAFF_EMAIL, "--password", STAFF_PASSWORD],
                   env=env, cwd=folder, check=True, stdout=subprocess.DEVNULL)
    process = subprocess.Popen([binary, "serve"], env=env, cwd=folder,
                               stdout=open(folder / "server.log", "w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, process)
    return Server(name, base, process, "emporium")


def baseline_env(database_url: str) -> dict:
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=BASELINE_REDIS, VENV_DIR=str(VENV),
               JWT_ACCESS_MINUTES="180", SECRET_KEY="benchmark-only-baseline-secret-key")
    return env


def start_baseline(name: str, port: int, work: Path, baseline: Path, env: dict, worker_class: str) -> Server:
    env = dict(env)
    if worker_class == "gthread":
        env.update(GUNICORN_WORKER_CLASS="gthread", GUNICORN_THREADS="4")
    process = subprocess.Popen(["bash", str(baseline / "serve.sh"), f"127.0.0.1:{port}"], env=env,
                               cwd=baseline, stdout=open(work / f"{name}.log", "w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, process)
    return Server(name, base, process, "baseline")


def setup_baseline(baseline: Path) -> None:
    if (VENV / "bin" / "gunicorn").exists():
        return
    log(f"setting the baseline up in {VENV} (once)")
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["bash", str(baseline / "setup.sh"), str(VENV)], check=True)


def median_of(results: list[dict]) -> dict:
    return {
        "rps": statistics.median(r["rps"] for r in results),
        "orders": statistics.median(r["orders"] for r in results),
        "p50": statistics.median(r["p50"] for r in results),
        "p99": statistics.median(r["p99"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "rss_mib": max(r["rss_mib"] for r in results),
        "runs": [round(r["orders"] if r.get("is_orders") else r["rps"]) for r in results],
        "extra": median_extras([r.get("extra", {}) for r in results]),
    }


def median_extras(extras: list[dict]) -> dict:
    """The median of each numeric figure beside the main ones; others from the first run."""
    out = dict(extras[0]) if extras else {}
    for key in out:
        values = [e.get(key) for e in extras]
        if all(isinstance(v, (int, float)) for v in values):
            out[key] = statistics.median(values)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 3)))
    parser.add_argument("--duration", type=int, default=int(os.environ.get("DURATION", 5)))
    parser.add_argument("--flood-duration", type=int, default=10)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--categories", type=int, default=20)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="record Emporium under perf too")
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()
    needed_users = CONNECTIONS * (2 + args.rounds) + 16
    if args.users < needed_users:
        raise SystemExit(f"--users must be at least {needed_users} for {args.rounds} rounds")
    baseline_dir = os.environ.get("BASELINE_DIR")
    if not baseline_dir or not (Path(baseline_dir) / "serve.sh").exists():
        raise SystemExit("BASELINE_DIR must name the Django + DRF baseline (the folder with serve.sh)")
    baseline = Path(baseline_dir).resolve()
    for tool in ("wrk", "psql", "pgbench", "redis-cli", "cargo"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is needed (wrk and pgbench: apt-get install wrk postgresql-client)")
    if args.profile and not shutil.which("perf"):
        raise SystemExit("--profile needs perf (apt-get install linux-perf)")

    began, load_before = time.time(), os.getloadavg()[0]
    log("building Emporium (release)")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "emporium", "--example", "ceiling"],
                   cwd=ROOT, check=True, env=dict(os.environ, CARGO_TARGET_DIR=str(TARGET)))
    setup_baseline(baseline)

    work = Path(tempfile.mkdtemp(prefix="emporium-bench-"))
    servers: list[Server] = []
    ceiling = None
    try:
        subprocess.run(["redis-cli", "-u", BASELINE_REDIS, "FLUSHDB"], check=True, stdout=subprocess.DEVNULL)
        emporium_db = fresh_database("emporium_bench")
        baseline_db = fresh_database("baseline_bench")
        pgbench_db = fresh_database("pgbench_bench")
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", pgbench_db], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        env = baseline_env(baseline_db)
        subprocess.run([str(VENV / "bin" / "python"), "manage.py", "migrate", "--noinput"], cwd=baseline,
                       env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(VENV / "bin" / "python"), "manage.py", "createsuperuser", "--noinput"], cwd=baseline,
                       env=dict(env, DJANGO_SUPERUSER_EMAIL=STAFF_EMAIL, DJANGO_SUPERUSER_PASSWORD=STAFF_PASSWORD),
                       check=True, stdout=subprocess.DEVNULL)

        log("starting the servers")
        pg = start_emporium("emporium-pg", 18601, work, emporium_db, redis=True)
        servers.append(pg)
        embedded = start_emporium("emporium-sqlite", 18602, work,
                                  f"sqlite://{work}/emporium.db?mode=rwc", redis=False)
        servers.append(embedded)
        sync = start_baseline("baseline-sync", 18603, work, baseline, env, "sync")
        servers.append(sync)
        gthread = start_baseline("baseline-gthread", 18604, work, baseline, env, "gthread")
        servers.append(gthread)

        log("seeding every server through its API")
        seed(pg, args)
        seed(embedded, args)
        seed(sync, args)
        gthread.data = sync.data  # the same database

        # The list's very bytes, for the HTTP ceiling.
        list_body = work / "list.json"
        for _ in range(2):
            with urllib.request.urlopen(pg.base + "/api/products/") as response:
                list_body.write_bytes(response.read())
        ceiling_process = subprocess.Popen([str(TARGET / "release" / "examples" / "ceiling"), "127.0.0.1:18605",
                                            f"/api/products/={list_body}"])
        ceiling = Server("ceiling", "http://127.0.0.1:18605", ceiling_process, "ceiling")
        time.sleep(0.5)

        results = run_workloads(args, work, [pg, embedded, sync, gthread], ceiling, pgbench_db)
        for server in (sync, gthread):
            server.stop()  # a baseline still working off the flood would share the cores
        profiles = profile(args, work, pg) if args.profile else []
        report(args, results, profiles, time.time() - began, load_before)
    finally:
        for server in servers + ([ceiling] if ceiling else []):
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
        for name in ("emporium_bench", "baseline_bench", "pgbench_bench"):
            try:
                psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except subprocess.CalledProcessError:
                pass


WORKLOADS = [
    ("a", "product list, first page"),
    ("b", "filtered and searched list"),
    ("c", "product detail, random id"),
    ("d", "GET /api/cart/, logged in"),
    ("e", "add to cart"),
    ("f", "checkout: add a line, create the order (orders/s)"),
]


def workload(letter: str, server: Server, args, work: Path, round_number: int) -> dict:
    data, d = server.data, args.duration
    users = data["users"]
    if letter == "a":
        return wrk(server.base, "paths", 2, CONNECTIONS, d, work, paths=["/api/products/"])
    if letter == "b":
        path = f"/api/products/?category={data['category']}&min_price=20.00&search=sturdy&ordering=price"
        return wrk(server.base, "paths", 2, CONNECTIONS, d, work, paths=[path])
    if letter == "c":
        return wrk(server.base, "paths", 2, CONNECTIONS, d, work, paths=[f"/api/products/{i}/" for i in data["ids"]])
    if letter == "d":
        return wrk(server.base, "cart", CONNECTIONS, CONNECTIONS, d, work, tokens=users[:CONNECTIONS])
    if letter == "e":
        group = users[CONNECTIONS * (1 + round_number):CONNECTIONS * (2 + round_number)]
        return wrk(server.base, "add", CONNECTIONS, CONNECTIONS, d, work, ids=data["add_ids"], tokens=group)
    if letter == "f":
        group = users[CONNECTIONS * (1 + args.rounds):CONNECTIONS * (2 + args.rounds)]
        result = wrk(server.base, "checkout", CONNECTIONS, CONNECTIONS, d, work, ids=data["checkout_ids"], tokens=group,
                     method=data.get("method"))
        result["is_orders"] = True
        return result
    raise ValueError(letter)


def mixed(server: Server, args, work: Path) -> dict:
    """(m): 32 connections browsing (a–c) while 16 users check out, at once."""
    wait_quiet()
    data = server.data
    browse_paths = (["/api/products/"] * len(data["ids"])
                    + [f"/api/products/?category={data['category']}&min_price=20.00&search=sturdy&ordering=price"]
                    * len(data["ids"])
                    + [f"/api/products/{i}/" for i in data["ids"]])
    buyers = data["users"][-16:]
    out: dict = {}
    copy0 = metric(server.base, "cache_version_reads_total", 'source="copy"')
    redis0 = metric(server.base, "cache_version_reads_total", 'source="redis"')
    hits0 = metric(server.base, "cache_lookups_total", 'result="hit"')
    lookups0 = sum(metric(server.base, "cache_lookups_total", f'result="{r}"') for r in ("hit", "miss", "bypass"))

    def browse():
        out["browse"] = wrk(server.base, "paths", 2, CONNECTIONS, args.duration, work, paths=browse_paths)

    def buy():
        out["buy"] = wrk(server.base, "checkout", 16, 16, args.duration, work, ids=data["checkout_ids"], tokens=buyers,
                         method=data.get("method"))

    with Sampler(server.process.pid) as sampler:
        threads = [threading.Thread(target=browse), threading.Thread(target=buy)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    hits = metric(server.base, "cache_lookups_total", 'result="hit"') - hits0
    lookups = sum(metric(server.base, "cache_lookups_total", f'result="{r}"') for r in ("hit", "miss", "bypass")) - lookups0
    copy = metric(server.base, "cache_version_reads_total", 'source="copy"') - copy0
    from_redis = metric(server.base, "cache_version_reads_total", 'source="redis"') - redis0
    browse, buy = out["browse"], out["buy"]
    return {
        "rps": browse["rps"], "orders": buy["orders"], "p50": browse["p50"], "p99": browse["p99"],
        "errors": browse["errors"] + buy["errors"], "rss_mib": sampler.peak / 1024,
        "extra": {"checkout_p99": buy["p99"], "hit_ratio": (hits / lookups) if lookups else None,
                  "copy_ratio": (copy / (copy + from_redis)) if copy + from_redis else None},
    }


def flood(server: Server, args, work: Path) -> dict:
    """(x): 256 connections register for the flood's duration while two light probes read
    /health/ and the product list; the probes' p99 and the server's peak memory."""
    out: dict = {}
    d = args.flood_duration
    wait_quiet(60)

    def run_flood():
        text = subprocess.run(["wrk", "-t2", "-c256", f"-d{d}s", "--timeout", "5s", "-s", str(FLOOD_LUA), server.base],
                              capture_output=True, text=True, timeout=d + 60).stdout
        statuses = re.search(r"^statuses: (.*)$", text, re.M)
        rps = re.search(r"Requests/sec:\s+([0-9.]+)", text)
        out["flood"] = {"statuses": statuses.group(1) if statuses else "?", "rps": float(rps.group(1)) if rps else 0.0}

    def probe(name, path):
        out[name] = wrk(server.base, "paths", 1, 2, d, work, paths=[path])

    with Sampler(server.process.pid) as sampler:
        threads = [threading.Thread(target=run_flood),
                   threading.Thread(target=probe, args=("health", "/health/")),
                   threading.Thread(target=probe, args=("catalog", "/api/products/"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return {
        "rps": out["flood"]["rps"], "orders": 0.0, "p50": out["catalog"]["p50"], "p99": out["catalog"]["p99"],
        "errors": out["health"]["errors"] + out["catalog"]["errors"], "rss_mib": sampler.peak / 1024,
        "extra": {"statuses": out["flood"]["statuses"], "health_p99": out["health"]["p99"],
                  "health_answers": out["health"]["requests"], "catalog_answers": out["catalog"]["requests"]},
    }


def run_workloads(args, work: Path, servers: list[Server], ceiling: Server, pgbench_db: str) -> dict:
    results: dict[tuple[str, str], list[dict]] = {}
    for round_number in range(args.rounds):
        log(f"round {round_number + 1} of {args.rounds}")
        for letter, _ in WORKLOADS:
            for server in servers:
                result = measure(server, lambda: workload(letter, server, args, work, round_number))
                results.setdefault((letter, server.name), []).append(result)
            if letter == "a":
                result = measure(ceiling, lambda: wrk(ceiling.base, "paths", 2, CONNECTIONS, args.duration, work,
                                                       paths=["/api/products/"]))
                results.setdefault(("g", "ceiling"), []).append(result)
        results.setdefault(("h", "pgbench"), []).append(pgbench(pgbench_db, args.duration))
        for server in servers:
            results.setdefault(("m", server.name), []).append(mixed(server, args, work))
    log("the registration flood")
    for server in servers:
        results.setdefault(("x", server.name), []).append(flood(server, args, work))
    return {key: median_of(value) for key, value in results.items()}


def profile(args, work: Path, server: Server) -> list[Path]:
    """perf under (a), (c), (f) and (m) against Emporium on PostgreSQL + Redis: first how the
    machine's two cores were shared between processes (the server, PostgreSQL, Redis, wrk),
    then Emporium's own hottest functions."""
    folder = BENCH / "profiles"
    folder.mkdir(exist_ok=True)
    stamp = datetime.date.today().isoformat()
    saved = []
    for letter in ("a", "c", "f", "m"):
        data_file = work / f"perf-{letter}.data"
        wait_quiet(60)
        recorder = subprocess.Popen(["perf", "record", "-a", "-F", "499", "-e", "cpu-clock", "-o", str(data_file),
                                     "--", "sleep", str(args.duration)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.2)
        if letter == "m":
            mixed(server, args, work)
        else:
            workload(letter, server, args, work, 0)
        recorder.wait()
        by_process = perf_table(data_file, ["--sort", "comm"], 1.0, 12)
        functions = perf_table(data_file, ["--comms", "tokio-rt-worker,emporium", "--sort", "dso,symbol"], 0.4, 45)
        path = folder / f"{stamp}-{letter}.txt"
        path.write_text(
            f"# perf (cpu-clock, 499 Hz, whole machine) while Emporium on PostgreSQL + Redis ran ({letter})\n\n"
            "## CPU by process (share of all samples)\n\n" + by_process
            + "\n## Emporium's hottest functions (share of all samples)\n\n" + functions)
        saved.append(path)
    return saved


def perf_table(data_file: Path, options: list[str], limit: float, rows: int) -> str:
    text = subprocess.run(["perf", "report", "-i", str(data_file), "--stdio", "--no-children",
                           "--percent-limit", str(limit)] + options,
                          capture_output=True, text=True).stdout
    lines = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        lines.append(re.sub(r"\s+", " ", line).strip())
    return "\n".join(lines[:rows]) + "\n"


def fmt_ms(value: float) -> str:
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def report(args, results: dict, profiles: list[Path], elapsed: float, load_before: float) -> None:
    def cell(key):
        return results.get(key)

    def best_baseline(letter):
        options = [(results[(letter, name)], name.split("-")[1]) for name in ("baseline-sync", "baseline-gthread")
                   if (letter, name) in results]
        usable = [o for o in options if o[0]["errors"] == 0] or options
        return max(usable, key=lambda o: o[0]["orders"] if letter == "f" else o[0]["rps"])

    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    with open("/proc/meminfo") as meminfo:
        memory_gib = int(meminfo.readline().split()[1]) / 1024 / 1024
    out = []
    out.append(f"## {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} — "
               f"revision {revision}{' (with uncommitted changes)' if dirty else ''}")
    out.append("")
    out.append(f"{os.cpu_count()} cores, {memory_gib:.0f} GiB, load average at the start {load_before:.2f}; "
               f"{args.products} products in {args.categories} categories, {args.users} users; "
               f"wrk {CONNECTIONS} connections (one user per connection where logged in), "
               f"{args.duration:g} s per run, median of {args.rounds} rounds; run took {elapsed / 60:.1f} min.")
    out.append("Servers: Emporium on PostgreSQL + Redis (**pg**) and on its embedded default, SQLite without "
               "Redis (**sqlite**); the Django + DRF baseline on the same PostgreSQL + Redis in the better of "
               "its two configurations for each workload (sync workers or gthread with keep-alive, named). "
               "RSS: peak resident memory of the server with all its processes. A run with errors is "
               "marked FAILED, not fast.")
    out.append("")
    out.append("| workload | pg req/s | sqlite req/s | baseline req/s | pg ÷ baseline | sqlite ÷ baseline "
               "| pg ÷ ceiling | sqlite ÷ ceiling | p50 / p99 ms (pg · sqlite · baseline) | errors | RSS MiB (pg · sqlite · baseline) |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ceiling_rps = results[("g", "ceiling")]["rps"]
    for letter, title in WORKLOADS:
        pg, sq = results[(letter, "emporium-pg")], results[(letter, "emporium-sqlite")]
        base, config = best_baseline(letter)
        value = (lambda r: r["orders"]) if letter == "f" else (lambda r: r["rps"])

        def shown(r):
            return f"FAILED ({r['errors']} errors)" if r["errors"] else f"{value(r):,.0f}"

        near = letter in "abc"
        out.append(
            f"| ({letter}) {title} | {shown(pg)} | {shown(sq)} | {shown(base)} ({config}) "
            f"| {value(pg) / value(base):.1f}× | {value(sq) / value(base):.1f}× "
            f"| {f'{value(pg) / ceiling_rps:.2f}' if near else '—'} | {f'{value(sq) / ceiling_rps:.2f}' if near else '—'} "
            f"| {fmt_ms(pg['p50'])}/{fmt_ms(pg['p99'])} · {fmt_ms(sq['p50'])}/{fmt_ms(sq['p99'])} · "
            f"{fmt_ms(base['p50'])}/{fmt_ms(base['p99'])} | {pg['errors']} · {sq['errors']} · {base['errors']} "
            f"| {pg['rss_mib']:.0f} · {sq['rss_mib']:.0f} · {base['rss_mib']:.0f} |")
    g, h = results[("g", "ceiling")], results[("h", "pgbench")]
    out.append("")
    out.append(f"Ceilings: (g) the HTTP limit, a minimal hyper server answering (a)'s bytes: **{g['rps']:,.0f} req/s** "
               f"(runs {g['runs']}); (h) the commit limit, pgbench (TPC-B-like, {CONNECTIONS} clients) on the same "
               f"PostgreSQL: **{h['rps']:,.0f} transactions/s** (runs {h['runs']}). Checkout (f) on pg: "
               f"{results[('f', 'emporium-pg')]['orders'] / h['rps']:.2f} of pgbench's transactions/s.")
    out.append("")
    out.append("Runs (req/s, orders/s for f):")
    out.append("")
    for (letter, name), r in sorted(results.items()):
        if letter in "abcdef":
            out.append(f"- ({letter}) {name}: {r['runs']}")
    out.append("")
    out.append("**(m) mixed** — 32 connections browsing (a–c in equal parts) while 16 users check out:")
    out.append("")
    out.append("| server | browse req/s | share of its (a–c) rate | browse p99 ms | orders/s | checkout p99 ms "
               "| cache hit ratio | versions from the node's copy | errors | RSS MiB |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in ("emporium-pg", "emporium-sqlite", "baseline-sync", "baseline-gthread"):
        m = results[("m", name)]
        alone = [results[(x, name)]["rps"] for x in "abc"]
        expected = 3 / sum(1 / r for r in alone)
        hit, copy = m["extra"].get("hit_ratio"), m["extra"].get("copy_ratio")
        out.append(f"| {name} | {m['rps']:,.0f} | {m['rps'] / expected:.2f} | {fmt_ms(m['p99'])} | {m['orders']:,.0f} "
                   f"| {fmt_ms(m['extra']['checkout_p99'])} | {f'{hit:.3f}' if hit is not None else '—'} "
                   f"| {f'{copy:.3f}' if copy is not None else '—'} | {m['errors']} | {m['rss_mib']:.0f} |")
    out.append("")
    out.append(f"**(x) registration flood** — 256 connections registering for {args.flood_duration:g} s, "
               "probes on /health/ and the product list (one run):")
    out.append("")
    out.append("| server | flood answers | flood req/s | /health/ p99 ms | list p99 ms | probe errors | peak RSS MiB |")
    out.append("| --- | --- | --- | --- | --- | --- | --- |")
    for name in ("emporium-pg", "emporium-sqlite", "baseline-sync", "baseline-gthread"):
        x = results[("x", name)]
        health = fmt_ms(x["extra"]["health_p99"]) if x["extra"]["health_answers"] else "no answer"
        listed = fmt_ms(x["p99"]) if x["extra"]["catalog_answers"] else "no answer"
        out.append(f"| {name} | {x['extra']['statuses']} | {x['rps']:,.0f} | {health} "
                   f"| {listed} | {x['errors']} | {x['rss_mib']:.0f} |")
    if profiles:
        out.append("")
        out.append("Profiles: " + ", ".join(str(p.relative_to(ROOT)) for p in profiles))
    text = "\n".join(out) + "\n"
    print()
    print(text)
    if not args.no_record:
        path = BENCH / "RESULTS.md"
        if not path.exists():
            path.write_text("# Benchmark results\n\nAppended by `bench/run.py`, newest last.\n\n")
        with open(path, "a") as results_file:
            results_file.write("\n" + text)
        log(f"appended to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
