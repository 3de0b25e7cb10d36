"""How an accepted ontology drives a project's storage, shared by the API and the workers.

* `plan_ontology` / `apply_ontology`: compile the ontology (`compile_schema`, seeded with
  the store's current schema so table and column names never change), merge it into that
  schema *additively* (tables and columns the ontology no longer mentions stay, with their
  data), and apply it. A change that would lose data (a new key, a changed column type on a
  table holding rows) is refused unless forced; such tables are rebuilt empty and reloaded
  from the raw area. On an empty table the same change loses nothing and just happens.
* `load_raw`: the records of the raw area (`raw_<source>`) go into the ontology-shaped
  tables of the classes extracted from that source, for tables that were just created or
  rebuilt (loading into existing tables could overwrite rows written by class since).
* `publish` / `published`: the accepted ontology (Turtle) and its compiled mapping are kept
  in the project's storage object under ``_mimir/ontologies/<name>/``, so a worker (a process
  or a pod without access to the metadata DB) can map and write records by class.
* `write_class`: ``storage.write`` with ``class:``: map records through the mapping, refuse
  the whole call when any record violates the ontology (with a report), else write.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import fsspec

from flows.storage_binding import RAW_META, RAW_PREFIX
from ontology.compile import SchemaMapping, compile_schema
from ontology.model import OntologyModel
from ontology.rows import RejectedRow, map_records, row_mapper
from storage_plugins.base import StoragePlugin
from storage_plugins.migrate import Change, SchemaChange
from storage_plugins.schema import Table, TabularSchema

ONTOLOGY_DIR = "_mimir/ontologies"
MAPPING_FILE = "mapping.json"
TURTLE_FILE = "current.ttl"
LOAD_BATCH = 5000
REPORT_LIMIT = 20


class BreakingSchemaChange(ValueError):
    """Applying the ontology would lose or invalidate stored data; nothing was changed."""

    def __init__(self, steps: list[Change]) -> None:
        self.steps = steps
        shown = "; ".join(str(s) for s in steps[:10])
        super().__init__(
            f"the ontology needs {len(steps)} breaking storage change(s): {shown}. "
            "Pass force=true to rebuild those tables (they are reloaded from the raw area; "
            "rows written by class since are lost)."
        )


class ClassRowsRejected(ValueError):
    """Records written by class violate the ontology; nothing of the call was written."""

    def __init__(self, class_name: str, rejected: list[RejectedRow], total: int) -> None:
        self.rejected = rejected
        shown = "; ".join(
            f"row {r.row} field {r.field or '(record)'}: {r.reason}"
            + (f" (value {r.value})" if r.value is not None else "")
            for r in rejected[:REPORT_LIMIT]
        )
        super().__init__(
            f"{len(rejected)} of {total} {class_name} record(s) rejected, nothing written: {shown}"
        )


@dataclass
class OntologyPlan:
    """What applying an ontology to a store will do (computed without changing anything)."""

    mapping: SchemaMapping
    desired: TabularSchema
    change: SchemaChange

    @property
    def rebuilt(self) -> set[str]:
        """Tables the apply creates or recreates (empty afterwards, so they get raw data)."""
        return {
            c.table for c in self.change.changes if c.kind in ("create_table", "recreate_table")
        }


@dataclass
class LoadReport:
    """What `load_raw` moved from the raw area into ontology tables."""

    rows: dict[str, int] = field(default_factory=dict)
    records: int = 0
    rejected: int = 0
    rejected_sample: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- schema


def merge_schema(current: TabularSchema, compiled: TabularSchema) -> TabularSchema:
    """`current` with the compiled tables added or widened, never narrowed.

    A compiled table that already exists keeps the stored columns the ontology no longer
    mentions (a deleted or renamed property leaves its column and data in place), unless its
    key changed: then the compiled table replaces it (a breaking change, see `plan_ontology`).
    """
    compiled_by_name = {t.name: t for t in compiled.tables}
    tables: list[Table] = []
    for table in current.tables:
        new = compiled_by_name.get(table.name)
        if new is None:
            tables.append(table)
            continue
        if new.primary_key == table.primary_key:
            names = set(new.column_names)
            kept = [c for c in table.columns if c.name not in names and c.nullable]
            if kept:
                data = new.model_dump()
                data["columns"] = [*data["columns"], *(c.model_dump() for c in kept)]
                new = Table.model_validate(data)
        tables.append(new)
    known = set(current.table_names)
    tables += [t for t in compiled.tables if t.name not in known]
    return TabularSchema(tables=tables)


def plan_ontology(
    store: StoragePlugin, model: OntologyModel, *, force: bool = False
) -> OntologyPlan:
    """Compile `model` against the store's schema and plan the migration.

    Raises `CompileError` (the ontology cannot become tables) and `BreakingSchemaChange`
    (unless `force`).
    """
    current = store.schema()
    mapping = compile_schema(model, previous=current)
    desired = merge_schema(current, mapping.tabular)
    change = store.plan_schema(desired)
    existing = set(current.table_names)
    harmful = [c for c in change.breaking if c.table in existing and store.count(c.table) > 0]
    if harmful and not force:
        raise BreakingSchemaChange(harmful)
    return OntologyPlan(mapping=mapping, desired=desired, change=change)


def apply_ontology(store: StoragePlugin, plan: OntologyPlan) -> SchemaChange:
    """Carry out a plan. Its breaking steps were allowed when it was made (forced, or only
    on empty tables, where rebuilding loses nothing)."""
    return store.apply_schema(plan.desired, force=bool(plan.change.breaking))


# --------------------------------------------------------------------------- raw area


def raw_sources(store: StoragePlugin) -> dict[str, Table]:
    """The raw tables of the store by source name (`raw:<source>` tables)."""
    out: dict[str, Table] = {}
    for table in store.schema().tables:
        if table.source and table.source.startswith("raw:") and table.name.startswith(RAW_PREFIX):
            out[table.source[4:]] = table
    return out


def raw_records(
    store: StoragePlugin, table: Table, *, batch_size: int = LOAD_BATCH
) -> Iterator[list[dict[str, Any]]]:
    """Batches of a raw table's records with their original field names (meta columns off)."""
    names = {c.name: (c.description or c.name) for c in table.columns if c.name not in RAW_META}
    columns = list(names)
    if not columns:
        return
    for batch in store.iter_batches(
        table.name, columns=columns, order_by=["mimir_ingested_at"], batch_size=batch_size
    ):
        yield [{names[k]: v for k, v in row.items() if v is not None} for row in batch]


