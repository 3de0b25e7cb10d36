"""Convert between rdflib graphs and `OntologyModel`, losing no triple.

`model_from_graph` moves each triple it can represent exactly into a typed field and keeps
every other triple (restrictions, annotation properties, individuals, second labels in
other languages, …) in `OntologyModel.extra`; `graph_from_model` writes the typed fields
back and adds the extra triples. A document therefore survives import → model → export
with the same triples, plus ``owl:Class`` / property typings where the source only said
``rdfs:Class``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL as OWL_NS
from rdflib.namespace import RDF as RDF_NS
from rdflib.namespace import RDFS as RDFS_NS
from rdflib.namespace import XSD as XSD_NS
from rdflib.term import Node

from ontology.model import (
    BUILTIN_NAMESPACES,
    MIMIR,
    SCHEMA,
    DatatypeProperty,
    Element,
    ObjectProperty,
    OntologyClass,
    OntologyModel,
)

MIMIR_NS = Namespace(MIMIR)
SCHEMA_NS = Namespace(SCHEMA)

Triple = tuple[Node, Node, Node]

_ANNOTATIONS = {
    "confidence": MIMIR_NS.confidence,
    "source": MIMIR_NS.source,
    "column": MIMIR_NS.column,
    "evidence": MIMIR_NS.evidence,
    "edited": MIMIR_NS.userEdited,
}
_PROPERTY_ANNOTATIONS = {  # only on the kind of property that has the field
    "unit": MIMIR_NS.unit,
    "date_order": MIMIR_NS.dateOrder,
    "match_on": MIMIR_NS.matchOn,
}


def new_graph() -> Graph:
    """An empty graph with only the core prefixes bound (rdf, rdfs, owl, xsd, xml)."""
    return Graph(bind_namespaces="core")


# --------------------------------------------------------------------------- graph → model

class _Reader:
    """Reads typed elements from a graph, recording every triple it represents."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.used: set[Triple] = set()

    def take(self, s: Node, p: Node, o: Node) -> None:
        self.used.add((s, p, o))

    def iris(self, s: Node, p: Node) -> list[str]:
        """Objects of (s, p) that are IRIs, consumed, sorted."""
        out = []
        for o in self.graph.objects(s, p):
            if isinstance(o, URIRef):
                self.take(s, p, o)
                out.append(str(o))
        return sorted(out)

    def single_literal(self, s: Node, p: Node) -> Literal | None:
        """The object of (s, p) if there is exactly one and it is a literal; consumed."""
        objects = list(self.graph.objects(s, p))
        if len(objects) == 1 and isinstance(objects[0], Literal):
            self.take(s, p, objects[0])
            return objects[0]
        return None

    def texts(self, s: Node) -> dict[str, Any]:
        """label, comment and language when they can be reproduced exactly."""
        out: dict[str, Any] = {}
        labels = list(self.graph.objects(s, RDFS_NS.label))
        comments = list(self.graph.objects(s, RDFS_NS.comment))
        lang: str | None = None
        if len(labels) == 1 and isinstance(labels[0], Literal) and _plain(labels[0]):
            lang = labels[0].language
            out["label"] = str(labels[0])
            self.take(s, RDFS_NS.label, labels[0])
        if (
            len(comments) == 1
            and isinstance(comments[0], Literal)
            and _plain(comments[0])
            and ("label" not in out or comments[0].language == lang)
        ):
            lang = comments[0].language
            out["comment"] = str(comments[0])
            self.take(s, RDFS_NS.comment, comments[0])
        out["language"] = lang
        return out

    def annotations(self, s: Node) -> dict[str, Any]:
        """Mimir's provenance annotations of `s`."""
        out: dict[str, Any] = {}
        for field, pred in _ANNOTATIONS.items():
            lit = self.single_literal(s, pred)
            if lit is None:
                continue
            if field == "confidence":
                value = _confidence(lit)
                if value is None:
                    self.used.discard((s, pred, lit))
                    continue
                out[field] = value
            elif field == "edited":
                out[field] = bool(lit.toPython()) if lit.datatype == XSD_NS.boolean else False
            else:
                out[field] = str(lit)
        return out

    def property_annotations(self, s: Node, fields: Iterable[str]) -> dict[str, Any]:
        """Mimir's property-specific annotations (unit, date order, match-on) of `s`."""
        out: dict[str, Any] = {}
        for field in fields:
            pred = _PROPERTY_ANNOTATIONS[field]
            lit = self.single_literal(s, pred)
            if lit is None:
                continue
            if field == "date_order" and str(lit) not in ("DMY", "MDY"):
                self.used.discard((s, pred, lit))
                continue
            out[field] = str(lit)
        return out

    def key(self, s: Node) -> tuple[list[str], dict[str, Any]]:
        """The first well-formed owl:hasKey list of `s` (consumed) and its annotations."""
        for head in sorted(self.graph.objects(s, OWL_NS.hasKey), key=str):
            cells = _list_cells(self.graph, head)
            if cells is None or not all(isinstance(v, URIRef) for _, v in cells):
                continue
            self.take(s, OWL_NS.hasKey, head)
            for node, value in cells:
                self.take(node, RDF_NS.first, value)
                rest = self.graph.value(node, RDF_NS.rest)
                assert rest is not None
                self.take(node, RDF_NS.rest, rest)
            extra: dict[str, Any] = {}
            lit = self.single_literal(s, MIMIR_NS.keyConfidence)
            if lit is not None:
                extra["key_confidence"] = _confidence(lit)
                if extra["key_confidence"] is None:
                    self.used.discard((s, MIMIR_NS.keyConfidence, lit))
                    del extra["key_confidence"]
            lit = self.single_literal(s, MIMIR_NS.keyEvidence)
            if lit is not None:
                extra["key_evidence"] = str(lit)
            return [str(v) for _, v in cells], extra
        return [], {}


