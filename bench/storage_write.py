"""Write throughput of the storage plugins against the raw driver path, same rows, same run.

For each backend, N rows (dicts: id, name, score, active, created, note) are written once
through ``plugin.write(table, rows, mode="insert")`` into an empty table and once through
the driver's own fastest path into an identical empty table (created by the same plugin,
so types, keys and indexes match):

=============  ===============================================================
backend        raw driver path
=============  ===============================================================
sqlite         ``sqlite3`` ``executemany`` (WAL, synchronous=NORMAL like the plugin)
postgresql     psycopg ``COPY FROM STDIN`` with ``write_row``
mariadb        PyMySQL ``executemany`` (multi-row INSERTs; datetimes made naive UTC)
local          ``pyarrow.Table.from_pylist`` + ``pyarrow.parquet.write_table``
s3 (opt-in)    the same pyarrow write through s3fs to a moto server
=============  ===============================================================

The plugin's time includes what the raw path skips: validation of every value, the
transaction, the key-uniqueness check, and keeping history (the row versions' start
stamp and the change log on SQL; the Delta commit on the object store). Each path runs
``--repeat`` times on fresh tables and the fastest run counts (the machine is shared; the
minimum is the least noisy estimate).

Two more figures per backend, from the plugin's table after its insert:

* upsert: the same N rows upserted over themselves (every old version goes to history);
* as_of read: ``read(table, as_of=now)`` of all N rows against the current ``read(table)``
  (both as one page of dicts), the ratio as_of time / current time.

Output is rows/s and ratios; nothing is asserted.

Usage: ``.venv/bin/python bench/storage_write.py [--rows N] [--backends sqlite,postgresql]``
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pymysql
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from storage_plugins.arrow import arrow_schema
from storage_plugins.base import StoragePlugin
from storage_plugins.objectstore import ObjectStoreConfig, ObjectStorePlugin
from storage_plugins.schema import Column, ColumnType, Table, TabularSchema
from storage_plugins.sql import SQLConfig, SQLStoragePlugin

POSTGRES_URL = os.environ.get(
    "MIMIR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MYSQL_URL = os.environ.get("MIMIR_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
COLUMNS = ["id", "name", "score", "active", "created", "note"]


def bench_table(name: str) -> Table:
    """The benchmark table: a typical ingested entity."""
    return Table(
        name=name,
        columns=[
            Column(name="id", type=ColumnType.INTEGER, nullable=False),
            Column(name="name", type=ColumnType.STRING),
            Column(name="score", type=ColumnType.DOUBLE),
            Column(name="active", type=ColumnType.BOOLEAN),
            Column(name="created", type=ColumnType.DATETIME),
            Column(name="note", type=ColumnType.STRING),
        ],
        primary_key=["id"],
    )


SCHEMA = TabularSchema(tables=[bench_table("via_plugin"), bench_table("via_driver")])


def make_rows(count: int) -> list[dict[str, Any]]:
    """The rows both paths write."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        {
            "id": i,
            "name": f"customer-{i:08d}",
            "score": i * 0.25,
            "active": i % 3 == 0,
            "created": start + timedelta(seconds=i),
            "note": None if i % 5 == 0 else f"note {i}",
        }
        for i in range(count)
    ]


def timed(action: Callable[[], Any]) -> float:
    """Seconds `action` takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# ------------------------------------------------------------------ backends

@contextmanager
def server_database(admin_url: str, create: str, drop: str) -> Iterator[str]:
    """A scratch database on a server, dropped afterwards."""
    url = make_url(admin_url)
    name = f"mimir_bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(create.format(name=name))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(drop.format(name=name))
        engine.dispose()


EXTRA: dict[str, float] = {}
"""Upsert and read timings of the latest plugin run (filled by `plugin_path`)."""


def plugin_path(plugin: StoragePlugin, rows: list[dict[str, Any]]) -> float:
    """Time the plugin's insert; record upsert, current read and as_of read timings."""
    plugin.apply_schema(SCHEMA)
    insert_s = timed(lambda: plugin.write("via_plugin", rows))
    EXTRA["upsert"] = timed(lambda: plugin.write("via_plugin", rows, mode="upsert"))
    now = datetime.now(UTC)
    gc.collect()
    EXTRA["read"] = timed(lambda: plugin.read("via_plugin"))
    gc.collect()
    EXTRA["as_of"] = timed(lambda: plugin.read("via_plugin", as_of=now))
    return insert_s