def read_raw_sample(store: StoragePlugin, limit: int) -> dict[str, list[dict[str, Any]]]:
    """Up to `limit` distinct records per raw source (what extraction profiles).

    The raw area keeps every ingested copy; re-ingesting the same record must not make a
    unique column look duplicated, so exact repeats are dropped.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for source, table in sorted(raw_sources(store).items()):
        seen: set[str] = set()
        records: list[dict[str, Any]] = []
        for batch in raw_records(store, table):
            for record in batch:
                fingerprint = json.dumps(record, sort_keys=True, default=str)
                if fingerprint not in seen:
                    seen.add(fingerprint)
                    records.append(record)
            if len(records) >= limit:
                break
        if records:
            out[source] = records[:limit]
    return out


def load_raw(
    store: StoragePlugin, model: OntologyModel, mapping: SchemaMapping, tables: set[str]
) -> LoadReport:
    """Map the raw records of every extracted class whose table is in `tables` and write them.

    Records that do not fit the ontology are counted and sampled in the report (their rows
    are not written); the others are upserted batch by batch, so a reload is idempotent.
    """
    report = LoadReport()
    sources = raw_sources(store)
    for cls in model.classes:
        if cls.source is None or cls.column is not None or cls.source not in sources:
            continue
        if mapping.class_mapping(cls.iri).table not in tables:
            continue
        mapper = row_mapper(mapping, cls.iri, unknown="ignore")
        offset = 0
        for batch in raw_records(store, sources[cls.source]):
            mapped = mapper.map(batch)
            for table, rows in sorted(mapped.rows.items(), key=lambda kv: _is_link(mapping, kv[0])):
                written = store.write(table, rows, mode="upsert").rows
                report.rows[table] = report.rows.get(table, 0) + written
            report.records += mapped.accepted
            report.rejected += len(mapped.rejected)
            for bad in mapped.rejected:
                if len(report.rejected_sample) < REPORT_LIMIT:
                    report.rejected_sample.append(
                        {"source": cls.source, **bad.model_dump(), "row": bad.row + offset}
                    )
            offset += len(batch)
    return report


def _is_link(mapping: SchemaMapping, table: str) -> bool:
    found = next((t for t in mapping.tabular.tables if t.name == table), None)
    return found is not None and found.kind == "link"


# --------------------------------------------------------------------------- published copy


def _folder(storage_url: str, name: str | None = None) -> tuple[Any, str]:
    fs, root = fsspec.core.url_to_fs(storage_url)
    folder = f"{root.rstrip('/')}/{ONTOLOGY_DIR}"
    return fs, f"{folder}/{name}" if name else folder


def _write_text(fs: Any, path: str, text: str) -> None:
    """Replace a file as a whole: local files via rename, object stores by a single put."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    if "file" in protocols or "local" in protocols:
        temporary = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        with fs.open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        fs.mv(temporary, path)
    else:
        fs.pipe_file(path, text.encode("utf-8"))