def _plain(lit: Literal) -> bool:
    return lit.datatype is None or lit.datatype == XSD_NS.string


def _confidence(lit: Literal) -> float | None:
    try:
        value = float(Decimal(str(lit)))
    except (InvalidOperation, ValueError):
        return None
    return value if 0.0 <= value <= 1.0 else None


def _list_cells(graph: Graph, head: Node) -> list[tuple[Node, Node]] | None:
    """(cell, value) pairs of a well-formed RDF list, or None."""
    cells: list[tuple[Node, Node]] = []
    node = head
    seen: set[Node] = set()
    while node != RDF_NS.nil:
        if not isinstance(node, BNode) or node in seen:
            return None
        seen.add(node)
        firsts = list(graph.objects(node, RDF_NS.first))
        rests = list(graph.objects(node, RDF_NS.rest))
        if len(firsts) != 1 or len(rests) != 1:
            return None
        cells.append((node, firsts[0]))
        node = rests[0]
    return cells or None


def _is_builtin(node: Node) -> bool:
    return str(node).startswith(BUILTIN_NAMESPACES)


def _typed(graph: Graph, *types: URIRef) -> list[URIRef]:
    found: set[URIRef] = set()
    for t in types:
        found.update(s for s in graph.subjects(RDF_NS.type, t) if isinstance(s, URIRef))
    return sorted(s for s in found if not _is_builtin(s))


