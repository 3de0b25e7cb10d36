"""A model's features read through the twin's view, so a what-if scenario's values (and a
past state, ``as_of``) flow into predictions.

`ml.frame.feature_frame` builds features from table rows. Here those rows are rebuilt from
the view's triples — the inverse of the R2RML mapping — for exactly the tables and columns
the model's plan needs (`ml.frame.needed_tables`): a class table gets one row per entity of
the class (key from the IRI, each needed column from its property's triples), a link table
one row per relationship triple. On the base view this gives the stored rows (the tests
check the frames are equal); on a `ScenarioView` it gives the rows the scenario implies,
without writing anything.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rdflib import Literal, URIRef
from rdflib.namespace import RDF as RDF_NS
from rdflib.term import Node

from ml.errors import MLInputError
from ml.features import FeaturePlan
from ml.frame import Rows, frame_from_rows, needed_tables
from ontology.compile import ClassMapping, FieldMapping, SchemaMapping
from twin.iri import parse_entity
from twin.view import TwinView


def mapping_of(view: TwinView, plan: FeaturePlan) -> SchemaMapping:
    """The twin's mapping that holds the model's class (MLInputError when none does)."""
    for mapping in view.mappings:
        if any(cm.class_iri == plan.class_iri for cm in mapping.classes):
            return mapping
    raise MLInputError(f"class {plan.class_name} of this model is not in the twin's "
                       "ontologies", field="scenario")


def _class_rows(view: TwinView, mapping: SchemaMapping, cm: ClassMapping, cols: list[str]
                ) -> Rows:
    rows: dict[Node, dict[str, Any]] = {}
    for s, _, _ in view.triples(None, RDF_NS.type, URIRef(cm.class_iri)):
        ref = parse_entity([mapping], s)
        if ref is not None:
            rows[s] = {c: None for c in cols} | dict(zip(cm.key_columns, ref.key, strict=True))
    for f in cm.fields:
        if f.table != cm.table or f.kind not in ("column", "reference", "iri") or \
                not set(f.columns) & set(cols):
            continue
        for s, _, o in view.triples(None, URIRef(f.property), None):
            row = rows.get(s)
            if row is None:
                continue
            if f.kind == "reference":
                target = parse_entity([mapping], o)
                if target is not None:
                    row.update(zip(f.columns, target.key, strict=True))
            elif isinstance(o, Literal):
                row[f.columns[0]] = o.toPython()
            else:
                row[f.columns[0]] = str(o)
    return list(rows.values())


def _link_rows(view: TwinView, mapping: SchemaMapping, f: FieldMapping) -> Rows:
    out: Rows = []
    for s, _, o in view.triples(None, URIRef(f.property), None):
        owner, target = parse_entity([mapping], s), parse_entity([mapping], o)
        if owner is not None and target is not None:
            out.append(dict(zip(f.owner_columns, owner.key, strict=True))
                       | dict(zip(f.columns, target.key, strict=True)))
    return out


def table_rows(view: TwinView, mapping: SchemaMapping, needed: dict[str, list[str]]
               ) -> dict[str, Rows]:
    """For each needed table, its rows as the view has them (only the needed columns)."""
    classes = {cm.table: cm for cm in mapping.classes}
    links = {f.table: f for cm in mapping.classes for f in cm.fields if f.kind == "link"}
    out: dict[str, Rows] = {}
    for table, cols in needed.items():
        if table in classes:
            out[table] = _class_rows(view, mapping, classes[table], cols)
        elif table in links:
            out[table] = _link_rows(view, mapping, links[table])
        else:
            out[table] = []
    return out


def view_frame(view: TwinView, plan: FeaturePlan, entities: list[str] | None = None
               ) -> pd.DataFrame:
    """The model's features (no target) of the view's entities (all, or the given ids)."""
    mapping = mapping_of(view, plan)
    rows = table_rows(view, mapping, needed_tables(mapping, plan))
    frame = frame_from_rows(plan, mapping, rows)
    if entities is not None:
        missing = [e for e in entities if e not in frame.index]
        if missing:
            raise MLInputError(f"unknown {plan.class_name} entit(y/ies) in this view: "
                               f"{', '.join(missing[:10])}", field="entities")
        frame = frame.loc[entities]
    return frame
