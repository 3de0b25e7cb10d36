"""Behaviour specific to the object-store plugin: plain Delta tables, retries, exit safety."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
import threading
from datetime import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import s3fs
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError

from storage_plugins.errors import WriteConflict
from storage_plugins.objectstore import ObjectStoreConfig, ObjectStorePlugin
from storage_plugins.objectstore.files import delta_options, make_filesystem
from storage_plugins.query import Filter
from storage_plugins.schema import Column, Table, TabularSchema
from tests.storage.backends import S3_BUCKET, S3_KEY, S3_SECRET

ITEM = Table(
    name="item",
    columns=[
        Column(name="id", type="integer", nullable=False),
        Column(name="label", type="string"),
        Column(name="price", type="decimal", precision=12, scale=2),
        Column(name="opens", type="time"),
    ],
    primary_key=["id"],
)


@pytest.fixture
def store(tmp_path: Path) -> ObjectStorePlugin:
    plugin = ObjectStorePlugin(ObjectStoreConfig(url=str(tmp_path / "store")))
    plugin.apply_schema(TabularSchema(tables=[ITEM]))
    return plugin


def _rows(start: int, stop: int, label: str = "v1") -> list[dict[str, Any]]:
    return [{"id": i, "label": f"{label}-{i}"} for i in range(start, stop)]


def _table_uri(store: ObjectStorePlugin, name: str = "item") -> str:
    return store._table_uri(name)


def test_tables_are_plain_delta_read_by_polars(store: ObjectStorePlugin) -> None:
    store.write("item", [{"id": 1, "label": "a", "price": 120.5, "opens": time(9, 30)},
                         {"id": 2, "label": "b"}])
    store.write("item", [{"id": 2, "label": "b2"}], mode="upsert")
    uri = _table_uri(store)
    frame = pl.read_delta(uri).sort("id")  # an independent reader following the Delta log
    assert frame["id"].to_list() == [1, 2]
    assert frame["label"].to_list() == ["a", "b2"]
    assert str(frame["price"].to_list()[0]) == "120.50"
    assert frame["opens"].to_list() == [(9 * 3600 + 30 * 60) * 1_000_000, None]  # µs of day
    first = pl.read_delta(uri, version=1)  # Delta time travel, outside Mimir
    assert first.sort("id")["label"].to_list() == ["a", "b"]
    assert DeltaTable(uri).history()[0]["mimir.operation"] == "upsert"


def test_s3_tables_are_plain_delta(s3_endpoint: str) -> None:
    cfg = ObjectStoreConfig(url=f"s3://{S3_BUCKET}/plain-delta", endpoint_url=s3_endpoint,
                            key=S3_KEY, secret=S3_SECRET)
    with ObjectStorePlugin(cfg) as plugin:
        plugin.apply_schema(TabularSchema(tables=[ITEM]))
        plugin.write("item", _rows(0, 5))
        plugin.delete("item", where=[Filter("id", "eq", 3)])
        uri = _table_uri(plugin)
    credentials = {k: v for k, v in delta_options(cfg).items() if k.startswith("AWS_")}
    frame = pl.read_delta(uri, storage_options=credentials)
    assert sorted(frame["id"].to_list()) == [0, 1, 2, 4]


def test_concurrent_upserts_are_retried(store: ObjectStorePlugin) -> None:
    store.write("item", _rows(0, 20))
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(writer: int) -> None:
        other = ObjectStorePlugin(store.config)
        try:
            start.wait()
            for round_ in range(3):
                other.write("item", _rows(0, 20, f"w{writer}r{round_}"), mode="upsert")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.count("item") == 20
    history = store.table_history("item")
    assert [e.operation for e in history].count("upsert") == 12  # no lost commit
    labels = {r["label"].split("-")[0] for r in store.read("item").rows}
    assert len(labels) == 1  # the last upsert won as a whole


def test_commit_conflicts_are_bounded(
    store: ObjectStorePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    original = DeltaTable.merge

    def always_conflict(self: DeltaTable, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        raise CommitFailedError("simulated concurrent commit")

    limited = ObjectStorePlugin(store.config.model_copy(update={"max_commit_attempts": 3}))
    monkeypatch.setattr(DeltaTable, "merge", always_conflict)
    with pytest.raises(WriteConflict, match="3 times"):
        limited.write("item", _rows(0, 2), mode="upsert")
    assert calls["n"] == 3
    monkeypatch.setattr(DeltaTable, "merge", original)
    assert limited.count("item") == 0 and store.table_history("item")[0].operation == "create"


def _insert_from_process(url: str, writer: int) -> None:
    plugin = ObjectStorePlugin(ObjectStoreConfig(url=url))
    for batch in range(4):
        base = writer * 1000 + batch * 100
        plugin.write("item", _rows(base, base + 50, f"w{writer}"))


def test_writers_in_separate_processes(store: ObjectStorePlugin) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_insert_from_process, args=(store.config.url, w))
             for w in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert store.count("item") == 3 * 4 * 50
    for writer in range(3):
        assert store.count("item", where=[Filter("label", "like", f"w{writer}-%")]) == 200


_EXIT_SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from storage_plugins.objectstore import ObjectStoreConfig, ObjectStorePlugin
    from storage_plugins.schema import Column, Table, TabularSchema

    t = Table(name="t", columns=[Column(name="id", type="integer", nullable=False),
                                 Column(name="v", type="string")], primary_key=["id"])
    p = ObjectStorePlugin(ObjectStoreConfig(url=sys.argv[1]))
    p.apply_schema(TabularSchema(tables=[t]))
    p.write("t", [{"id": i, "v": str(i)} for i in range(100)], mode="upsert")
    assert p.count("t") == 100
    assert len(p.read("t", as_of=datetime.now(UTC)).rows) == 100
    assert sum(len(b) for b in p.iter_batches("t")) == 100
    p.delete("t", where=[])
    print("done")
    """
)


def test_processes_exit_cleanly(tmp_path: Path) -> None:
    """delta-rs readers can abort a process at exit (STACK_NOTES); ours never do."""
    codes = []
    for run in range(8):
        done = subprocess.run(
            [sys.executable, "-c", _EXIT_SCRIPT, str(tmp_path / f"exit-{run}")],
            capture_output=True, text=True, timeout=120, check=False,
        )
        codes.append((done.returncode, done.stdout.strip(), done.stderr[-300:]))
    assert codes == [(0, "done", "")] * 8


def test_s3_settings_and_missing_bucket(s3_endpoint: str) -> None:
    cfg = ObjectStoreConfig(
        url="s3://no-such-bucket/p", endpoint_url=s3_endpoint, key=S3_KEY,
        secret=S3_SECRET, secret_options={"session_token": "tok-SECRET-123"},
    )
    shown = str(cfg.redacted())
    assert S3_SECRET not in shown and "tok-SECRET-123" not in shown
    fs, root = make_filesystem(cfg.model_copy(update={"secret_options": {}}))
    assert isinstance(fs, s3fs.S3FileSystem) and root == "no-such-bucket/p"
    options = delta_options(cfg)
    assert options["AWS_ENDPOINT_URL"] == s3_endpoint and options["AWS_ALLOW_HTTP"] == "true"
    health = ObjectStorePlugin(cfg.model_copy(update={"secret_options": {}})).health()
    assert not health.ok and "no-such-bucket" in (health.error or "")
