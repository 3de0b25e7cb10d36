"""What-if scenarios: edits kept as delta rows, overlaid on the live view at query time.

A scenario never writes to the base data. Each edit is one `Edit` (the service stores it as
one row with author, time and rationale); `ScenarioView` is a `TwinView` whose triples are
the base triples with the edits applied, in edit order (a later edit of the same target
wins):

=====================  ==========================================================
edit                   effect on the view
=====================  ==========================================================
set_attribute          drop every base value of (entity, property), add the new one
unset_attribute        drop every value of (entity, property)
add_relationship       add (entity, property, target)
remove_relationship    drop (entity, property, target)
add_entity             add (entity, rdf:type, class) and its attributes (as sets)
remove_entity          drop every triple with the entity as subject or object
=====================  ==========================================================

Because an edit names *what* it changes, not a copy of the row, a base value that changes
later shows through wherever the scenario did not change it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from rdflib import Literal as RDFLiteral
from rdflib import URIRef
from rdflib.namespace import RDF as RDF_NS
from rdflib.term import Node

from twin.iri import parse_entity, value_of
from twin.view import Triple, TwinView

EditKind = Literal["set_attribute", "unset_attribute", "add_relationship",
                   "remove_relationship", "add_entity", "remove_entity"]


class EditRejected(ValueError):
    """An edit that does not fit the twin's ontology; the message names what is wrong."""


@dataclass(frozen=True)
class Edit:
    """One what-if change (the terms are already validated RDF terms)."""

    kind: EditKind
    entity: URIRef
    property: URIRef | None = None
    value: Node | None = None
    attributes: tuple[tuple[URIRef, Node], ...] = ()


@dataclass
class Overlay:
    """The net effect of a scenario's edits, indexed for triple-pattern lookups."""

    removed_entities: set[Node] = field(default_factory=set)
    replaced: set[tuple[Node, Node]] = field(default_factory=set)  # (s, p): base values hidden
    removed: set[Triple] = field(default_factory=set)
    added: set[Triple] = field(default_factory=set)

    @classmethod
    def of(cls, edits: list[Edit]) -> Overlay:
        out = cls()
        for e in edits:
            out._apply(e)
        return out

    def _apply(self, e: Edit) -> None:
        s = e.entity
        if e.kind == "remove_entity":
            self.removed_entities.add(s)
            self.added = {t for t in self.added if t[0] != s and t[2] != s}
        elif e.kind == "add_entity":
            self.removed_entities.discard(s)
            assert e.value is not None
            self.added.add((s, RDF_NS.type, e.value))
            for p, v in e.attributes:
                self._set(s, p, v)
        elif e.kind in ("set_attribute", "unset_attribute"):
            assert e.property is not None
            self._set(s, e.property, e.value)
        elif e.kind == "add_relationship":
            assert e.property is not None and e.value is not None
            triple = (s, e.property, e.value)
            self.removed.discard(triple)
            self.added.add(triple)
        else:
            assert e.property is not None and e.value is not None
            triple = (s, e.property, e.value)
            self.added.discard(triple)
            self.removed.add(triple)

    def _set(self, s: Node, p: Node, value: Node | None) -> None:
        self.replaced.add((s, p))
        self.added = {t for t in self.added if (t[0], t[1]) != (s, p)}
        if value is not None:
            self.added.add((s, p, value))

    def hides(self, triple: Triple) -> bool:
        """Whether a base triple is not part of the scenario's view."""
        s, p, o = triple
        return (s in self.removed_entities or o in self.removed_entities
                or (s, p) in self.replaced or triple in self.removed)


def _matches(triple: Triple, s: Node | None, p: Node | None, o: Node | None) -> bool:
    return ((s is None or triple[0] == s) and (p is None or triple[1] == p)
            and (o is None or triple[2] == o))


class ScenarioView(TwinView):
    """The base view with a scenario's edits overlaid (base data untouched)."""

    def __init__(self, base: TwinView, edits: list[Edit]) -> None:
        self.__dict__.update(base.__dict__)
        self.base_view = base
        self.overlay = Overlay.of(edits)

    def triples(self, s: Node | None, p: Node | None, o: Node | None) -> Iterator[Triple]:
        """Base triples the scenario keeps, then the triples it adds."""
        overlay = self.overlay
        for triple in super().triples(s, p, o):
            if not overlay.hides(triple):
                yield triple
        for triple in overlay.added:
            if _matches(triple, s, p, o):
                yield triple

    def count(self) -> int:
        return sum(1 for _ in self.triples(None, None, None))


