"""Semantic checks of an ontology graph, reported all at once.

Parse errors come from `ontology.io`; this module checks what parses but is still wrong
for a data ontology: classes used in ``rdfs:domain`` / ``rdfs:range`` that nothing
defines, two classes (or two properties of one class) with the same label, and cycles in
``rdfs:subClassOf``. Each problem is a `ValidationIssue` with the line and column of the
offending element where the document's text lets us find it (best effort: the first place
the element's IRI or prefixed name appears as a subject).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from rdflib import Graph, URIRef
from rdflib.namespace import OWL as OWL_NS
from rdflib.namespace import RDF as RDF_NS
from rdflib.namespace import RDFS as RDFS_NS

from ontology.model import OWL, RDF, RDFS, XSD, local_name

Severity = Literal["error", "warning"]

_KNOWN_CLASSES = {
    OWL + "Thing", OWL + "Nothing", RDFS + "Resource", RDFS + "Class", OWL + "Class",
    RDFS + "Literal", RDFS + "Datatype", RDF + "Property", RDF + "List", RDF + "Statement",
}
_PROPERTY_TYPES = (OWL_NS.ObjectProperty, OWL_NS.DatatypeProperty, RDF_NS.Property)


class ValidationIssue(BaseModel):
    """One problem found while importing or checking an ontology."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(
        description=(
            "Machine-readable kind: parse_error, encoding_error, unsupported_format, "
            "undefined_class, duplicate_label, subclass_cycle, empty_ontology."
        )
    )
    severity: Severity = Field(default="error", description="'error' blocks an import.")
    message: str = Field(description="What is wrong, in words a person can act on.")
    line: int | None = Field(default=None, ge=1, description="1-based line, when known.")
    column: int | None = Field(default=None, ge=1, description="1-based column, when known.")
    subject: str | None = Field(default=None, description="IRI of the offending element.")

    def __str__(self) -> str:
        where = f"{self.line}:{self.column or 1}: " if self.line else ""
        return f"{where}{self.severity}: {self.message}"


def has_errors(issues: Iterable[ValidationIssue]) -> bool:
    """True when any issue is an error (warnings do not block)."""
    return any(i.severity == "error" for i in issues)


# --------------------------------------------------------------------------- locating

class Locator:
    """Finds where an IRI first appears in a document's text (best effort)."""

    def __init__(self, text: str | None, prefixes: dict[str, str] | None = None) -> None:
        self.text = text or ""
        self.prefixes = prefixes or {}
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self._line_starts[lo] + 1

    def find(self, iri: str) -> tuple[int | None, int | None]:
        """(line, column) of the first subject-like occurrence of `iri`, else of any."""
        if not self.text:
            return None, None
        forms = [f"<{iri}>", f'"{iri}"']
        for prefix, ns in self.prefixes.items():
            if iri.startswith(ns) and len(iri) > len(ns):
                forms.append(f"{prefix}:{iri[len(ns):]}")
        if "#" in iri:
            forms.append(f'"#{iri.rsplit("#", 1)[1]}"')
        escaped = "|".join(re.escape(f) for f in forms)
        subject = re.search(rf"(?m)^[ \t]*(?:{escaped})(?=[\s;,.]|$)", self.text)
        match = subject or re.search(rf"(?:{escaped})(?=[\s;,.>/]|$)", self.text)
        if match is None:
            return None, None
        start = match.start() if subject is None else match.start() + (
            len(match.group(0)) - len(match.group(0).lstrip())
        )
        return self.position(start)


# --------------------------------------------------------------------------- checks

def _declared_classes(graph: Graph) -> set[str]:
    found = {str(s) for t in (OWL_NS.Class, RDFS_NS.Class) for s in graph.subjects(RDF_NS.type, t)}
    found |= {str(s) for s in graph.subjects(RDFS_NS.subClassOf, None) if isinstance(s, URIRef)
              and (s, RDF_NS.type, RDFS_NS.Datatype) not in graph}
    return found


def _datatypes(graph: Graph) -> set[str]:
    return {str(s) for s in graph.subjects(RDF_NS.type, RDFS_NS.Datatype)}


def check_graph(
    graph: Graph,
    *,
    text: str | None = None,
    prefixes: dict[str, str] | None = None,
    known_classes: Iterable[str] = (),
) -> list[ValidationIssue]:
    """Run every semantic check on `graph` and return all issues (errors and warnings).

    `known_classes` are class IRIs defined elsewhere (the ontology's imports).

    >>> g = Graph().parse(data='''@prefix ex: <http://ex.org/> .
    ... @prefix owl: <http://www.w3.org/2002/07/owl#> .
    ... @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
    ... ex:p a owl:ObjectProperty ; rdfs:domain ex:Missing .''', format="turtle")
    >>> [i.code for i in check_graph(g)]
    ['undefined_class']
    """
    if prefixes is None:
        prefixes = {p: str(ns) for p, ns in graph.namespaces() if p}
    locate = Locator(text, prefixes)
    issues: list[ValidationIssue] = []
    issues += _undefined_classes(graph, locate, set(known_classes))
    issues += _duplicate_labels(graph, locate)
    issues += _subclass_cycles(graph, locate)
    return issues


