"""Differences between two ontology versions, as a JSON-able model and as readable text.

Classes and properties are matched by IRI and compared field by field (label, superclasses,
key, range, functional flag, provenance …); everything else in the ontology (restrictions,
annotation properties, individuals) is compared as triples, with blank nodes canonicalised
so that re-serialising a document never shows up as a change.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rdflib import Graph
from rdflib.compare import to_canonical_graph
from rdflib.namespace import NamespaceManager

from ontology.model import Element, OntologyModel, local_name
from ontology.rdf import new_graph
from ontology.versions import OntologyVersion, version_model

ElementKind = Literal["class", "datatype_property", "object_property"]
ChangeKind = Literal["added", "removed", "changed"]
_HEADER_FIELDS = ("iri", "label", "comment", "language", "suppressed")
_IGNORED = {"iri"}


class FieldChange(BaseModel):
    """One field's value before and after."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(description="Name of the field (as in the element's JSON).")
    before: Any = Field(description="Value in the older version.")
    after: Any = Field(description="Value in the newer version.")


class ElementChange(BaseModel):
    """A class or property that was added, removed or changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    iri: str = Field(description="IRI of the element.")
    name: str = Field(description="Local name of the element.")
    kind: ElementKind = Field(description="class, datatype_property or object_property.")
    change: ChangeKind = Field(description="added, removed or changed.")
    fields: list[FieldChange] = Field(
        default_factory=list, description="Changed fields (for 'changed' only)."
    )


class AxiomChanges(BaseModel):
    """Triples outside the typed model that were added or removed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    added: list[str] = Field(default_factory=list, description="Added triples (Turtle terms).")
    removed: list[str] = Field(
        default_factory=list, description="Removed triples (Turtle terms)."
    )


