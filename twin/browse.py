"""Entity browsing: what a person or an agent looks at before writing SPARQL.

* `list_entities`: the entities of one class, filtered by typed conditions on its attributes,
  in keyset pages (the storage plugin's own cursors, so a page costs one indexed read);
* `get_entity`: one entity's classes, attributes, and relationships one hop out and one hop
  in (other entities that reference it);
* `search_entities`: a text match on the string attributes of every class (``LIKE``,
  case-sensitive, as storage compares strings).

Attributes are named by the property's local name (``total``, not the column), values are
JSON-safe (decimals and dates as strings), entities by their IRI (`twin.iri`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from rdflib import Literal, URIRef
from rdflib.namespace import RDF as RDF_NS

from ontology.compile import ClassMapping, FieldMapping, SchemaMapping
from ontology.errors import OntologyError
from ontology.model import local_name
from ontology.rows import convert
from storage_plugins.query import Filter
from twin.iri import entity_iri, parse_entity
from twin.view import TwinView

MAX_PAGE = 1000


class BrowseError(ValueError):
    """A class, attribute or entity the twin does not know; the message names it."""


@dataclass
class Entity:
    """One entity as browsing shows it."""

    iri: str
    classes: list[str]
    attributes: dict[str, Any] = field(default_factory=dict)
    outgoing: list[dict[str, str]] = field(default_factory=list)
    incoming: list[dict[str, str]] = field(default_factory=list)


def json_value(value: Any) -> Any:
    """A stored value as plain JSON."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _class(view: TwinView, ref: str) -> tuple[SchemaMapping, ClassMapping]:
    found = []
    for mapping in view.mappings:
        try:
            found.append((mapping, mapping.class_mapping(ref)))
        except OntologyError:
            continue
    if not found:
        known = sorted({cm.name for m in view.mappings for cm in m.classes})
        raise BrowseError(f"unknown class {ref!r}; known: {', '.join(known)}")
    if len(found) > 1:
        raise BrowseError(f"class {ref!r} is in several ontologies; use its IRI")
    return found[0]


def _attribute(mapping: SchemaMapping, cm: ClassMapping, name: str) -> FieldMapping:
    for f in cm.fields:
        if f.kind == "column" and (name in f.names or name == local_name(f.property)
                                   or name == f.property):
            return f
    have = sorted(f.names[0] for f in cm.fields if f.kind == "column")
    raise BrowseError(f"class {cm.name} has no attribute {name!r} in its own table; "
                      f"filterable: {', '.join(have)}")


def _attributes(view: TwinView, mapping: SchemaMapping, cm: ClassMapping,
                keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Attributes of these entities from every table of their lineage (one read per table)."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {k: {} for k in keys}
    if not keys:
        return out
    for owner in mapping.lineage(cm.class_iri):
        cols = [f for f in owner.fields if f.kind in ("column", "iri", "reference")]
        if not cols:
            continue
        names = list(dict.fromkeys([*owner.key_columns, *(c for f in cols for c in f.columns)]))
        where: list[Filter] = []
        if len(owner.key_columns) == 1:
            where = [Filter(owner.key_columns[0], "in", [k[0] for k in keys])]
        for batch in view.batches(owner.table, where=where, columns=names):
            for row in batch:
                key = tuple(row[c] for c in owner.key_columns)
                if key not in out:
                    continue
                for f in cols:
                    values = [row[c] for c in f.columns]
                    if values[0] is None:
                        continue
                    if f.kind == "reference":
                        assert f.target is not None
                        target = mapping.class_mapping(f.target)
                        out[key][f.names[0]] = str(entity_iri(mapping, target, values))
                    else:
                        out[key][f.names[0]] = json_value(values[0])
    return out


def list_entities(view: TwinView, class_ref: str, where: list[tuple[str, str, Any]],
                  limit: int = 100, cursor: str | None = None
                  ) -> tuple[list[Entity], str | None]:
    """A page of the class's entities matching every (attribute, op, value) condition."""
    mapping, cm = _class(view, class_ref)
    filters = []
    table = mapping.tabular.table(cm.table)
    for name, op, value in where:
        f = _attribute(mapping, cm, name)
        column = table.column(f.columns[0])
        try:  # JSON gives strings and numbers: convert them as written records are
            if op == "in" and isinstance(value, list):
                value = [convert(v, column) for v in value]
            elif op not in ("like", "is_null"):
                value = convert(value, column)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise BrowseError(f"filter on {name!r}: {exc}") from None
        filters.append(Filter(f.columns[0], op, value))
    page = view.store.read(cm.table, where=filters, columns=list(cm.key_columns),
                           limit=min(limit, MAX_PAGE), cursor=cursor, as_of=view.as_of)
    keys = [tuple(r[c] for c in cm.key_columns) for r in page.rows]
    attrs = _attributes(view, mapping, cm, keys)
    entities = [Entity(str(entity_iri(mapping, cm, list(k))), [cm.name], attrs[k]) for k in keys]
    return entities, page.next_cursor


def get_entity(view: TwinView, iri: str) -> Entity:
    """The entity's classes, attributes and relationships one hop out and in."""
    term = URIRef(iri)
    ref = parse_entity(view.mappings, term)
    if ref is None:
        raise BrowseError(f"{iri} is not an entity IRI of this twin")
    entity = Entity(iri, [])
    names = {URIRef(f.property): f.names[0] for m in view.mappings for cm in m.classes
             for f in cm.fields}
    for _, p, o in view.triples(term, None, None):
        if p == RDF_NS.type:
            entity.classes.append(local_name(str(o)))
        elif isinstance(o, Literal):
            name = names.get(URIRef(str(p)), str(p))
            entity.attributes[name] = json_value(o.toPython())
        else:
            entity.outgoing.append({"property": names.get(URIRef(str(p)), str(p)),
                                    "entity": str(o)})
    if not entity.classes:
        raise BrowseError(f"no entity {iri} in the twin's data")
    for s, p, _ in view.triples(None, None, term):
        if p != RDF_NS.type:
            entity.incoming.append({"property": names.get(URIRef(str(p)), str(p)),
                                    "entity": str(s)})
    entity.classes.sort()
    entity.outgoing.sort(key=lambda r: (r["property"], r["entity"]))
    entity.incoming.sort(key=lambda r: (r["property"], r["entity"]))
    return entity


def search_entities(view: TwinView, text: str, class_ref: str | None = None,
                    limit: int = 50) -> list[Entity]:
    """Entities with a string attribute containing `text` (case-sensitive), up to `limit`."""
    if not text:
        raise BrowseError("the search text is empty")
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    classes = [_class(view, class_ref)] if class_ref else [
        (m, cm) for m in view.mappings for cm in m.classes]
    out: list[Entity] = []
    seen: set[str] = set()
    for mapping, cm in classes:
        table = mapping.tabular.table(cm.table)
        for f in cm.fields:
            if f.kind != "column" or table.column(f.columns[0]).type.value != "string":
                continue
            page = view.store.read(cm.table, where=[Filter(f.columns[0], "like", pattern)],
                                   columns=list(cm.key_columns), limit=limit,
                                   as_of=view.as_of)
            keys = [tuple(r[c] for c in cm.key_columns) for r in page.rows]
            attrs = _attributes(view, mapping, cm, keys)
            for k in keys:
                iri = str(entity_iri(mapping, cm, list(k)))
                if iri not in seen:
                    seen.add(iri)
                    out.append(Entity(iri, [cm.name], attrs[k]))
            if len(out) >= limit:
                return out[:limit]
    return out
