"""Behaviour specific to the object-store plugin (layout, copy-on-write, commit protocol)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import s3fs

from storage_plugins.errors import StorageError
from storage_plugins.objectstore import ObjectStoreConfig, ObjectStorePlugin
from storage_plugins.objectstore.store import (
    CommitConflict,
    VersionLog,
    make_filesystem,
    put_exclusive,
)
from storage_plugins.query import Filter
from storage_plugins.schema import Column, Table, TabularSchema
from tests.storage.backends import S3_BUCKET, S3_KEY, S3_SECRET

ITEM = Table(
    name="item",
    columns=[
        Column(name="id", type="integer", nullable=False),
        Column(name="label", type="string"),
    ],
    primary_key=["id"],
)


@pytest.fixture
def store(tmp_path: Path) -> ObjectStorePlugin:
    plugin = ObjectStorePlugin(ObjectStoreConfig(url=str(tmp_path / "store"), keep_versions=3))
    plugin.apply_schema(TabularSchema(tables=[ITEM]))
    return plugin


def _manifest(store: ObjectStorePlugin) -> tuple[str, dict[str, Any]]:
    state = store._state()
    tdir = state.dirs["item"]
    return tdir, store._table_log(tdir).latest().body


def _rows(start: int, stop: int, label: str = "v1") -> list[dict[str, Any]]:
    return [{"id": i, "label": f"{label}-{i}"} for i in range(start, stop)]


def test_layout_is_plain_parquet(store: ObjectStorePlugin, tmp_path: Path) -> None:
    store.write("item", _rows(0, 10))
    root = tmp_path / "store"
    assert sorted(p.name for p in (root / "_mimir/schema").iterdir()) == ["v000000000001.json"]
    tdir, body = _manifest(store)
    assert tdir.startswith("tables/item/")
    files = [root / tdir / f["path"] for f in body["files"]]
    assert len(files) == 1 and files[0].suffix == ".parquet"
    table = pq.read_table(files[0])  # any Parquet reader can read the data
    assert table.num_rows == 10
    assert table.schema.field("label").metadata == {b"mimir.type": b"string"}
    assert body["files"][0]["min"] == 0 and body["files"][0]["max"] == 9


def test_upsert_rewrites_only_affected_files(store: ObjectStorePlugin) -> None:
    for start in (0, 100, 200):
        store.write("item", _rows(start, start + 10))
    _, before = _manifest(store)
    assert len(before["files"]) == 3
    store.write("item", [{"id": 105, "label": "new"}, {"id": 500, "label": "x"}], mode="upsert")
    _, after = _manifest(store)
    old_paths = {f["path"] for f in before["files"]}
    kept = old_paths & {f["path"] for f in after["files"]}
    assert kept == {before["files"][0]["path"], before["files"][2]["path"]}
    assert after["removed"] == [before["files"][1]["path"]]
    assert store.count("item") == 31
    assert store.read("item", where=[Filter("id", "eq", 105)]).rows == [{"id": 105, "label": "new"}]


def test_untouched_files_are_never_opened(store: ObjectStorePlugin, tmp_path: Path) -> None:
    store.write("item", _rows(0, 10))
    store.write("item", _rows(100, 110))
    tdir, body = _manifest(store)
    (tmp_path / "store" / tdir / body["files"][0]["path"]).write_bytes(b"not parquet")
    # keys 100..105 lie outside the first file's key range: that file is skipped unread
    store.write("item", _rows(100, 106, "v2"), mode="upsert")
    with pytest.raises(StorageError, match="unreadable data"):
        store.count("item")


def test_old_versions_and_replaced_files_are_pruned(
    store: ObjectStorePlugin, tmp_path: Path
) -> None:
    store.write("item", _rows(0, 5))
    for round_ in range(6):
        store.write("item", _rows(0, 5, f"r{round_}"), mode="upsert")
    tdir, body = _manifest(store)
    folder = tmp_path / "store" / tdir
    versions = sorted(p.name for p in (folder / "_log").iterdir())
    assert versions == ["v000000000005.json", "v000000000006.json", "v000000000007.json"]
    data_files = {p.name for p in (folder / "data").iterdir()}
    assert len(data_files) == 3  # the live file and those of v5 and v6, still readable
    assert {Path(f["path"]).name for f in body["files"]} <= data_files
    assert store.read("item", columns=["label"], limit=1).rows == [{"label": "r5-0"}]


def test_commit_race_is_retried(store: ObjectStorePlugin, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write("item", _rows(0, 5))
    rival = ObjectStorePlugin(store.config)
    original = VersionLog.latest
    calls = {"n": 0}

    def stale_latest(self: VersionLog) -> Any:
        entry = original(self)
        calls["n"] += 1
        if calls["n"] == 1 and self.path.endswith("_log"):
            # another process commits right after we looked: our commit must lose and retry
            with monkeypatch.context() as inner:
                inner.setattr(VersionLog, "latest", original)
                monkeypatch.setattr(
                    "storage_plugins.objectstore.plugin.process_lock",
                    lambda fs, path: _NoLock(),
                )
                rival.write("item", _rows(50, 55))
        return entry

    monkeypatch.setattr(VersionLog, "latest", stale_latest)
    store.write("item", _rows(100, 105))
    monkeypatch.undo()
    assert store.count("item") == 15
    assert calls["n"] >= 2


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_put_exclusive_local_and_s3(tmp_path: Path, s3_endpoint: str) -> None:
    local, root = make_filesystem(ObjectStoreConfig(url=str(tmp_path)))
    put_exclusive(local, f"{root}/v1.json", b"one")
    with pytest.raises(CommitConflict):
        put_exclusive(local, f"{root}/v1.json", b"two")
    assert (tmp_path / "v1.json").read_bytes() == b"one"
    assert [p.name for p in tmp_path.iterdir()] == ["v1.json"]  # no temp file left
    remote, prefix = make_filesystem(
        ObjectStoreConfig(url=f"s3://{S3_BUCKET}/excl", endpoint_url=s3_endpoint,
                          key=S3_KEY, secret=S3_SECRET)
    )
    put_exclusive(remote, f"{prefix}/v1.json", b"one")
    with pytest.raises(CommitConflict):
        put_exclusive(remote, f"{prefix}/v1.json", b"two")
    assert remote.cat_file(f"{prefix}/v1.json") == b"one"


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


def test_s3_settings_and_missing_bucket(s3_endpoint: str) -> None:
    cfg = ObjectStoreConfig(
        url="s3://no-such-bucket/p", endpoint_url=s3_endpoint, key=S3_KEY,
        secret=S3_SECRET, secret_options={"session_token": "tok-SECRET-123"},
    )
    shown = json.dumps(cfg.redacted())
    assert S3_SECRET not in shown and "tok-SECRET-123" not in shown
    fs, root = make_filesystem(cfg.model_copy(update={"secret_options": {}}))
    assert isinstance(fs, s3fs.S3FileSystem) and root == "no-such-bucket/p"
    assert fs.config_kwargs["connect_timeout"] == 5.0 and fs.endpoint_url == s3_endpoint
    health = ObjectStorePlugin(cfg.model_copy(update={"secret_options": {}})).health()
    assert not health.ok and "no-such-bucket" in (health.error or "")