def _issue(code: str, severity: Severity, message: str, subject: str,
           locate: Locator) -> ValidationIssue:
    line, column = locate.find(subject)
    return ValidationIssue(
        code=code, severity=severity, message=message, line=line, column=column, subject=subject
    )


def _undefined_classes(graph: Graph, locate: Locator, known: set[str]) -> list[ValidationIssue]:
    classes = _declared_classes(graph) | known | _KNOWN_CLASSES
    datatypes = _datatypes(graph)
    issues = []
    props = sorted({s for t in _PROPERTY_TYPES for s in graph.subjects(RDF_NS.type, t)
                    if isinstance(s, URIRef)})
    for prop in props:
        is_datatype = (prop, RDF_NS.type, OWL_NS.DatatypeProperty) in graph
        for predicate, role in ((RDFS_NS.domain, "domain"), (RDFS_NS.range, "range")):
            for target in sorted(graph.objects(prop, predicate), key=str):
                if not isinstance(target, URIRef):
                    continue  # a class expression (unionOf …): defined by its triples
                iri = str(target)
                literalish = iri.startswith(XSD) or iri in datatypes or iri in {
                    RDFS + "Literal", RDF + "langString", RDF + "PlainLiteral", RDF + "JSON",
                    RDF + "XMLLiteral", RDF + "HTML",
                }
                if role == "range" and (is_datatype or literalish):
                    if is_datatype and not literalish:
                        issues.append(_issue(
                            "undefined_datatype", "error",
                            f"datatype property {local_name(str(prop))!r} has range "
                            f"<{iri}>, which is not a known datatype",
                            str(prop), locate,
                        ))
                    continue
                if iri not in classes:
                    issues.append(_issue(
                        "undefined_class", "error",
                        f"property {local_name(str(prop))!r} uses undefined class <{iri}> "
                        f"as its {role}",
                        str(prop), locate,
                    ))
    return issues


def _labels(graph: Graph, subject: URIRef) -> set[tuple[str, str | None]]:
    return {
        (str(o).strip().lower(), getattr(o, "language", None))
        for o in graph.objects(subject, RDFS_NS.label)
    }


def _duplicate_labels(graph: Graph, locate: Locator) -> list[ValidationIssue]:
    groups: dict[tuple[str, ...], set[str]] = defaultdict(set)
    classes = sorted(s for s in _declared_classes(graph) if not s.startswith(
        (OWL, RDFS, RDF, XSD)))
    for c in classes:
        for label, lang in _labels(graph, URIRef(c)):
            groups[("class", "", label, lang or "")].add(c)
    props = {s for t in _PROPERTY_TYPES for s in graph.subjects(RDF_NS.type, t)
             if isinstance(s, URIRef)}
    for p in sorted(props):
        domains = sorted(str(d) for d in graph.objects(p, RDFS_NS.domain)) or [""]
        for label, lang in _labels(graph, p):
            for d in domains:
                groups[("property", d, label, lang or "")].add(str(p))
    issues = []
    for (kind, domain, label, _lang), members in sorted(groups.items()):
        if len(members) < 2:
            continue
        names = sorted(members)
        scope = f" of class {local_name(domain)!r}" if domain else ""
        for member in names:
            others = ", ".join(local_name(m) for m in names if m != member)
            issues.append(_issue(
                "duplicate_label", "warning",
                f"{kind} {local_name(member)!r}{scope} has the label {label!r}, "
                f"like {others}",
                member, locate,
            ))
    return issues


def _subclass_cycles(graph: Graph, locate: Locator) -> list[ValidationIssue]:
    edges: dict[str, list[str]] = defaultdict(list)
    for s, o in graph.subject_objects(RDFS_NS.subClassOf):
        if isinstance(s, URIRef) and isinstance(o, URIRef):
            edges[str(s)].append(str(o))
    issues = []
    for component in strongly_connected(edges):
        if len(component) == 1 and component[0] not in edges.get(component[0], ()):
            continue
        cycle = _cycle_path(component, edges)
        path = " → ".join(local_name(c) for c in cycle)
        issues.append(_issue(
            "subclass_cycle", "error", f"rdfs:subClassOf cycle: {path}", cycle[0], locate
        ))
    return issues


def strongly_connected(edges: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative), each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    nodes = sorted(set(edges) | {t for ts in edges.values() for t in ts})
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
    return sorted(out)


def _cycle_path(component: list[str], edges: dict[str, list[str]]) -> list[str]:
    """The shortest cycle through the component's first node, e.g. [A, B, A]."""
    members = set(component)
    start = component[0]
    parent: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(t for t in edges.get(node, ()) if t in members):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return [start, start]
