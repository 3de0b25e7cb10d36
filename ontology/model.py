"""The typed in-memory model of a *data ontology*.

A data ontology is the part of OWL that shapes stored data: classes (with superclasses and
an ``owl:hasKey``), datatype properties (an XSD range, functional or not) and object
properties (domain, range, functional or not). `OntologyModel` holds exactly those as
pydantic models, so the API can send and receive them as JSON, plus every other triple of
the source document verbatim in `OntologyModel.extra` (N-Triples), so that importing and
exporting a real ontology (restrictions, annotation properties, individuals …) loses
nothing. Conversion to and from rdflib graphs lives in `ontology.rdf`.

Every element may carry how it was inferred — ``confidence`` (0..1), ``source``,
``column`` and ``evidence`` — written as annotations under the Mimir namespace
(`MIMIR`), and an ``edited`` flag that edits set so that re-extraction never overwrites it.

Models are immutable: edit functions (`ontology.edit`) return new models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ontology.errors import AmbiguousReference, UnknownElement

MIMIR = "https://mimir-aip.dev/ns#"
"""Namespace of Mimir's annotations (``mimir:confidence``, ``mimir:source`` …)."""

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SCHEMA = "http://schema.org/"

DEFAULT_NAMESPACE = "https://mimir-aip.dev/ontology/default#"
"""Namespace for new elements of a model that has no ontology IRI of its own."""

BUILTIN_NAMESPACES = (XSD, RDF, RDFS, OWL)

_FROZEN = ConfigDict(extra="forbid", frozen=True)
DateOrder = Literal["DMY", "MDY"]


def local_name(iri: str) -> str:
    """The last segment of an IRI (after the last ``#`` or ``/``).

    >>> local_name("https://ex.org/shop#Order/order_id"), local_name("http://www.w3.org/ns/sosa/")
    ('order_id', 'sosa')
    """
    trimmed = iri.rstrip("#/")
    cut = max(trimmed.rfind("#"), trimmed.rfind("/"), trimmed.rfind(":"))
    return trimmed[cut + 1 :] or iri


def namespace_of(iri: str) -> str:
    """The IRI up to and including its last ``#`` or ``/``."""
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1] if cut >= 0 else iri


class Element(BaseModel):
    """Fields shared by classes and properties."""

    model_config = _FROZEN

    iri: str = Field(description="Absolute IRI of the element.")
    label: str | None = Field(default=None, description="The rdfs:label, if exactly one.")
    comment: str | None = Field(default=None, description="The rdfs:comment, if exactly one.")
    language: str | None = Field(
        default=None, description="Language tag of label and comment (None: plain literals)."
    )
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="How sure extraction is (mimir:confidence)."
    )
    source: str | None = Field(
        default=None, description="Data source the element was inferred from (mimir:source)."
    )
    column: str | None = Field(
        default=None, description="Field path within the source, dotted for nesting (mimir:column)."
    )
    evidence: str | None = Field(
        default=None, description="Why extraction inferred the element (mimir:evidence)."
    )
    edited: bool = Field(
        default=False, description="True once a person edited it (mimir:userEdited)."
    )

    @property
    def name(self) -> str:
        """The IRI's local name."""
        return local_name(self.iri)

    @property
    def display(self) -> str:
        """The label if there is one, else the local name."""
        return self.label or self.name

    @property
    def origin_key(self) -> str | None:
        """Identity of an extracted element across extractions (``source:column``)."""
        if self.source is None:
            return None
        return f"{self.source}:{self.column or ''}"


class OntologyClass(Element):
    """An OWL class."""

    superclasses: list[str] = Field(
        default_factory=list, description="IRIs of named superclasses (rdfs:subClassOf)."
    )
    key: list[str] = Field(
        default_factory=list, description="Property IRIs of the class's owl:hasKey, in order."
    )
    key_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Confidence of the inferred key."
    )
    key_evidence: str | None = Field(default=None, description="Why the key was inferred.")