def model_from_graph(graph: Graph) -> OntologyModel:
    """Read the data-ontology view of `graph`; every other triple goes to ``extra``.

    >>> g = Graph().parse(data='''@prefix owl: <http://www.w3.org/2002/07/owl#> .
    ... <http://ex.org/Order> a owl:Class .''', format="turtle")
    >>> [c.name for c in model_from_graph(g).classes]
    ['Order']
    """
    r = _Reader(graph)
    header: dict[str, Any] = {}
    ontologies = sorted(s for s in graph.subjects(RDF_NS.type, OWL_NS.Ontology)
                        if isinstance(s, URIRef))
    suppressed: list[str] = []
    if ontologies:
        onto = ontologies[0]
        r.take(onto, RDF_NS.type, OWL_NS.Ontology)
        header["iri"] = str(onto)
        texts = r.texts(onto)
        header["label"] = texts.get("label")
        header["comment"] = texts.get("comment")
        header["language"] = texts.get("language")
        for lit in graph.objects(onto, MIMIR_NS.suppressed):
            if isinstance(lit, Literal):
                r.take(onto, MIMIR_NS.suppressed, lit)
                suppressed.append(str(lit))

    classes = []
    for c in _typed(graph, OWL_NS.Class, RDFS_NS.Class):
        if (c, RDF_NS.type, OWL_NS.Class) in graph:
            r.take(c, RDF_NS.type, OWL_NS.Class)
        key, key_meta = r.key(c)
        classes.append(
            OntologyClass(
                iri=str(c),
                superclasses=r.iris(c, RDFS_NS.subClassOf),
                key=key,
                **key_meta,
                **r.texts(c),
                **r.annotations(c),
            )
        )

    object_iris = _typed(graph, OWL_NS.ObjectProperty)
    datatype_iris = [p for p in _typed(graph, OWL_NS.DatatypeProperty) if p not in object_iris]
    object_properties = []
    for p in object_iris:
        r.take(p, RDF_NS.type, OWL_NS.ObjectProperty)
        object_properties.append(
            ObjectProperty(
                iri=str(p),
                domain=r.iris(p, RDFS_NS.domain),
                domain_includes=r.iris(p, SCHEMA_NS.domainIncludes),
                range=r.iris(p, RDFS_NS.range),
                range_includes=r.iris(p, SCHEMA_NS.rangeIncludes),
                functional=_take_functional(r, p),
                **r.texts(p),
                **r.annotations(p),
                **r.property_annotations(p, ["match_on"]),
            )
        )
    datatype_properties = []
    for p in datatype_iris:
        r.take(p, RDF_NS.type, OWL_NS.DatatypeProperty)
        ranges = [o for o in graph.objects(p, RDFS_NS.range)]
        rng = None
        if len(ranges) == 1 and isinstance(ranges[0], URIRef):
            rng = str(ranges[0])
            r.take(p, RDFS_NS.range, ranges[0])
        datatype_properties.append(
            DatatypeProperty(
                iri=str(p),
                domain=r.iris(p, RDFS_NS.domain),
                domain_includes=r.iris(p, SCHEMA_NS.domainIncludes),
                range=rng,
                functional=_take_functional(r, p),
                **r.texts(p),
                **r.annotations(p),
                **r.property_annotations(p, ["unit", "date_order"]),
            )
        )

    extra = new_graph()
    for triple in graph:
        if triple not in r.used:
            extra.add(triple)
    prefixes = {
        p: str(ns) for p, ns in graph.namespaces()
        if p not in {"rdf", "rdfs", "owl", "xsd", "xml", "mimir"}
    }
    return OntologyModel(
        **header,
        prefixes=prefixes,
        classes=classes,
        datatype_properties=datatype_properties,
        object_properties=object_properties,
        suppressed=sorted(set(suppressed)),
        extra=to_ntriples(extra),
    )


def _take_functional(r: _Reader, p: URIRef) -> bool:
    if (p, RDF_NS.type, OWL_NS.FunctionalProperty) in r.graph:
        r.take(p, RDF_NS.type, OWL_NS.FunctionalProperty)
        return True
    return False


def to_ntriples(graph: Graph) -> str:
    """Sorted N-Triples text of `graph` (stable for equal graphs without blank nodes)."""
    if len(graph) == 0:
        return ""
    text = graph.serialize(format="nt")
    return "\n".join(sorted(line for line in text.splitlines() if line.strip())) + "\n"


# --------------------------------------------------------------------------- model → graph