class OntologyDiff(BaseModel):
    """Everything that differs between two versions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_version: int | None = Field(default=None, description="The older version number.")
    to_version: int | None = Field(default=None, description="The newer version number.")
    header: list[FieldChange] = Field(
        default_factory=list, description="Changes to the ontology's own IRI, label, comment."
    )
    classes: list[ElementChange] = Field(default_factory=list, description="Class changes.")
    datatype_properties: list[ElementChange] = Field(
        default_factory=list, description="Datatype property changes."
    )
    object_properties: list[ElementChange] = Field(
        default_factory=list, description="Object property changes."
    )
    axioms: AxiomChanges = Field(
        default_factory=AxiomChanges, description="Changes to all other triples."
    )

    @property
    def is_empty(self) -> bool:
        """True when the two versions are equivalent."""
        return not (self.header or self.classes or self.datatype_properties
                    or self.object_properties or self.axioms.added or self.axioms.removed)

    @property
    def elements(self) -> list[ElementChange]:
        """All class and property changes."""
        return [*self.classes, *self.datatype_properties, *self.object_properties]

    def to_text(self) -> str:
        """The diff as readable lines (see `render_diff`)."""
        return render_diff(self)


def _as_model(item: OntologyModel | OntologyVersion) -> tuple[OntologyModel, int | None]:
    if isinstance(item, OntologyVersion):
        return version_model(item), item.version
    return item, None


def _element_changes(
    kind: ElementKind, old: list[Element], new: list[Element]
) -> list[ElementChange]:
    before = {e.iri: e for e in old}
    after = {e.iri: e for e in new}
    out = []
    for iri in sorted(before.keys() | after.keys()):
        a, b = before.get(iri), after.get(iri)
        if a is None:
            out.append(ElementChange(iri=iri, name=local_name(iri), kind=kind, change="added"))
        elif b is None:
            out.append(ElementChange(iri=iri, name=local_name(iri), kind=kind, change="removed"))
        else:
            da, db = a.model_dump(), b.model_dump()
            fields = [
                FieldChange(field=f, before=da.get(f), after=db.get(f))
                for f in sorted(da.keys() | db.keys())
                if f not in _IGNORED and da.get(f) != db.get(f)
            ]
            if fields:
                out.append(ElementChange(
                    iri=iri, name=local_name(iri), kind=kind, change="changed", fields=fields))
    return out


def _axiom_terms(model: OntologyModel, manager: NamespaceManager) -> dict[str, str]:
    """Canonical N-Triples line → the same triple with prefixed names, for `model.extra`."""
    graph = new_graph()
    if model.extra.strip():
        graph.parse(data=model.extra, format="nt")
    return {
        f"{s.n3()} {p.n3()} {o.n3()} .": f"{s.n3(manager)} {p.n3(manager)} {o.n3(manager)} ."
        for s, p, o in to_canonical_graph(graph)
    }


def diff(
    a: OntologyModel | OntologyVersion, b: OntologyModel | OntologyVersion
) -> OntologyDiff:
    """What changed from `a` (older) to `b` (newer).

    >>> from ontology.model import OntologyClass
    >>> old = OntologyModel(classes=[OntologyClass(iri="http://ex.org/A")])
    >>> new = OntologyModel(classes=[OntologyClass(iri="http://ex.org/A", label="Alpha"),
    ...                              OntologyClass(iri="http://ex.org/B")])
    >>> print(diff(old, new).to_text())
    Classes:
      + B
      ~ A: label None → 'Alpha'
    """
    ma, va = _as_model(a)
    mb, vb = _as_model(b)
    header = []
    for field in _HEADER_FIELDS:
        before, after = getattr(ma, field), getattr(mb, field)
        if before != after:
            header.append(FieldChange(field=field, before=before, after=after))
    manager = NamespaceManager(Graph(), bind_namespaces="core")
    for prefix, ns in {**ma.prefixes, **mb.prefixes}.items():
        manager.bind(prefix, ns, override=False)
    terms_a, terms_b = _axiom_terms(ma, manager), _axiom_terms(mb, manager)
    return OntologyDiff(
        from_version=va,
        to_version=vb,
        header=header,
        classes=_element_changes("class", list(ma.classes), list(mb.classes)),
        datatype_properties=_element_changes(
            "datatype_property", list(ma.datatype_properties), list(mb.datatype_properties)),
        object_properties=_element_changes(
            "object_property", list(ma.object_properties), list(mb.object_properties)),
        axioms=AxiomChanges(
            added=sorted(terms_b[k] for k in terms_b.keys() - terms_a.keys()),
            removed=sorted(terms_a[k] for k in terms_a.keys() - terms_b.keys()),
        ),
    )


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, str) and ("://" in value or value.startswith("urn:")):
        return local_name(value)
    return repr(value)


def render_diff(d: OntologyDiff) -> str:
    """Readable text: ``+`` added, ``-`` removed, ``~`` changed (``field before → after``)."""
    out: list[str] = []
    if d.from_version is not None or d.to_version is not None:
        out.append(f"Version {d.from_version} → {d.to_version}")
    if d.header:
        out.append("Ontology:")
        out += [f"  ~ {c.field}: {_short(c.before)} → {_short(c.after)}" for c in d.header]
    for title, changes in (
        ("Classes", d.classes),
        ("Datatype properties", d.datatype_properties),
        ("Object properties", d.object_properties),
    ):
        if not changes:
            continue
        out.append(f"{title}:")
        order = {"added": 0, "removed": 1, "changed": 2}
        for c in sorted(changes, key=lambda c: (order[c.change], c.name)):
            if c.change == "added":
                out.append(f"  + {c.name}")
            elif c.change == "removed":
                out.append(f"  - {c.name}")
            else:
                parts = "; ".join(
                    f"{f.field} {_short(f.before)} → {_short(f.after)}" for f in c.fields
                )
                out.append(f"  ~ {c.name}: {parts}")
    if d.axioms.added or d.axioms.removed:
        out.append("Axioms:")
        out += [f"  + {t}" for t in d.axioms.added]
        out += [f"  - {t}" for t in d.axioms.removed]
    return "\n".join(out) if out else "No changes."