class DatatypeProperty(Element):
    """An OWL datatype property: an attribute with literal values."""

    kind: Literal["datatype"] = Field(default="datatype", description="Discriminator.")
    domain: list[str] = Field(default_factory=list, description="rdfs:domain class IRIs.")
    domain_includes: list[str] = Field(
        default_factory=list,
        description="schema:domainIncludes class IRIs (used as domain when domain is empty).",
    )
    range: str | None = Field(
        default=None, description="Datatype IRI of the values (rdfs:range), e.g. xsd:integer."
    )
    functional: bool = Field(
        default=False, description="owl:FunctionalProperty: at most one value per subject."
    )
    unit: str | None = Field(
        default=None, max_length=64,
        description="Unit of the values (mimir:unit), e.g. 'kW' from a header 'Power (kW)'.",
    )
    date_order: DateOrder | None = Field(
        default=None,
        description=(
            "How the source writes non-ISO dates like 05/03/2024 (mimir:dateOrder): 'DMY' "
            "(day first) or 'MDY'; ISO dates are always read as ISO."
        ),
    )


class ObjectProperty(Element):
    """An OWL object property: a relationship between individuals of two classes."""

    kind: Literal["object"] = Field(default="object", description="Discriminator.")
    domain: list[str] = Field(default_factory=list, description="rdfs:domain class IRIs.")
    domain_includes: list[str] = Field(
        default_factory=list,
        description="schema:domainIncludes class IRIs (used as domain when domain is empty).",
    )
    range: list[str] = Field(default_factory=list, description="rdfs:range class IRIs.")
    range_includes: list[str] = Field(
        default_factory=list,
        description="schema:rangeIncludes class IRIs (used as range when range is empty).",
    )
    functional: bool = Field(
        default=False, description="owl:FunctionalProperty: at most one target per subject."
    )
    match_on: str | None = Field(
        default=None,
        description=(
            "IRI of a unique datatype property of the target that the source's values hold "
            "instead of its key (mimir:matchOn), e.g. an operator's name; records are matched "
            "to their target by it when loaded."
        ),
    )


Property = DatatypeProperty | ObjectProperty


