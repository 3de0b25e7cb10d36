"""How an accepted ontology drives a project's storage (used by the API, flows, twin and ML).

* `plan_ontology` / `apply_ontology`: compile the ontology (`compile_schema`, seeded with
  the store's current schema so table and column names never change), merge it into that
  schema *additively* (tables and columns the ontology no longer mentions stay, with their
  data), and apply it. A change that would lose data (a new key, a changed column type on a
  table holding rows) is refused unless forced; such tables are rebuilt empty and reloaded
  from the raw area. On an empty table the same change loses nothing and just happens.
* `load_raw`: the records of the raw area (`raw_<source>`) go into the ontology-shaped
  tables of the classes extracted from that source, for tables that were just created or
  rebuilt (loading into existing tables could overwrite rows written by class since).
* `write_class`: ``storage.write`` with ``class:``: map records through the mapping, refuse
  the whole call when any record violates the ontology (with a report), else write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from domain.raw_area import raw_records, raw_sources
from ontology.compile import SchemaMapping, compile_schema
from ontology.model import OntologyClass, OntologyModel
from ontology.rows import Lookup, RejectedRow, map_records, row_mapper
from storage_plugins.base import StoragePlugin
from storage_plugins.migrate import Change, SchemaChange
from storage_plugins.query import Filter
from storage_plugins.schema import Table, TabularSchema

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


# --------------------------------------------------------------------------- loading


def load_raw(
    store: StoragePlugin, model: OntologyModel, mapping: SchemaMapping, tables: set[str]
) -> LoadReport:
    """Map the raw records of every extracted class whose table is in `tables` and write them.

    Records that do not fit the ontology are counted and sampled in the report (their rows
    are not written); the others are upserted batch by batch, so a reload is idempotent.
    """
    report = LoadReport()
    sources = raw_sources(store)
    for cls in _loadable(model, mapping, sources, tables):
        assert cls.source is not None  # _loadable keeps extracted classes only
        mapper = row_mapper(mapping, cls.iri, unknown="ignore",
                            lookup=store_lookup(store, mapping))
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


def tables_to_load(
    store: StoragePlugin, model: OntologyModel, mapping: SchemaMapping, tables: set[str]
) -> set[str]:
    """Those of `tables` that `load_raw` would fill: an extracted class's table whose source
    has a raw table (empty when there is nothing to load, so no load needs to run)."""
    sources = raw_sources(store)
    return {
        mapping.class_mapping(cls.iri).table
        for cls in _loadable(model, mapping, sources, tables)
    }


def _loadable(
    model: OntologyModel, mapping: SchemaMapping, sources: dict[str, Table], tables: set[str]
) -> list[OntologyClass]:
    matching = {d for p in model.object_properties if p.match_on for d in p.domain}
    # classes that refer to others by a name or e-mail load after them (they look them up)
    return sorted(
        (
            cls
            for cls in model.classes
            if cls.source is not None
            and cls.column is None
            and cls.source in sources
            and mapping.class_mapping(cls.iri).table in tables
        ),
        key=lambda cls: cls.iri in matching,
    )


def store_lookup(store: StoragePlugin, mapping: SchemaMapping) -> Lookup:
    """Finds stored rows by a unique attribute (a name, an e-mail) and returns their keys:
    the row mapper's lookup for references that hold such an attribute instead of a key."""

    def lookup(table: str, column: str, values: list[Any]) -> dict[Any, list[Any]]:
        key = next(t for t in mapping.tabular.tables if t.name == table).primary_key
        found: dict[Any, list[Any]] = {}
        for start in range(0, len(values), 500):
            page = store.read(table, where=[Filter(column, "in", values[start:start + 500])],
                              columns=[column, *key])
            for row in page.rows:
                found[row[column]] = [row[c] for c in key]
        return found

    return lookup


def _is_link(mapping: SchemaMapping, table: str) -> bool:
    found = next((t for t in mapping.tabular.tables if t.name == table), None)
    return found is not None and found.kind == "link"


# --------------------------------------------------------------------------- writes by class


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
    mapped = map_records(mapping, cm.class_iri, records, unknown=unknown,
                         lookup=store_lookup(store, mapping))
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
    "apply_ontology",
    "load_raw",
    "merge_schema",
    "plan_ontology",
    "tables_to_load",
    "write_class",
]
