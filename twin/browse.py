"""Entity browsing: what a person or an agent looks at before writing SPARQL.

* `list_entities`: the entities of one class, filtered by typed conditions on its attributes,
  in keyset pages (the storage plugin's own cursors, so a page costs one indexed read);
* `get_entity`: one entity's classes, attributes, and relationships one hop out and one hop
  in (other entities that reference it);
* `search_entities`: a text match on the string attributes of every class (``LIKE``,
  case-sensitive, as storage compares strings).
* `entity_class`: the most specific class of an entity IRI (what a SPARQL rule's hit is
  about, so triggers can filter its alerts by class).

All three follow the view: as of its instant (``as_of``), and on a what-if scenario with
the scenario's edits applied (`twin.browse_scenario` corrects the storage reads).

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
from rdflib.term import Node

from ontology.compile import ClassMapping, FieldMapping, SchemaMapping
from ontology.errors import OntologyError
from ontology.model import local_name
from ontology.rows import convert
from storage_plugins.query import Filter
from twin import browse_scenario as sc
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
    conditions: list[tuple[str, str, Any]] = []
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
        conditions.append((f.names[0], op, value))
    page = view.store.read(cm.table, where=filters, columns=list(cm.key_columns),
                           limit=min(limit, MAX_PAGE), cursor=cursor, as_of=view.as_of)
    keys = [tuple(r[c] for c in cm.key_columns) for r in page.rows]
    attrs = _attributes(view, mapping, cm, keys)
    overlay = sc.overlay_of(view)
    if overlay is None:
        entities = [Entity(str(entity_iri(mapping, cm, list(k))), [cm.name], attrs[k])
                    for k in keys]
        return entities, page.next_cursor
    changed = sc.touched(overlay)
    entities = []
    for k in keys:
        iri = entity_iri(mapping, cm, list(k))
        if iri not in changed:
            entities.append(Entity(str(iri), [cm.name], sc.without_removed(attrs[k], overlay)))
        elif (found := _in_scenario(view, mapping, cm, iri, conditions)) is not None:
            entities.append(found)
    if page.next_cursor is None:  # the scenario's own matches close the listing
        for extra in sc.of_class(view, mapping, cm, changed):
            if not sc.in_base(view, cm, extra, filters) and \
                    (found := _in_scenario(view, mapping, cm, extra, conditions)) is not None:
                entities.append(found)
    return entities, page.next_cursor


def _in_scenario(view: TwinView, mapping: SchemaMapping, cm: ClassMapping, iri: Node,
                 conditions: list[tuple[str, str, Any]]) -> Entity | None:
    """A touched entity as the scenario has it, if it is of `cm` and meets `conditions`."""
    values = sc.scenario_attributes(view, mapping, cm, iri)
    if values is None or not all(sc.holds(values.get(n), op, v) for n, op, v in conditions):
        return None
    return Entity(str(iri), [cm.name], {k: json_value(v) for k, v in values.items()})


def get_entity(view: TwinView, iri: str) -> Entity:
    """The entity's classes, attributes and relationships one hop out and in."""
    term = URIRef(iri)
    ref = parse_entity(view.mappings, term)
    if ref is None:
        raise BrowseError(f"{iri} is not an entity IRI of this twin")
    entity = Entity(iri, [])
    names = {URIRef(f.property): f.names[0] for m in view.mappings for cm in m.classes
             for f in cm.fields} | view.names  # a model's prediction: "<model>.prediction"
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


def entity_class(view: TwinView, iri: str) -> str | None:
    """The name of the entity's most specific class, or None when `iri` is not one of the
    twin's entity IRIs.

    Why a lookup and not just the IRI: the IRI names the hierarchy's root (a ``Person`` row
    and an ``Employee`` row share ``…/Person/7``), so the class comes from which tables of
    that hierarchy hold the key (their ``rdf:type`` triples). The deepest such class wins
    (ties by name); an IRI of the hierarchy that no table holds is of its root class. Call
    it on a `TwinView.for_one_query` view to look many entities up with one read per table.
    """
    term = URIRef(iri)
    ref = parse_entity(view.mappings, term)
    if ref is None:
        return None
    family = [cm for cm in ref.mapping.classes if cm.root == ref.root.class_iri]
    if len(family) == 1:
        return ref.root.name
    held = {str(o) for _, _, o in view.triples(term, RDF_NS.type, None)}
    found = [cm for cm in family if cm.class_iri in held]
    if not found:
        return ref.root.name
    above = {a.class_iri for cm in found for a in ref.mapping.lineage(cm.class_iri)[1:]}
    return sorted(cm.name for cm in found if cm.class_iri not in above)[0]


def search_entities(view: TwinView, text: str, class_ref: str | None = None,
                    limit: int = 50) -> list[Entity]:
    """Entities with a string attribute containing `text` (case-sensitive), up to `limit`."""
    if not text:
        raise BrowseError("the search text is empty")
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    classes = [_class(view, class_ref)] if class_ref else [
        (m, cm) for m in view.mappings for cm in m.classes]
    overlay = sc.overlay_of(view)
    changed = sc.touched(overlay) if overlay is not None else set()
    out: list[Entity] = []
    seen: set[str] = set()
    for mapping, cm in classes:
        table = mapping.tabular.table(cm.table)
        names = [f for f in cm.fields
                 if f.kind == "column" and table.column(f.columns[0]).type.value == "string"]
        for f in names:
            page = view.store.read(cm.table, where=[Filter(f.columns[0], "like", pattern)],
                                   columns=list(cm.key_columns), limit=limit,
                                   as_of=view.as_of)
            keys = [tuple(r[c] for c in cm.key_columns) for r in page.rows]
            attrs = _attributes(view, mapping, cm, keys)
            for k in keys:
                iri = entity_iri(mapping, cm, list(k))
                if str(iri) in seen:
                    continue
                if iri in changed:
                    continue  # judged on its scenario values below
                seen.add(str(iri))
                values = attrs[k] if overlay is None else sc.without_removed(attrs[k], overlay)
                out.append(Entity(str(iri), [cm.name], values))
            if len(out) >= limit:
                return out[:limit]
        if overlay is not None:
            conditions = [(f.names[0], "like", pattern) for f in names]
            for extra in sc.of_class(view, mapping, cm, changed):
                if str(extra) in seen:
                    continue
                now = sc.scenario_attributes(view, mapping, cm, extra)
                if now is not None and any(sc.holds(now.get(n), op, v)
                                           for n, op, v in conditions):
                    seen.add(str(extra))
                    out.append(Entity(str(extra), [cm.name],
                                      {k: json_value(v) for k, v in now.items()}))
    return out[:limit]