def big_pages(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Plugin settings letting one read return every benchmark row."""
    return {"max_page_rows": max(len(rows), 1), "statement_timeout_s": 3600}


def run_sqlite(rows: list[dict[str, Any]], workdir: Path) -> tuple[float, float]:
    """Plugin vs sqlite3 executemany."""
    path = workdir / "bench.db"
    plugin = SQLStoragePlugin(SQLConfig(url=f"sqlite:///{path}", **big_pages(rows)))
    plugin_s = plugin_path(plugin, rows)
    plugin.close()
    getter = itemgetter(*COLUMNS)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = f"INSERT INTO via_driver ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"

    def raw() -> None:
        conn.executemany(sql, map(getter, rows))
        conn.commit()

    raw_s = timed(raw)
    conn.close()
    return plugin_s, raw_s


def run_postgresql(rows: list[dict[str, Any]], workdir: Path) -> tuple[float, float]:
    """Plugin vs psycopg COPY."""
    with server_database(POSTGRES_URL, 'CREATE DATABASE "{name}"',
                         'DROP DATABASE "{name}" WITH (FORCE)') as url:
        plugin = SQLStoragePlugin(SQLConfig(url=url, **big_pages(rows)))
        plugin_s = plugin_path(plugin, rows)
        plugin.close()
        getter = itemgetter(*COLUMNS)
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as conn:

            def raw() -> None:
                with conn.cursor() as cur, cur.copy(
                    f"COPY via_driver ({', '.join(COLUMNS)}) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(getter(row))
                conn.commit()

            raw_s = timed(raw)
    return plugin_s, raw_s


def run_mariadb(rows: list[dict[str, Any]], workdir: Path) -> tuple[float, float]:
    """Plugin vs PyMySQL executemany."""
    with server_database(MYSQL_URL, "CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
                         "DROP DATABASE `{name}`") as url:
        plugin = SQLStoragePlugin(SQLConfig(url=url, **big_pages(rows)))
        plugin_s = plugin_path(plugin, rows)
        plugin.close()
        parts = make_url(url)
        conn = pymysql.connect(
            host=parts.host, port=parts.port or 3306, user=parts.username,
            password=parts.password or "", database=parts.database, charset="utf8mb4",
        )
        sql = f"INSERT INTO via_driver ({', '.join(COLUMNS)}) VALUES (%s, %s, %s, %s, %s, %s)"

        def raw() -> None:
            # MariaDB's DATETIME has no zone: the minimum a caller must do is make it naive UTC
            values = [
                (r["id"], r["name"], r["score"], r["active"],
                 r["created"].replace(tzinfo=None), r["note"])
                for r in rows
            ]
            with conn.cursor() as cur:
                cur.executemany(sql, values)
            conn.commit()

        raw_s = timed(raw)
        conn.close()
    return plugin_s, raw_s


def run_objectstore(
    rows: list[dict[str, Any]], plugin: StoragePlugin, raw_path: str, filesystem: Any
) -> tuple[float, float]:
    """Plugin vs pyarrow from_pylist + write_table, on the same filesystem."""
    plugin_s = plugin_path(plugin, rows)
    plugin.close()
    schema = arrow_schema(bench_table("via_driver"))

    def raw() -> None:
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), raw_path,
                       filesystem=filesystem)

    return plugin_s, timed(raw)


def run_local(rows: list[dict[str, Any]], workdir: Path) -> tuple[float, float]:
    """Object store on a local folder."""
    plugin = ObjectStorePlugin(ObjectStoreConfig(url=str(workdir / "store"), **big_pages(rows)))
    return run_objectstore(rows, plugin, str(workdir / "raw.parquet"), None)


def run_s3(rows: list[dict[str, Any]], workdir: Path) -> tuple[float, float]:
    """Object store on S3 (a local moto server; its speed, not S3's, dominates)."""
    import s3fs

    port = 5000 + os.getpid() % 1000
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        fs = s3fs.S3FileSystem(key="k", secret="s", endpoint_url=endpoint)
        for _ in range(100):
            try:
                fs.mkdir("bench")
                break
            except Exception:  # server still starting
                time.sleep(0.1)
        plugin = ObjectStorePlugin(ObjectStoreConfig(
            url="s3://bench/store", endpoint_url=endpoint, key="k", secret="s",
            **big_pages(rows)))
        return run_objectstore(rows, plugin, "bench/raw.parquet", fs)
    finally:
        proc.terminate()
        proc.wait()


RUNNERS: dict[str, tuple[Callable[[list[dict[str, Any]], Path], tuple[float, float]], str]] = {
    "sqlite": (run_sqlite, "sqlite3 executemany"),
    "postgresql": (run_postgresql, "psycopg COPY"),
    "mariadb": (run_mariadb, "pymysql executemany"),
    "local": (run_local, "pyarrow write_table (Delta)"),
    "s3": (run_s3, "pyarrow write_table (s3fs)"),
}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per write")
    parser.add_argument("--backends", default="sqlite,postgresql,mariadb,local",
                        help=f"comma-separated subset of {','.join(RUNNERS)}")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per backend; the fastest of each path is reported")
    args = parser.parse_args(argv)
    rows = make_rows(args.rows)
    gc.collect()
    gc.freeze()  # the input rows are long-lived: keep the collector from rescanning them
    print(f"rows per write: {args.rows:,}, best of {args.repeat} runs "
          f"(python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    header = (f"{'backend':<11} {'plugin rows/s':>14} {'raw rows/s':>12} {'ratio':>6} "
              f"{'upsert rows/s':>14} {'read s':>7} {'as_of s':>8} {'ratio':>6}  raw path")
    print(header)
    print("-" * len(header))
    for name in args.backends.split(","):
        runner, raw_name = RUNNERS[name]
        plugin_s = raw_s = float("inf")
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                plugin_run, raw_run = runner(rows, Path(tmp))
            plugin_s, raw_s = min(plugin_s, plugin_run), min(raw_s, raw_run)
            best = {k: min(v, best.get(k, float("inf"))) for k, v in EXTRA.items()}
        print(f"{name:<11} {args.rows / plugin_s:>14,.0f} {args.rows / raw_s:>12,.0f} "
              f"{plugin_s / raw_s:>5.2f}x {args.rows / best['upsert']:>14,.0f} "
              f"{best['read']:>7.2f} {best['as_of']:>8.2f} "
              f"{best['as_of'] / best['read']:>5.2f}x  {raw_name}", flush=True)
    print("ratio = plugin insert time (history kept) / raw driver time; "
          "as_of ratio = as_of read time / current read time")


if __name__ == "__main__":
    main()