# --------------------------------------------------------------------------- validation


def check_edit(view: TwinView, kind: EditKind, entity: str, prop: str | None,
               value: Any, attributes: dict[str, Any] | None) -> Edit:
    """Turn an edit request into an `Edit`, checked against the twin's mappings."""
    subject = URIRef(entity)
    ref = parse_entity(view.mappings, subject)
    if ref is None:
        raise EditRejected(f"{entity} is not an entity IRI of this twin")
    if kind == "remove_entity":
        return Edit(kind, subject)
    if kind == "add_entity":
        cls = _class_of(view, value)
        if cls.root != ref.root.class_iri:
            raise EditRejected(f"an entity of class {cls.name} needs an IRI under "
                               f"{ref.mapping.instance_base}{cls.root.rsplit('#', 1)[-1]}/")
        attrs = tuple(_attribute(view, subject, name, v) for name, v in
                      (attributes or {}).items())
        return Edit(kind, subject, RDF_NS.type, URIRef(cls.class_iri), attrs)
    if prop is None:
        raise EditRejected(f"{kind} needs 'property'")
    if kind in ("set_attribute", "unset_attribute"):
        if kind == "unset_attribute":
            p, _ = _attribute(view, subject, prop, None)
            return Edit(kind, subject, p, None)
        p, term = _attribute(view, subject, prop, value)
        return Edit(kind, subject, p, term)
    src = _source(view, subject, prop, ("reference", "link"))
    target = parse_entity([src.mapping], URIRef(str(value)))
    assert src.target is not None
    if target is None or target.root.class_iri != src.target.root:
        raise EditRejected(f"{value!r} is not an entity IRI of class {src.target.name}")
    return Edit(kind, subject, src.predicate, URIRef(str(value)))


def _class_of(view: TwinView, ref: Any) -> Any:
    for mapping in view.mappings:
        for cm in mapping.classes:
            if str(ref) in (cm.class_iri, cm.name):
                return cm
    raise EditRejected(f"unknown class {ref!r}")


def _source(view: TwinView, subject: URIRef, prop: str, kinds: tuple[str, ...]) -> Any:
    ref = parse_entity(view.mappings, subject)
    assert ref is not None
    for src in view.sources:
        if src.kind in kinds and src.mapping is ref.mapping and \
                src.cm.root == ref.root.class_iri and src.field is not None and (
                    prop in src.field.names or prop == src.field.property):
            return src
    raise EditRejected(f"no {' or '.join(kinds)} property {prop!r} for {subject}")


def _attribute(view: TwinView, subject: URIRef, prop: str, value: Any
               ) -> tuple[URIRef, Node]:
    src = _source(view, subject, prop, ("column",))
    if value is None:
        return src.predicate, None  # type: ignore[return-value]
    from ontology.rows import convert
    from twin.iri import literal

    try:
        stored = convert(value, src.column())
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise EditRejected(f"{prop}: {exc}") from None
    term = literal(stored, src.datatype)
    ok, _ = value_of(term, src.column(), src.datatype)
    if not ok or not isinstance(term, RDFLiteral):
        raise EditRejected(f"{prop}: {value!r} is not a valid value")
    return src.predicate, term


# --------------------------------------------------------------------------- diff

Pattern = tuple[Node | None, Node | None, Node | None]


def touched(overlay: Overlay) -> set[Pattern]:
    """The triple patterns an overlay can change (what a diff has to read)."""
    out: set[Pattern] = set()
    for e in overlay.removed_entities:
        out |= {(e, None, None), (None, None, e)}
    out |= {(s, p, None) for s, p in overlay.replaced}
    out |= set(overlay.removed) | set(overlay.added)
    return out


def diff(base: TwinView, other: TwinView, overlays: list[Overlay]
         ) -> tuple[list[Triple], list[Triple]]:
    """(added, removed): triples in `other` but not `base`, and the reverse, looking only
    where one of `overlays` changed something (so the cost follows the edits, not the data)."""
    before: set[Triple] = set()
    after: set[Triple] = set()
    for pattern in set().union(*(touched(o) for o in overlays)) if overlays else set():
        before |= set(base.triples(*pattern))
        after |= set(other.triples(*pattern))
    key = lambda t: (str(t[0]), str(t[1]), str(t[2]))  # noqa: E731
    return sorted(after - before, key=key), sorted(before - after, key=key)
