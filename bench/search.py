#!/usr/bin/env python3
"""Product search at scale: Emporium on PostgreSQL with 100,000 products, its response cache
off, so every request runs its queries.

    python3 bench/search.py [--products 100000] [--rounds 3] [--duration 10] [--connections 4]

It builds the release binary, creates the database `emporium_search_bench` (dropped at the
end), migrates it, writes 120 categories (20 with 5 sub-categories each) and the products
straight into the tables with COPY — names like "Rustic Walnut Chair K7Q2M" (a model code
each: a vocabulary of over 100,000 words), descriptions of 12–30 words drawn with a Zipf-like
skew from 3,000 — then times `emporium migrate` building the search index of all of them,
and measures with wrk (latency under `--connections` connections, one wrk thread each, after
2 s of each workload to warm up):

  (s1) two words and a category (with its sub-categories), by relevance
  (s2) two words, no other filter
  (s3) one misspelt word (a letter swapped)
  (s4) facets of a two-word search
  (s5) suggestions for a two- or three-letter prefix
  (s6) three words, one of them ("for") in most descriptions

Medians of the rounds. Last, it logs the plans of one request of each kind (PostgreSQL's
auto_explain, with ANALYZE) and prints them. Results go to stdout and are appended to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (the benchmark's helpers: wrk, psql, databases)

DATABASE = "emporium_search_bench"
PORT = 18480
NOUNS = ("chair table lamp sofa desk shelf rug mirror bed pillow blanket vase clock bench stool "
         "cabinet dresser wardrobe curtain basket jar bowl plate mug kettle pan knife spoon fork "
         "glass bottle towel candle frame hook rack tray box bin hanger planter cushion throw "
         "sideboard ottoman armchair recliner futon mattress duvet sheet quilt lantern sconce "
         "pendant chandelier bookcase console trolley").split()
ADJECTIVES = ("rustic modern classic vintage minimalist sturdy elegant compact cosy bold soft "
              "handmade industrial scandinavian coastal bohemian sleek ornate round square "
              "tall low wide narrow light dark bright warm cool natural polished brushed matte "
              "glossy woven carved folding stackable adjustable portable outdoor indoor "
              "premium everyday deluxe petite grand slim chunky textured striped plain patterned "
              "reversible washable durable recycled organic").split()
MATERIALS = ("oak walnut birch pine teak bamboo rattan cane steel iron brass copper aluminium "
             "marble granite glass ceramic porcelain linen cotton wool velvet leather jute "
             "concrete").split()
SYLLABLES = "ka lo mi ne ru sa ti vo be da fe gu hi jo pa re si to ur ve wy xa ze bri cla dro".split()


def log(message: str) -> None:
    bench.log(message)


STOP_WORDS = "the and with for a in of to this your is on".split()


def vocabulary(rng: random.Random) -> list[str]:
    """3,000 description words, most frequent first: small words, the catalog's own words, then
    made-up ones."""
    words = list(dict.fromkeys(STOP_WORDS + ADJECTIVES + MATERIALS + NOUNS + [n + "s" for n in NOUNS]))
    made = set(words)
    while len(words) < 3000:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in made:
            made.add(word)
            words.append(word)
    return words


def seed(products: int, rng: random.Random) -> list[int]:
    """Categories and products by COPY; returns the ids of the top-level categories."""
    now = datetime.datetime.now(datetime.timezone.utc)
    rows = io.StringIO()
    category_id = 0
    tops, leaves = [], []
    for top in range(20):
        category_id += 1
        tops.append(category_id)
        rows.write(f"{category_id}\tDepartment {top}\tdepartment-{top}\t\\N\t\t{now.isoformat()}\t{now.isoformat()}\n")
        parent = category_id
        for child in range(5):
            category_id += 1
            leaves.append(category_id)
            rows.write(f"{category_id}\tAisle {top}-{child}\taisle-{top}-{child}\t{parent}\t\t{now.isoformat()}\t{now.isoformat()}\n")
    copy("categories (id, name, slug, parent_id, description, created_at, updated_at)", rows.getvalue())
    words = vocabulary(rng)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(words))]
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    rows = io.StringIO()
    for n in range(1, products + 1):
        code = "".join(rng.choice(alphabet) for _ in range(5))
        name = f"{rng.choice(ADJECTIVES).title()} {rng.choice(MATERIALS).title()} {rng.choice(NOUNS).title()} {code}"
        description = " ".join(rng.choices(words, weights, k=rng.randint(12, 30)))
        price = rng.randint(200, 250_000)
        stock = 0 if n % 50 == 0 else rng.randint(1, 100)
        created = (now - datetime.timedelta(minutes=n)).isoformat()
        rows.write(f"{n}\t{name}\tp-{n}\t{description}\t{price}\t{stock}\tt\t{rng.choice(leaves)}\t{created}\t{created}\t0\t0\t0\n")
    copy("products (id, name, slug, description, price, stock, is_active, category_id, created_at, "
         "updated_at, version, review_count, rating_total)", rows.getvalue())
    # Each product's first stock, as the previous version recorded it (no variant yet).
    rows = io.StringIO()
    for n in range(1, products + 1):
        rows.write(f"{n}\t1\t1\tproduct created\tuser:1\t{now.isoformat()}\n")
    copy("stock_movements (product_id, delta, stock_after, reason, reference, created_at)", rows.getvalue())
    for table in ("categories", "products"):
        sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return tops


def url() -> str:
    return bench.PG_ADMIN.rsplit("/", 1)[0] + "/" + DATABASE


def sql(statement: str) -> str:
    out = subprocess.run(["psql", url(), "-Atqc", statement], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def copy(target: str, data: str) -> None:
    subprocess.run(["psql", url(), "-qc", f"COPY {target} FROM STDIN"], input=data, text=True, check=True)


def emporium_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("EMPORIUM_") or k in ("DATABASE_URL", "REDIS_URL"))}
    env.update({
        "DATABASE_URL": url(),
        "EMPORIUM_LISTEN": f"127.0.0.1:{PORT}",
        "EMPORIUM_SECRET_KEY": "benchmark-only-secret-key-0123456789abcdef",
        "EMPORIUM_THROTTLE_ANON": "off", "EMPORIUM_THROTTLE_USER": "off",
        # Every request runs its queries.
        "EMPORIUM_CACHE": "off",
        "RUST_LOG": "warn",
    })
    return env


def binary() -> str:
    return str(bench.TARGET / "release" / "emporium")


def serve(work: Path) -> subprocess.Popen:
    process = subprocess.Popen([binary(), "serve", "--no-worker"], env=emporium_env(), cwd=work,
                               stdout=open(work / "server.log", "a"), stderr=subprocess.STDOUT)
    bench.wait_healthy(f"http://127.0.0.1:{PORT}", process)
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word) - 1)
    swapped = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return swapped if swapped != word else word[:-1]


def workloads(tops: list[int], rng: random.Random) -> dict[str, list[str]]:
    two = lambda: f"{rng.choice(ADJECTIVES)}+{rng.choice(NOUNS)}"  # noqa: E731
    return {
        "s1": [f"/api/products/?search={two()}&category={rng.choice(tops)}" for _ in range(500)],
        "s2": [f"/api/products/?search={two()}" for _ in range(500)],
        "s3": [f"/api/products/?search={typo(rng.choice(NOUNS), rng)}" for _ in range(500)],
        "s4": [f"/api/products/facets/?search={two()}" for _ in range(500)],
        "s5": [f"/api/products/suggest/?q={rng.choice(NOUNS + ADJECTIVES)[:rng.randint(2, 3)]}"
               for _ in range(500)],
        "s6": [f"/api/products/?search={rng.choice(NOUNS)}+for+{rng.choice(NOUNS)}" for _ in range(500)],
    }


TITLES = {
    "s1": "two words + category",
    "s2": "two words",
    "s3": "one misspelt word",
    "s4": "facets of two words",
    "s5": "suggest a prefix",
    "s6": "three words, one of them in most products",
}


def plans(work: Path, paths: dict[str, list[str]]) -> str:
    """The plans PostgreSQL ran for one request of each kind (auto_explain with ANALYZE)."""
    log_file = Path("/var/log/postgresql/postgresql-15-main.log")
    for setting in ("session_preload_libraries = 'auto_explain'", "auto_explain.log_min_duration = 0",
                    "auto_explain.log_analyze = on", "auto_explain.log_buffers = on"):
        bench.psql(f"ALTER DATABASE {DATABASE} SET {setting}")
    start = log_file.stat().st_size if log_file.exists() else 0
    process = serve(work)
    try:
        for kind in ("s1", "s3", "s4", "s5"):
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}{paths[kind][0]}", timeout=30).read()
            time.sleep(0.3)
    finally:
        stop(process)
    bench.psql(f"ALTER DATABASE {DATABASE} RESET ALL")
    if not log_file.exists():
        return "(no PostgreSQL log to read the plans from)"
    with open(log_file, errors="replace") as handle:
        handle.seek(start)
        text = handle.read()
    # One record per log line that starts with a timestamp; a plan's lines follow its own.
    records = re.split(r"\n(?=\d{4}-\d\d-\d\d )", text)
    kept = []
    for record in records:
        if "plan:" in record and ("search_postings" in record or "search_terms" in record):
            lines = record.strip().splitlines()
            kept.append("\n".join(line if len(line) <= 240 else line[:240] + " …" for line in lines))
    return "\n\n".join(kept) or "(auto_explain logged nothing)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument("--reuse", action="store_true", help="use the database a --keep run left")
    args = parser.parse_args()
    rng = random.Random(20261206)
    log("building the release binary")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "emporium"], cwd=bench.ROOT, check=True)
    if not args.reuse:
        bench.psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", f"CREATE DATABASE {DATABASE}")
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        try:
            if args.reuse:
                tops = [int(n) for n in sql("SELECT id FROM categories WHERE parent_id IS NULL ORDER BY id").split()]
                built = migrated = float("nan")
            else:
                subprocess.run([binary(), "migrate"], env=emporium_env(), cwd=work, check=True,
                               stdout=subprocess.DEVNULL)
                log(f"seeding {args.products:,} products")
                tops = seed(args.products, rng)
                # The shop as the previous version left it: products without variants. The
                # variants migration runs again over them (it looks before it creates).
                sql("DELETE FROM emporium_migrations WHERE version LIKE '%\\_variants'")
                started = time.time()
                subprocess.run([binary(), "migrate"], env=emporium_env(), cwd=work, check=True,
                               stdout=subprocess.DEVNULL)
                migrated = time.time() - started
                variants = sql("SELECT count(*) FROM product_variants")
                log(f"variants migration: {variants} variants made, movements pointed at them, "
                    f"in {migrated:.1f} s")
                sql("DELETE FROM search_index_state")
                started = time.time()
                subprocess.run([binary(), "migrate"], env=emporium_env(), cwd=work, check=True,
                               stdout=subprocess.DEVNULL)
                built = time.time() - started
                # As autovacuum leaves a table after a bulk insert: statistics, and the
                # visibility map that lets PostgreSQL read an index without the table.
                sql("VACUUM ANALYZE")
            sizes = sql("SELECT (SELECT count(*) FROM search_terms) || ' words, ' || "
                        "(SELECT count(*) FROM search_postings) || ' postings, ' || "
                        "pg_size_pretty(pg_total_relation_size('search_postings') + "
                        "pg_total_relation_size('search_terms'))")
            log(f"index built by `emporium migrate` in {built:.1f} s: {sizes}")
            paths = workloads(tops, random.Random(7))
            process = serve(work)
            try:
                # Warm-up, not counted: the server's pool, PostgreSQL's buffers and plans.
                for kind_paths in paths.values():
                    bench.wrk(f"http://127.0.0.1:{PORT}", "paths", args.connections, args.connections,
                              2, work, paths=kind_paths)
                for round_number in range(args.rounds):
                    for kind, kind_paths in paths.items():
                        bench.wait_quiet(10)
                        figures = bench.wrk(f"http://127.0.0.1:{PORT}", "paths", args.connections,
                                            args.connections, args.duration, work, paths=kind_paths)
                        log(f"round {round_number + 1} {kind}: {figures['rps']:.0f}/s "
                            f"p50 {figures['p50']:.1f} ms p99 {figures['p99']:.1f} ms errors {figures['errors']}")
                        results.setdefault(kind, []).append(figures)
            finally:
                stop(process)
            explained = plans(work, paths)
        finally:
            if not args.keep:
                bench.psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=bench.ROOT,
                              capture_output=True, text=True).stdout.strip()
    lines = [
        f"## Search at {args.products:,} products, {datetime.date.today()} ({revision})",
        "",
        f"PostgreSQL, response cache off; the variants migration over them in {migrated:.1f} s; "
        f"index built by `emporium migrate` in {built:.1f} s ({sizes}). "
        f"wrk, {args.connections} connections, {args.duration:g} s, median of {args.rounds} rounds.",
        "",
        "| workload | requests/s | p50 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind, runs in results.items():
        median = lambda key: statistics.median(run[key] for run in runs)  # noqa: E731
        errors = sum(run["errors"] for run in runs)
        lines.append(f"| ({kind}) {TITLES[kind]} | {median('rps'):,.0f} | {median('p50'):.1f} | "
                     f"{median('p99'):.1f} | {errors} |")
    lines += ["", "Plans (auto_explain, ANALYZE) of one request of (s1), (s3), (s4), (s5):", "", "```",
              explained, "```", ""]
    text = "\n".join(lines)
    print(text)
    with open(bench.BENCH / "RESULTS.md", "a") as results_file:
        results_file.write("\n" + text)


if __name__ == "__main__":
    main()