def publish(storage_url: str, name: str, version: int, turtle: str, mapping: SchemaMapping) -> None:
    """Store the accepted ontology and its mapping where workers find them."""
    fs, folder = _folder(storage_url, name)
    fs.makedirs(folder, exist_ok=True)
    document = {"ontology": name, "version": version, "mapping": mapping.model_dump(mode="json")}
    _write_text(fs, f"{folder}/{MAPPING_FILE}", json.dumps(document))
    _write_text(fs, f"{folder}/{TURTLE_FILE}", turtle)


def unpublish(storage_url: str, name: str) -> None:
    """Remove an ontology's published copy (its tables and data stay)."""
    fs, folder = _folder(storage_url, name)
    if fs.exists(folder):
        fs.rm(folder, recursive=True)


@dataclass(frozen=True)
class Published:
    """An ontology as a worker sees it: name, version, mapping (and where its Turtle is)."""

    name: str
    version: int
    mapping: SchemaMapping
    turtle_path: str


def published(storage_url: str, name: str | None = None) -> list[Published]:
    """The published ontologies of a project (one, when `name` is given), by name."""
    fs, folder = _folder(storage_url)
    if not fs.exists(folder):
        return []
    names = (
        [name]
        if name
        else sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(folder, detail=False))
    )
    out = []
    for entry in names:
        path = f"{folder}/{entry}/{MAPPING_FILE}"
        if not fs.exists(path):
            continue
        document = json.loads(fs.cat_file(path).decode("utf-8"))
        out.append(
            Published(
                name=document["ontology"],
                version=int(document["version"]),
                mapping=SchemaMapping.model_validate(document["mapping"]),
                turtle_path=f"{folder}/{entry}/{TURTLE_FILE}",
            )
        )
    return out


def published_turtle(storage_url: str, entry: Published) -> str:
    """The Turtle text of a published ontology."""
    fs, _ = _folder(storage_url)
    return str(fs.cat_file(entry.turtle_path).decode("utf-8"))


# --------------------------------------------------------------------------- writes by class


def find_class(
    entries: list[Published], class_ref: str, ontology: str | None = None
) -> tuple[Published, str]:
    """The published ontology holding `class_ref` and the class's IRI; ValueError if none or
    several do (name the ontology then)."""
    from ontology.errors import OntologyError

    candidates = [e for e in entries if ontology is None or e.name == ontology]
    if ontology is not None and not candidates:
        have = ", ".join(e.name for e in entries) or "(none)"
        raise ValueError(f"the project has no accepted ontology {ontology!r}; it has: {have}")
    if not candidates:
        raise ValueError(
            "the project has no accepted ontology yet: write with `source:` (raw area) until "
            "extraction has built one"
        )
    found: list[tuple[Published, str]] = []
    for entry in candidates:
        try:
            found.append((entry, entry.mapping.class_mapping(class_ref).class_iri))
        except OntologyError:
            continue
    if not found:
        known = sorted({cm.name for e in candidates for cm in e.mapping.classes})
        raise ValueError(f"unknown class {class_ref!r}; known: {', '.join(known) or '(none)'}")
    if len(found) > 1:
        names = ", ".join(e.name for e, _ in found)
        raise ValueError(f"class {class_ref!r} is in several ontologies ({names}); set `ontology:`")
    return found[0]


def write_class(
    store: StoragePlugin,
    mapping: SchemaMapping,
    class_ref: str,
    records: Iterable[Mapping[str, Any]],
    *,
    mode: Literal["insert", "upsert"] = "upsert",
    unknown: Literal["reject", "ignore"] = "reject",
) -> dict[str, Any]:
    """Map `records` of one class and write them; `ClassRowsRejected` when any record is bad.

    Every record is mapped and checked before anything is written, so a type violation
    never leaves part of the call behind; each table is then written in one atomic call.
    """
    records = list(records)
    cm = mapping.class_mapping(class_ref)
    mapped = map_records(mapping, cm.class_iri, records, unknown=unknown)
    if mapped.rejected:
        raise ClassRowsRejected(cm.name, mapped.rejected, len(records))
    stored = set(store.tables())
    missing = sorted(t for t in mapped.rows if t not in stored)
    if missing:
        raise ValueError(
            f"tables {missing} of class {cm.name} are missing; accept the ontology again"
        )
    written: dict[str, int] = {}
    for table, rows in sorted(mapped.rows.items(), key=lambda kv: _is_link(mapping, kv[0])):
        written[table] = store.write(table, rows, mode=mode).rows
    return {"class": cm.name, "table": cm.table, "rows": mapped.accepted, "tables": written}


__all__ = [
    "BreakingSchemaChange",
    "ClassRowsRejected",
    "LoadReport",
    "OntologyPlan",
    "Published",
    "apply_ontology",
    "find_class",
    "load_raw",
    "merge_schema",
    "plan_ontology",
    "publish",
    "published",
    "published_turtle",
    "raw_sources",
    "read_raw_sample",
    "unpublish",
    "write_class",
]
