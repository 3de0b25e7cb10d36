"""What anomaly detection reads: a class's numeric attributes with the peer groupings and time
series context that the ontology offers, read through the storage interface.

The ontology is what makes the peer groups possible: a reading's own columns carry no
"kind", but its reference to a sensor does, and the mapping says which column holds that
reference and which table holds the sensor. Each categorical attribute of the class and of
every class it refers to (one hop) becomes a candidate grouping; `ml.anomalies` keeps the one
that measurably separates the values. A class with a timestamp and a reference gets per-owner
time series (a reading against its own sensor's history).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np

from ml.anomalies import AttributeData
from ontology.compile import ClassMapping, SchemaMapping
from ontology.r2rml import instance_iri
from storage_plugins.base import StoragePlugin
from storage_plugins.schema import ColumnType

NUMERIC = {ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.DOUBLE}
CATEGORICAL = {ColumnType.STRING, ColumnType.BOOLEAN}
TIMESTAMPS = {ColumnType.DATETIME, ColumnType.DATE}
MAX_ROWS = 2_000_000  # detection reads a class whole; beyond this it refuses rather than swap


class TooManyRows(ValueError):
    """The class is larger than detection reads in one run."""


def _rows(store: StoragePlugin, table: str, columns: list[str]) -> Iterator[dict[str, Any]]:
    count = 0
    for batch in store.iter_batches(table, columns=columns, batch_size=50_000):
        count += len(batch)
        if count > MAX_ROWS:
            raise TooManyRows(f"table {table!r} has more than {MAX_ROWS} rows")
        yield from batch


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return float("nan")
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _moment(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return float(value.toordinal())
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


def _key_text(row: dict[str, Any], columns: list[str]) -> str | None:
    values = [row.get(c) for c in columns]
    return None if any(v is None for v in values) else "|".join(str(v) for v in values)


def _own_fields(cm: ClassMapping, types: set[ColumnType]) -> list[tuple[str, str]]:
    """(property local name, column) of the class's own column attributes of these types."""
    return [
        (f.names[0] if f.names else f.columns[0], f.columns[0])
        for f in cm.fields
        if f.kind == "column"
        and f.table == cm.table
        and f.type in types
        and f.columns[0] not in cm.key_columns
    ]


def numeric_attribute_names(mapping: SchemaMapping, class_ref: str) -> list[str]:
    """The numeric attributes detection looks at by default."""
    return [name for name, _ in _own_fields(mapping.class_mapping(class_ref), NUMERIC)]


def candidate_groupings(mapping: SchemaMapping, class_ref: str) -> list[str]:
    """The grouping names `class_attributes` offers for a class, known from the mapping alone
    (so a grouping override can be checked before any data is read)."""
    cm = mapping.class_mapping(class_ref)
    names = [name for name, _ in _own_fields(cm, CATEGORICAL)]
    for ref in cm.fields:
        if ref.kind != "reference" or ref.table != cm.table or not ref.target:
            continue
        ref_name = ref.names[0] if ref.names else ref.columns[0]
        target = mapping.class_mapping(ref.target)
        names += [f"{ref_name}.{name}" for name, _ in _own_fields(target, CATEGORICAL)]
    return names


def class_attributes(
    store: StoragePlugin,
    mapping: SchemaMapping,
    class_ref: str,
    attributes: list[str] | None = None,
) -> list[AttributeData]:
    """Every (or the named) numeric attribute of a class, with groupings and series context."""
    cm = mapping.class_mapping(class_ref)
    numeric = _own_fields(cm, NUMERIC)
    if attributes is not None:
        unknown = sorted(set(attributes) - {name for name, _ in numeric})
        if unknown:
            known = ", ".join(name for name, _ in numeric) or "none"
            raise ValueError(
                f"{cm.name} has no numeric attribute {', '.join(unknown)} (numeric: {known})"
            )
        numeric = [(n, c) for n, c in numeric if n in attributes]
    if not numeric:
        return []
    categorical = _own_fields(cm, CATEGORICAL)
    stamps = _own_fields(cm, TIMESTAMPS)
    references = [
        f for f in cm.fields if f.kind == "reference" and f.table == cm.table and f.target
    ]
    columns = sorted(
        set(cm.key_columns)
        | {c for _, c in numeric + categorical + stamps[:1]}
        | {c for f in references for c in f.columns}
    )
    rows = list(_rows(store, cm.table, columns))
    entities = [instance_iri(mapping, cm.class_iri, [r[k] for k in cm.key_columns]) for r in rows]

    groupings: dict[str, list[Any]] = {
        name: [r.get(column) for r in rows] for name, column in categorical
    }
    owners: list[str | None] | None = None
    for ref in references:
        target = mapping.class_mapping(ref.target or "")
        ref_name = ref.names[0] if ref.names else ref.columns[0]
        target_fields = _own_fields(target, CATEGORICAL)
        keys = [_key_text(r, ref.columns) for r in rows]
        if owners is None and stamps:
            owners = keys
        if not target_fields:
            continue
        by_key = {
            _key_text(t, target.key_columns): t
            for t in _rows(
                store, target.table, [*target.key_columns, *(c for _, c in target_fields)]
            )
        }
        for name, column in target_fields:
            groupings[f"{ref_name}.{name}"] = [
                by_key[k].get(column) if k in by_key else None for k in keys
            ]
    times = [_moment(r.get(stamps[0][1])) for r in rows] if stamps and owners else None
    return [
        AttributeData(
            name=name,
            entities=entities,
            values=np.array([_number(r.get(column)) for r in rows], dtype=float),
            groupings=groupings,
            owners=owners if times else None,
            times=times,
        )
        for name, column in numeric
    ]
