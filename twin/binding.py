"""A twin's place in a project: its mappings, its view over the project's store, sync points.

A twin reads the project's storage through the mappings of its ontologies that the API
published into the storage object (`domain.published`), so a worker needs no metadata DB;
the store is opened the one way every layer opens it (`domain.stores`). The sync point of
the `sync-twin` flow (time, rows per class, mapping issues) is kept beside the published
ontologies, ``_mimir/twins/<twin>/sync.json``, where the API reads the latest one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import fsspec

from domain.published import published
from domain.stores import open_project_store
from ontology.compile import SchemaMapping
from twin.view import TwinView

TWIN_DIR = "_mimir/twins"
SYNC_FILE = "sync.json"


class TwinMappingMissing(LookupError):
    """An ontology of the twin has no published mapping (not accepted yet, or deleted)."""


def twin_mappings(storage_url: str, ontologies: list[str]) -> list[SchemaMapping]:
    """The published mappings of the twin's ontologies, in the twin's order."""
    found = {p.name: p.mapping for p in published(storage_url)}
    missing = [name for name in ontologies if name not in found]
    if missing:
        have = ", ".join(sorted(found)) or "(none)"
        raise TwinMappingMissing(
            f"ontologies {missing} have no accepted, published version in this project "
            f"(published: {have})")
    return [found[name] for name in ontologies]


@contextmanager
def open_twin_view(project: str, storage_url: str, ontologies: list[str], *,
                   configured: bool | None = None, as_of: datetime | None = None
                   ) -> Iterator[TwinView]:
    """The twin's view over the project's store (closed afterwards), as of `as_of` when
    given; `configured` as in `domain.stores.open_project_store`."""
    mappings = twin_mappings(storage_url, ontologies)
    store = open_project_store(project, storage_url, configured=configured)
    try:
        yield TwinView(store, mappings, as_of=as_of)
    finally:
        store.close()


def sync_point(view: TwinView) -> dict[str, Any]:
    """Check the mappings against storage and count every class's rows."""
    schema = view.store.schema()
    stored = {t.name: t for t in schema.tables}
    issues: list[str] = []
    counts: dict[str, int] = {}
    for mapping in view.mappings:
        for table in mapping.tabular.tables:
            have = stored.get(table.name)
            if have is None:
                issues.append(f"table {table.name} is missing from storage")
                continue
            missing = sorted(set(table.column_names) - set(have.column_names))
            if missing:
                issues.append(f"table {table.name} lacks columns {missing}")
        for cm in mapping.classes:
            if cm.table in stored:
                counts[cm.name] = view.store.count(cm.table)
    return {"at": datetime.now(UTC).isoformat(), "ok": not issues, "issues": issues,
            "counts": counts}


def _path(storage_url: str, twin: str) -> tuple[Any, str]:
    fs, root = fsspec.core.url_to_fs(storage_url)
    return fs, f"{root.rstrip('/')}/{TWIN_DIR}/{twin}/{SYNC_FILE}"


def write_sync_point(storage_url: str, twin: str, point: dict[str, Any]) -> None:
    """Record the sync point where the API reads it."""
    fs, path = _path(storage_url, twin)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(path, json.dumps(point).encode("utf-8"))


def read_sync_point(storage_url: str, twin: str) -> dict[str, Any] | None:
    """The twin's latest sync point, if it was ever synced."""
    fs, path = _path(storage_url, twin)
    if not fs.exists(path):
        return None
    return cast(dict[str, Any], json.loads(fs.cat_file(path).decode("utf-8")))


def forget_sync_point(storage_url: str, twin: str) -> None:
    """Remove a deleted twin's sync record."""
    fs, path = _path(storage_url, twin)
    folder = path.rsplit("/", 1)[0]
    if fs.exists(folder):
        fs.rm(folder, recursive=True)