def _add_texts(g: Graph, s: URIRef, item: Element | OntologyModel) -> None:
    lang = getattr(item, "language", None)
    if item.label is not None:
        g.add((s, RDFS_NS.label, Literal(item.label, lang=lang)))
    if item.comment is not None:
        g.add((s, RDFS_NS.comment, Literal(item.comment, lang=lang)))


def _add_annotations(g: Graph, s: URIRef, item: Element) -> None:
    if item.confidence is not None:
        g.add((s, MIMIR_NS.confidence, _decimal(item.confidence)))
    for field in ("source", "column", "evidence"):
        value = getattr(item, field)
        if value is not None:
            g.add((s, _ANNOTATIONS[field], Literal(value)))
    if item.edited:
        g.add((s, MIMIR_NS.userEdited, Literal(True)))


def _decimal(value: float) -> Literal:
    return Literal(Decimal(str(round(value, 4))), datatype=XSD_NS.decimal)


def _add_all(g: Graph, s: URIRef, p: URIRef, objects: Iterable[str]) -> None:
    for o in objects:
        g.add((s, p, URIRef(o)))


def graph_from_model(model: OntologyModel) -> Graph:
    """Write `model` (typed fields and extra triples) into a new rdflib graph."""
    g = new_graph()
    g.bind("mimir", MIMIR_NS)
    for prefix, ns in model.prefixes.items():
        g.bind(prefix, Namespace(ns), override=True, replace=True)
    if model.extra.strip():
        g.parse(data=model.extra, format="nt")
    onto: URIRef | None = URIRef(model.iri) if model.iri else None
    if onto is None and model.suppressed:
        onto = URIRef(model.namespace.rstrip("#"))
    if onto is not None:
        g.add((onto, RDF_NS.type, OWL_NS.Ontology))
        _add_texts(g, onto, model)
        for key in model.suppressed:
            g.add((onto, MIMIR_NS.suppressed, Literal(key)))
    for c in model.classes:
        s = URIRef(c.iri)
        g.add((s, RDF_NS.type, OWL_NS.Class))
        _add_texts(g, s, c)
        _add_annotations(g, s, c)
        _add_all(g, s, RDFS_NS.subClassOf, c.superclasses)
        if c.key:
            head = BNode()
            Collection(g, head, [URIRef(k) for k in c.key])
            g.add((s, OWL_NS.hasKey, head))
            if c.key_confidence is not None:
                g.add((s, MIMIR_NS.keyConfidence, _decimal(c.key_confidence)))
            if c.key_evidence is not None:
                g.add((s, MIMIR_NS.keyEvidence, Literal(c.key_evidence)))
    for dp in model.datatype_properties:
        s = URIRef(dp.iri)
        g.add((s, RDF_NS.type, OWL_NS.DatatypeProperty))
        _add_property(g, s, dp)
        if dp.range is not None:
            g.add((s, RDFS_NS.range, URIRef(dp.range)))
    for op in model.object_properties:
        s = URIRef(op.iri)
        g.add((s, RDF_NS.type, OWL_NS.ObjectProperty))
        _add_property(g, s, op)
        _add_all(g, s, RDFS_NS.range, op.range)
        _add_all(g, s, SCHEMA_NS.rangeIncludes, op.range_includes)
    return g


def _add_property(g: Graph, s: URIRef, prop: DatatypeProperty | ObjectProperty) -> None:
    _add_texts(g, s, prop)
    _add_annotations(g, s, prop)
    for field, pred in _PROPERTY_ANNOTATIONS.items():
        value = getattr(prop, field, None)
        if value is not None:
            g.add((s, pred, Literal(value)))
    _add_all(g, s, RDFS_NS.domain, prop.domain)
    _add_all(g, s, SCHEMA_NS.domainIncludes, prop.domain_includes)
    if prop.functional:
        g.add((s, RDF_NS.type, OWL_NS.FunctionalProperty))