class OntologyModel(BaseModel):
    """A data ontology: typed classes and properties plus every other triple, verbatim."""

    model_config = _FROZEN

    iri: str | None = Field(default=None, description="The owl:Ontology IRI, if declared.")
    label: str | None = Field(default=None, description="The ontology's rdfs:label.")
    comment: str | None = Field(default=None, description="The ontology's rdfs:comment.")
    language: str | None = Field(
        default=None, description="Language tag of the ontology's label and comment."
    )
    prefixes: dict[str, str] = Field(
        default_factory=dict, description="Namespace prefixes to use when serialising."
    )
    classes: list[OntologyClass] = Field(default_factory=list, description="Classes.")
    datatype_properties: list[DatatypeProperty] = Field(
        default_factory=list, description="Datatype properties."
    )
    object_properties: list[ObjectProperty] = Field(
        default_factory=list, description="Object properties."
    )
    suppressed: list[str] = Field(
        default_factory=list,
        description=(
            "Origin keys (``source:column``) of extracted elements a person deleted; "
            "re-extraction never proposes them again (mimir:suppressed)."
        ),
    )
    extra: str = Field(
        default="",
        description="Every triple the typed fields do not represent, as sorted N-Triples.",
    )

    # ------------------------------------------------------------------ lookups

    @property
    def namespace(self) -> str:
        """Namespace for new elements: the ontology IRI plus ``#`` (unless it ends in / or #)."""
        if not self.iri:
            return DEFAULT_NAMESPACE
        return self.iri if self.iri.endswith(("#", "/")) else self.iri + "#"

    @property
    def properties(self) -> list[Property]:
        """Datatype and object properties together."""
        return [*self.datatype_properties, *self.object_properties]

    @property
    def class_iris(self) -> set[str]:
        """IRIs of all classes."""
        return {c.iri for c in self.classes}

    def element(self, iri: str) -> OntologyClass | Property | None:
        """The class or property with exactly this IRI, or None."""
        items: list[OntologyClass | Property] = [
            *self.classes, *self.datatype_properties, *self.object_properties]
        for item in items:
            if item.iri == iri:
                return item
        return None

    def get_class(self, ref: str) -> OntologyClass:
        """Resolve a class by IRI, prefixed name, local name or label.

        Raises `UnknownElement` (listing the known classes) or `AmbiguousReference`.
        """
        found = _resolve(ref, self.classes, self.prefixes, "class")
        assert isinstance(found, OntologyClass)
        return found

    def get_property(self, ref: str, *, domain: str | None = None) -> Property:
        """Resolve a property like `get_class`; `domain` (a class IRI) narrows short names."""
        everything: list[Property] = list(self.properties)
        if domain is not None:
            own = [p for p in everything if domain in p.domain or domain in p.domain_includes]
            try:
                found = _resolve(ref, own, self.prefixes, "property")
            except UnknownElement:
                found = _resolve(ref, everything, self.prefixes, "property")
        else:
            found = _resolve(ref, everything, self.prefixes, "property")
        assert isinstance(found, DatatypeProperty | ObjectProperty)
        return found

    def class_for_source(self, source: str, path: str | None = None) -> OntologyClass | None:
        """The extracted class of a source's records (or of the nested records at `path`)."""
        for c in self.classes:
            if c.source == source and c.column == path:
                return c
        return None

    def subclasses(self, iri: str) -> list[OntologyClass]:
        """Direct subclasses of the class `iri`."""
        return [c for c in self.classes if iri in c.superclasses]

    def ancestors(self, iri: str) -> list[str]:
        """All superclass IRIs of `iri` (nearest first, each once; cycles tolerated)."""
        by_iri = {c.iri: c for c in self.classes}
        seen: list[str] = []
        queue = list(by_iri[iri].superclasses) if iri in by_iri else []
        while queue:
            current = queue.pop(0)
            if current in seen or current == iri:
                continue
            seen.append(current)
            if current in by_iri:
                queue.extend(by_iri[current].superclasses)
        return seen

    def properties_of(self, iri: str) -> list[Property]:
        """Properties whose (effective) domain includes the class `iri`."""
        return [p for p in self.properties if iri in effective_domain(p)]


def effective_domain(prop: Property) -> list[str]:
    """rdfs:domain if given, else schema:domainIncludes."""
    return list(prop.domain or prop.domain_includes)


def effective_range(prop: ObjectProperty) -> list[str]:
    """rdfs:range if given, else schema:rangeIncludes."""
    return list(prop.range or prop.range_includes)


def expand(ref: str, prefixes: dict[str, str]) -> str | None:
    """Expand a prefixed name (``xsd:integer``) with `prefixes`; None when it is not one."""
    if ":" not in ref or "://" in ref or ref.startswith("urn:"):
        return None
    prefix, _, local = ref.partition(":")
    known = {"xsd": XSD, "rdf": RDF, "rdfs": RDFS, "owl": OWL, "mimir": MIMIR, **prefixes}
    if prefix in known:
        return known[prefix] + local
    return None


def _resolve(ref: str, items: Sequence[Element], prefixes: dict[str, str], kind: str) -> Element:
    by_iri = {i.iri: i for i in items}
    if ref in by_iri:
        return by_iri[ref]
    expanded = expand(ref, prefixes)
    if expanded is not None and expanded in by_iri:
        return by_iri[expanded]
    for matcher in (
        lambda i: i.name == ref,
        lambda i: "/" in ref and i.iri.endswith(("#" + ref, "/" + ref)),
        lambda i: i.label is not None and i.label == ref,
        lambda i: i.name.lower() == ref.lower()
        or (i.label is not None and i.label.lower() == ref.lower()),
    ):
        matches = [i for i in items if matcher(i)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise AmbiguousReference(kind, ref, [m.iri for m in matches])
    raise UnknownElement(kind, ref, [i.name for i in items])
