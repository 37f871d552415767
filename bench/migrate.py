#!/usr/bin/env python3
"""The variants migration over a shop of the previous version, timed on each engine.

    python3 bench/migrate.py [--products 100000] [--engines sqlite,postgres,mariadb]

For each engine it creates a fresh database, lets `emporium migrate` make the schema, writes
the products as the previous version had them — no variant; each with the stock movement of
its creation, and every tenth in a cart line and an order item — straight into the tables,
forgets the variants migration, and times `emporium migrate` running it again over them. Then it
checks that every product has its one variant and every movement, line and item points at it.

Only the standard library (sqlite3), psql and the mysql client: run it with the machine's
python3. PostgreSQL at PG_URL, MariaDB at MYSQL_URL (defaults: this machine's).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

MYSQL = os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306")
NAME = "emporium_migrate_bench"
NOW = "2026-12-01 10:00:00"


def rows(products: int) -> dict[str, list[tuple]]:
    """The previous version's rows: products, their movements, a cart and an order."""
    return {
        "products": [(n, f"Product {n}", f"product-{n}", "", 100 + n % 5000, n % 90, True, 1, NOW, NOW, 0, 0, 0)
                     for n in range(1, products + 1)],
        "stock_movements": [(n, n % 90, n % 90, "product created", "user:1", NOW) for n in range(1, products + 1)],
        "cart_items": [(1, n, 1, NOW) for n in range(10, products + 1, 10)],
        "order_items": [("00000000-0000-4000-8000-000000000001", n, f"Product {n}", 100, 1, 100)
                        for n in range(10, products + 1, 10)],
    }


COLUMNS = {
    "products": "id, name, slug, description, price, stock, is_active, category_id, created_at, updated_at, "
                "version, review_count, rating_total",
    "stock_movements": "product_id, delta, stock_after, reason, reference, created_at",
    "cart_items": "cart_id, product_id, quantity, added_at",
    "order_items": "order_id, product_id, product_name, price_snapshot, quantity, subtotal",
}
FIXED = [
    "INSERT INTO categories (id, name, slug, description, created_at, updated_at) "
    f"VALUES (1, 'Everything', 'everything', '', '{NOW}', '{NOW}')",
    "INSERT INTO users (id, email, password, first_name, last_name, is_staff, is_active, date_joined) "
    f"VALUES (1, 'old@shop.example', '!', '', '', {{false}}, {{true}}, '{NOW}')",
    f"INSERT INTO carts (id, user_id, created_at, updated_at) VALUES (1, 1, '{NOW}', '{NOW}')",
    "INSERT INTO orders (id, user_id, status, payment_status, subtotal, discount, total_amount, currency, "
    "shipping_address, created_at, updated_at) VALUES ('00000000-0000-4000-8000-000000000001', 1, 'PAID', "
    f"'PAID', 100, 0, 100, 'USD', '{{{{}}}}', '{NOW}', '{NOW}')",
]
CHECKS = [
    "SELECT count(*) FROM products p WHERE (SELECT count(*) FROM product_variants v WHERE v.product_id = p.id) <> 1",
    "SELECT count(*) FROM stock_movements m WHERE m.variant_id IS NULL",
    "SELECT count(*) FROM cart_items c WHERE c.variant_id IS NULL",
    "SELECT count(*) FROM order_items i WHERE i.variant_id IS NULL OR i.sku IS NULL",
]


def literal(value) -> str:
    if isinstance(value, bool):
        return "{true}" if value else "{false}"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def batches(table: str, data: list[tuple], size: int = 5000):
    for start in range(0, len(data), size):
        values = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in data[start:start + size])
        yield f"INSERT INTO {table} ({COLUMNS[table]}) VALUES {values}"


class Engine:
    def __init__(self, name: str, work: Path):
        self.name, self.work = name, work
        if name == "sqlite":
            self.url = f"sqlite://{work}/shop.db?mode=rwc"
        elif name == "postgres":
            bench.psql(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)", f"CREATE DATABASE {NAME}")
            self.url = bench.PG_ADMIN.rsplit("/", 1)[0] + "/" + NAME
        else:
            self.mysql(f"DROP DATABASE IF EXISTS {NAME}; CREATE DATABASE {NAME} CHARACTER SET utf8mb4", db=False)
            self.url = f"{MYSQL}/{NAME}"

    def mysql(self, statements: str, db: bool = True) -> str:
        host_port = MYSQL.split("@", 1)[1]
        host, port = host_port.split(":")
        command = ["mysql", "-uroot", "-h", host, "-P", port, "-N", "-B"] + ([NAME] if db else [])
        return subprocess.run(command, input=statements, text=True, capture_output=True, check=True).stdout

    def execute(self, statements: list[str]) -> list[str]:
        truth = {"false": "false" if self.name == "postgres" else "0",
                 "true": "true" if self.name == "postgres" else "1"}
        statements = [s.format(**truth) for s in statements]
        if self.name == "sqlite":
            connection = sqlite3.connect(self.work / "shop.db")
            out = []
            for statement in statements:
                cursor = connection.execute(statement)
                out.append(" ".join(str(v) for row in cursor.fetchall() for v in row))
            connection.commit()
            connection.close()
            return out
        if self.name == "postgres":
            script = ";\n".join(statements) + ";\n"
            result = subprocess.run(["psql", self.url, "-Atq", "-v", "ON_ERROR_STOP=1"], input=script,
                                    text=True, capture_output=True)
            if result.returncode != 0:
                raise SystemExit(f"psql: {result.stderr[:500]}")
            return result.stdout.split()
        return self.mysql(";\n".join(statements) + ";\n").split()

    def drop(self) -> None:
        if self.name == "postgres":
            bench.psql(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")
        elif self.name == "mariadb":
            self.mysql(f"DROP DATABASE IF EXISTS {NAME}", db=False)


def migrate(engine: Engine) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMPORIUM_")}
    env.update({"DATABASE_URL": engine.url, "RUST_LOG": "warn",
                "EMPORIUM_SECRET_KEY": "migration-benchmark-secret-key-0123456789abcdef"})
    started = time.time()
    subprocess.run([str(bench.TARGET / "release" / "emporium"), "migrate"], env=env, cwd=engine.work,
                   check=True, stdout=subprocess.DEVNULL)
    return time.time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--engines", default="sqlite,postgres,mariadb")
    args = parser.parse_args()
    bench.log("building the release binary")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "emporium"], cwd=bench.ROOT, check=True,
                   env=dict(os.environ, CARGO_TARGET_DIR=str(bench.TARGET)))
    data = rows(args.products)
    for name in args.engines.split(","):
        with tempfile.TemporaryDirectory() as folder:
            engine = Engine(name, Path(folder))
            try:
                migrate(engine)
                statements = list(FIXED)
                for table, table_rows in data.items():
                    statements.extend(batches(table, table_rows))
                statements.append("DELETE FROM emporium_migrations WHERE version LIKE '%\\_variants'"
                                  if name != "sqlite" else
                                  "DELETE FROM emporium_migrations WHERE version LIKE '%variants'")
                engine.execute(statements)
                seconds = migrate(engine)
                left = engine.execute(CHECKS)
                ok = all(v == "0" for v in left)
                bench.log(f"{name}: {args.products:,} products, {len(data['stock_movements']):,} movements, "
                          f"{len(data['cart_items']):,} cart lines, {len(data['order_items']):,} order items "
                          f"migrated in {seconds:.1f} s; {'every row points at its variant' if ok else f'LEFT {left}'}")
                if not ok:
                    raise SystemExit(1)
            finally:
                engine.drop()


if __name__ == "__main__":
    main()
