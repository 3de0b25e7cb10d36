"""Entity browsing on a what-if scenario: storage answers, the scenario's edits correct it.

`list_entities` and `search_entities` read storage with filters pushed down, which sees the
base data only. On a `ScenarioView` the entities the scenario touches (edited, added or
removed; its `Overlay` names them) are few, so they are looked at one by one through the
scenario's triples and the conditions are checked in Python:

* an entity storage returns that the scenario touched is shown with its scenario values,
  or dropped when it was removed or no longer matches;
* touched entities storage did not return (added ones, or ones matching only with their
  edited values) come after the base entities, on the last page of a listing;
* an untouched entity's relationship to a removed entity is not shown.

The conditions are the storage operators over the same converted values, so both sides
agree on what matches (LIKE is case-sensitive, as in storage).
"""

from __future__ import annotations

import re
from typing import Any

from rdflib import Literal, URIRef
from rdflib.namespace import RDF as RDF_NS
from rdflib.term import Node

from ontology.compile import ClassMapping, SchemaMapping
from storage_plugins.query import Filter
from twin.iri import parse_entity
from twin.scenario import Overlay, ScenarioView
from twin.view import TwinView

Condition = tuple[str, str, Any]  # (attribute name, storage operator, converted operand)


def overlay_of(view: TwinView) -> Overlay | None:
    """The scenario's overlay, or None for the base view."""
    return view.overlay if isinstance(view, ScenarioView) else None


def touched(overlay: Overlay) -> set[Node]:
    """Every entity a scenario's edits change, add or remove."""
    out: set[Node] = set(overlay.removed_entities)
    out |= {s for s, _ in overlay.replaced}
    out |= {t[0] for t in overlay.removed | overlay.added}
    return out


def scenario_attributes(view: TwinView, mapping: SchemaMapping, cm: ClassMapping,
                        subject: Node) -> dict[str, Any] | None:
    """The entity's attributes (plain Python values) in the scenario; None when it is not
    an entity of `cm` there."""
    if (subject, RDF_NS.type, URIRef(cm.class_iri)) not in set(
            view.triples(subject, RDF_NS.type, None)):
        return None
    out: dict[str, Any] = {}
    for owner in mapping.lineage(cm.class_iri):
        for f in owner.fields:
            if f.kind not in ("column", "iri", "reference"):
                continue
            for _, _, o in view.triples(subject, URIRef(f.property), None):
                out[f.names[0]] = o.toPython() if isinstance(o, Literal) else str(o)
    return out


def _like(pattern: str) -> re.Pattern[str]:
    out, chars = [], iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.S)


def holds(value: Any, op: str, operand: Any) -> bool:
    """Whether a storage condition holds for one value (NULL matches only is_null)."""
    if op == "is_null":
        return (value is None) == bool(operand)
    if value is None:
        return False
    try:
        if op == "eq":
            return bool(value == operand)
        if op == "ne":
            return bool(value != operand)
        if op == "lt":
            return bool(value < operand)
        if op == "le":
            return bool(value <= operand)
        if op == "gt":
            return bool(value > operand)
        if op == "ge":
            return bool(value >= operand)
        if op == "in":
            return value in operand
        if op == "like":
            return _like(str(operand)).fullmatch(str(value)) is not None
    except TypeError:
        return False
    raise ValueError(f"unknown operator {op!r}")


def in_base(view: TwinView, cm: ClassMapping, subject: Node, filters: list[Filter]) -> bool:
    """Whether storage alone lists `subject` for these filters (so a page already had it)."""
    ref = parse_entity(view.mappings, subject)
    if ref is None:
        return False
    key = [Filter(c, "eq", v) for c, v in zip(cm.key_columns, ref.key, strict=True)]
    return view.rows(cm.table, [*filters, *key]) > 0


def of_class(view: TwinView, mapping: SchemaMapping, cm: ClassMapping,
             subjects: set[Node]) -> list[Node]:
    """The subjects whose IRI is in `cm`'s hierarchy, in IRI order."""
    out = []
    for s in subjects:
        ref = parse_entity(view.mappings, s)
        if ref is not None and ref.mapping is mapping and ref.root.class_iri == cm.root:
            out.append(s)
    return sorted(out, key=str)


def without_removed(attrs: dict[str, Any], overlay: Overlay) -> dict[str, Any]:
    """An untouched entity's attributes minus references to entities the scenario removed."""
    gone = {str(e) for e in overlay.removed_entities}
    return {k: v for k, v in attrs.items() if not (isinstance(v, str) and v in gone)}
