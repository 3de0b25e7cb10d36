"""Ingesting a large CSV: `storage.load` (streamed batches) against the in-context path.

One CSV of N rows (default 500,000: reading_id, sensor, ts, value, note) is ingested into the
raw area of a fresh SQLite project three ways, each in its own child process so its peak RSS
(`ru_maxrss`) is its own:

* ``load``     — the `storage.load` action: reads the file incrementally, writes 10k-row batches;
* ``context``  — `file.read` + `csv.parse` + `storage.write`, the path a pipeline took before
  `storage.load` existed (every record in memory, as the run context would hold it);
* ``baseline`` — the floor: Python's csv reader + sqlite3 ``executemany`` into a plain table.

Printed: seconds, rows/s, peak RSS, and ratios against the baseline measured in the same run.
Nothing is asserted (the machine is shared; see README for the latest figures).

Usage: ``.venv/bin/python bench/ingest_large.py [--rows N]``
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def make_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["reading_id", "sensor", "ts", "value", "note"])
        for i in range(rows):
            writer.writerow(
                [f"r{i}", f"s{i % 997}", f"2026-11-{1 + i % 28:02d}T10:00:00Z", i * 0.25, "ok"]
            )


def _context(storage: Path) -> Any:
    from flows.actions.base import ActionContext

    return ActionContext(
        step="bench",
        pipeline="bench",
        pipeline_type="ingestion",
        project="",
        storage_url=storage.as_uri(),
        run_id="bench-run",
        window=None,
        render=lambda value, _variables: value,
        log=logging.getLogger("bench"),
    )


def run_load(storage: Path) -> int:
    from flows.actions.builtin.load import StorageLoadParams, storage_load

    params = StorageLoadParams(path="big.csv", source="readings", batch_size=10_000)
    return int(storage_load.fn(params, _context(storage))["rows"])


def run_context(storage: Path) -> int:
    from flows.actions.builtin.storage import StorageWriteParams, storage_write

    text = (storage / "big.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    params = StorageWriteParams(source="readings", rows=rows)
    return int(storage_write.fn(params, _context(storage))["rows"])


def run_baseline(storage: Path) -> int:
    connection = sqlite3.connect(storage / "baseline.sqlite")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE readings (reading_id TEXT PRIMARY KEY, sensor TEXT, ts TEXT, value REAL, "
        "note TEXT)"
    )
    with (storage / "big.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        with connection:
            connection.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?)", reader)
    count = connection.execute("SELECT count(*) FROM readings").fetchone()[0]
    connection.close()
    return int(count)


def child(mode: str, storage: Path) -> None:
    """Run one path in this process and print its figures as JSON (no Prefect: project "")."""
    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()
    rows = {"load": run_load, "context": run_context, "baseline": run_baseline}[mode](storage)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "rows": rows, "seconds": seconds, "peak_mib": peak_mib}))


def measure(mode: str, rows: int, folder: Path) -> dict[str, Any]:
    storage = folder / mode
    storage.mkdir()
    (storage / "big.csv").symlink_to(folder / "big.csv")
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(storage)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["rows"] != rows:
        raise SystemExit(f"{mode} stored {result['rows']} rows, expected {rows}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "STORAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_csv(folder / "big.csv", args.rows)
        size_mib = (folder / "big.csv").stat().st_size / 2**20
        print(f"{args.rows} rows, CSV {size_mib:.1f} MiB")
        results = {
            mode: measure(mode, args.rows, folder) for mode in ("baseline", "load", "context")
        }
    base = results["baseline"]
    print(f"{'path':<10} {'seconds':>8} {'rows/s':>10} {'peak MiB':>9} {'time x':>7} {'RSS x':>6}")
    for mode, r in results.items():
        print(
            f"{mode:<10} {r['seconds']:>8.2f} {r['rows'] / r['seconds']:>10,.0f} "
            f"{r['peak_mib']:>9.0f} {r['seconds'] / base['seconds']:>7.2f} "
            f"{r['peak_mib'] / base['peak_mib']:>6.2f}"
        )


if __name__ == "__main__":
    main()
