"""Build a feature table (one row per entity) from the project's storage.

Reads go through the `StoragePlugin` interface only (`iter_batches`), so any backend works.
The frame's index is the entity id: the key value as text (several key columns joined by
``|``), the same text in every table so relationship pairs join without type surprises.

`feature_frame` is the seam other packages use: it turns *rows* (the class's own rows and
the related tables' rows, as mappings) into features, whether the rows come from storage or
from a what-if scenario that changed some values (`frame_from_rows`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from ml.features import FeaturePlan, Relationship
from ml.names import KEY_SEPARATOR
from ontology.compile import SchemaMapping
from storage_plugins.base import StoragePlugin
from storage_plugins.query import Filter

ENTITY = "entity"
READ_BATCH = 50_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Rows = list[dict[str, Any]]


def entity_id(values: Iterable[Any]) -> str | None:
    """The text id of a key (None when any part is missing)."""
    parts = []
    for value in values:
        if value is None:
            return None
        parts.append(str(value))
    return KEY_SEPARATOR.join(parts)


def _numeric(value: Any) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return (aware - _EPOCH).total_seconds() / 86400.0
    if isinstance(value, dt.date):
        return float((value - dt.date(1970, 1, 1)).days)
    return float(value)


def _categorical(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    return str(value)


def read_table(store: StoragePlugin, table: str, columns: list[str],
               where: list[Filter] | None = None) -> Rows:
    """All rows of `table` (only `columns`), read in batches."""
    rows: Rows = []
    for batch in store.iter_batches(table, columns=columns, where=where or [],
                                    batch_size=READ_BATCH):
        rows.extend(batch)
    return rows


def needed_tables(mapping: SchemaMapping, plan: FeaturePlan) -> dict[str, list[str]]:
    """Table → columns that `feature_frame` needs."""
    needed: dict[str, list[str]] = {}

    def want(table: str, cols: Iterable[str]) -> None:
        have = needed.setdefault(table, [])
        have.extend(c for c in cols if c not in have)

    own = [f.column for f in plan.features if f.source == "attribute" and f.column]
    want(plan.table, [*plan.key_columns, plan.target, *own])
    for rel in plan.relationships:
        want(rel.table, [*rel.entity_columns, *rel.related_columns])
        related = mapping.class_mapping(rel.related_class)
        attrs = [f.column for f in plan.features if f.relationship == rel.name and f.column]
        want(related.table, [*related.key_columns, *attrs])
    return needed


def read_rows(store: StoragePlugin, mapping: SchemaMapping, plan: FeaturePlan,
              entities: list[str] | None = None) -> dict[str, Rows]:
    """The rows `feature_frame` needs, from storage (optionally for some entities only)."""
    out: dict[str, Rows] = {}
    for table, cols in needed_tables(mapping, plan).items():
        where: list[Filter] = []
        if table == plan.table and entities is not None and len(plan.key_columns) == 1:
            key_type = store.describe(table).column(plan.key_columns[0]).type.value
            values = [int(e) if key_type == "integer" else e for e in entities]
            where = [Filter(plan.key_columns[0], "in", values)]
        out[table] = read_table(store, table, cols, where)
    return out


def _numeric_series(values: list[Any]) -> pd.Series:
    return pd.Series([_numeric(v) for v in values], dtype="float64")


def _relationship_features(
    plan: FeaturePlan, mapping: SchemaMapping, rel: Relationship, rows: dict[str, Rows],
    index: pd.Index,
) -> dict[str, pd.Series]:
    pair_rows = rows.get(rel.table, [])
    pairs = pd.DataFrame({
        ENTITY: [entity_id(r.get(c) for c in rel.entity_columns) for r in pair_rows],
        "related": [entity_id(r.get(c) for c in rel.related_columns) for r in pair_rows],
    }).dropna()
    wanted = [f for f in plan.features if f.relationship == rel.name]
    out: dict[str, pd.Series] = {}
    for f in wanted:
        if f.aggregate == "count":
            counts = pairs.groupby(ENTITY).size()
            out[f.name] = counts.reindex(index).fillna(0).astype("float64")
    attrs = [f for f in wanted if f.column]
    if not attrs:
        return out
    related = mapping.class_mapping(rel.related_class)
    related_rows = rows.get(related.table, [])
    values = pd.DataFrame({"related": [entity_id(r.get(c) for c in related.key_columns)
                                       for r in related_rows]})
    for col in sorted({f.column for f in attrs if f.column}):
        kinds = {f.kind for f in attrs if f.column == col}
        raw = [r.get(col) for r in related_rows]
        values[col] = (_numeric_series(raw).to_numpy() if "numeric" in kinds
                       else [_categorical(v) for v in raw])
    joined = pairs.merge(values.dropna(subset=["related"]), on="related", how="inner")
    grouped = joined.groupby(ENTITY)
    for f in attrs:
        assert f.column is not None
        if f.aggregate in ("mean", "min", "max"):
            series = grouped[f.column].agg(f.aggregate)
        else:
            series = _mode(joined, f.column)
        out[f.name] = series.reindex(index)
    return out


def _mode(joined: pd.DataFrame, column: str) -> pd.Series:
    """Most frequent value per entity (ties: the smallest value)."""
    counts = joined.dropna(subset=[column]).groupby([ENTITY, column]).size().reset_index(name="n")
    counts = counts.sort_values([ENTITY, "n", column], ascending=[True, False, True])
    return counts.drop_duplicates(ENTITY).set_index(ENTITY)[column]


def feature_frame(plan: FeaturePlan, mapping: SchemaMapping, rows: Mapping[str, Rows],
                  *, with_target: bool = True) -> pd.DataFrame:
    """Feature table (index: entity id) from the rows of each needed table.

    This is the seam for predictions on changed data: pass rows that a scenario altered and
    the features follow.
    """
    own = list(rows.get(plan.table, []))
    ids = [entity_id(r.get(c) for c in plan.key_columns) for r in own]
    index = pd.Index(ids, name=ENTITY)
    columns: dict[str, Any] = {}
    for f in plan.features:
        if f.source != "attribute" or f.column is None:
            continue
        raw = [r.get(f.column) for r in own]
        columns[f.name] = (_numeric_series(raw).to_numpy() if f.kind == "numeric"
                           else np.array([_categorical(v) for v in raw], dtype=object))
    frame = pd.DataFrame(columns, index=index)
    for rel in plan.relationships:
        for name, series in _relationship_features(plan, mapping, rel, dict(rows), index).items():
            frame[name] = series.to_numpy() if isinstance(series, pd.Series) else series
    frame = frame.reindex(columns=plan.feature_names)
    for f in plan.features:
        if f.kind == "categorical":
            frame[f.name] = frame[f.name].astype(object)
        else:
            frame[f.name] = frame[f.name].astype("float64")
    if with_target:
        values = [r.get(plan.target) for r in own]
        frame[plan.target] = (_numeric_series(values).to_numpy()
                              if plan.task == "regression" else
                              np.array([_categorical(v) for v in values], dtype=object))
    return frame[~frame.index.isna()]


def build_frame(store: StoragePlugin, mapping: SchemaMapping, plan: FeaturePlan,
                entities: list[str] | None = None, *, with_target: bool = True) -> pd.DataFrame:
    """Read what `plan` needs from `store` and build its feature table."""
    rows = read_rows(store, mapping, plan, entities)
    return feature_frame(plan, mapping, rows, with_target=with_target)


def frame_from_rows(plan: FeaturePlan, mapping: SchemaMapping, rows: Mapping[str, Rows],
                    ) -> pd.DataFrame:
    """Features only (no target) from given rows — for scenario or ad-hoc predictions."""
    return feature_frame(plan, mapping, rows, with_target=False)
