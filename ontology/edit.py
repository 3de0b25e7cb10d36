"""Edit operations on an `OntologyModel`: plain functions that return a new model.

Every function validates first and raises an `OntologyError` subclass without building
anything, so a failed edit never yields a half-changed model. Edited elements get
``edited=True``: re-extraction treats them as the user's and never changes them. Deleting
an extracted element records its origin in ``model.suppressed`` so that re-extraction does
not propose it again.

Names: a new class gets ``<namespace><Name>``; a new property with one domain class gets
``<namespace><Class>/<name>`` (properties belong to their class, so ``Order/id`` and
``Customer/id`` never clash), otherwise ``<namespace><name>``.

Renames rewrite every reference (superclasses, domains, ranges, keys, and the verbatim
extra triples); a class rename also renames its ``<Class>/…`` properties. Note that the
compiled table of a renamed class gets the new name (storage migrations are additive, so
the old table is left in place).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import OWL as OWL_NS
from rdflib.namespace import RDF as RDF_NS

from ontology.errors import ElementInUse, InvalidEdit, NameConflict
from ontology.model import (
    RDFS,
    DatatypeProperty,
    ObjectProperty,
    OntologyClass,
    OntologyModel,
    Property,
    effective_domain,
    expand,
    local_name,
    namespace_of,
)
from ontology.rdf import to_ntriples
from ontology.xsd import XSD_TYPES

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_LITERAL_RANGES = {RDFS + "Literal"}
_STANDALONE = {  # blank-node axioms that stand alone (not hanging off another triple)
    OWL_NS.AllDisjointClasses, OWL_NS.AllDifferent, OWL_NS.AllDisjointProperties,
    OWL_NS.Axiom, OWL_NS.NegativePropertyAssertion,
}


class ClassPatch(BaseModel):
    """Changes to a class; fields left unset stay as they are."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, description="New rdfs:label (None clears it).")
    comment: str | None = Field(default=None, description="New rdfs:comment (None clears it).")
    superclasses: list[str] | None = Field(
        default=None, description="New superclass references (replaces the list)."
    )


class PropertyPatch(BaseModel):
    """Changes to a property; fields left unset stay as they are."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, description="New rdfs:label (None clears it).")
    comment: str | None = Field(default=None, description="New rdfs:comment (None clears it).")
    kind: Literal["datatype", "object"] | None = Field(
        default=None, description="Turn a datatype property into an object property or back."
    )
    domain: list[str] | None = Field(default=None, description="New domain class references.")
    range: list[str] | None = Field(
        default=None,
        description="New range: one XSD datatype (datatype property) or class references.",
    )
    functional: bool | None = Field(default=None, description="New functional flag.")


# --------------------------------------------------------------------------- helpers

def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidEdit(
            f"invalid name {name!r}: use letters, digits, '_', '-' or '.', starting with a "
            "letter or '_'"
        )


def _check_free(model: OntologyModel, iri: str, ignore: str | None = None) -> None:
    existing = model.element(iri)
    if existing is not None and existing.iri != ignore:
        kind = "class" if isinstance(existing, OntologyClass) else "property"
        raise NameConflict(iri, kind)


def _class_iris(model: OntologyModel, refs: Iterable[str]) -> list[str]:
    out = []
    for ref in refs:
        iri = model.get_class(ref).iri
        if iri not in out:
            out.append(iri)
    return out


def datatype_iri(ref: str, prefixes: dict[str, str] | None = None) -> str:
    """Resolve ``xsd:integer``, ``integer`` or a full IRI to a datatype IRI we can store."""
    iri = expand(ref, prefixes or {}) or ref
    if ":" not in iri and "/" not in iri:
        iri = "http://www.w3.org/2001/XMLSchema#" + iri
    if iri not in XSD_TYPES and iri not in _LITERAL_RANGES:
        known = sorted({"xsd:" + local_name(k) for k in XSD_TYPES if "XMLSchema" in k})
        raise InvalidEdit(f"unknown datatype {ref!r}; use one of {', '.join(known)}")
    return iri


def _replace_iri(text: str, old: str, new: str) -> str:
    return text.replace(f"<{old}>", f"<{new}>")


def _rename_refs(model: OntologyModel, mapping: dict[str, str]) -> OntologyModel:
    """Replace IRIs everywhere according to `mapping` (old → new)."""
    def sub(values: Sequence[str]) -> list[str]:
        return [mapping.get(v, v) for v in values]

    classes = [
        c.model_copy(update={
            "iri": mapping.get(c.iri, c.iri), "superclasses": sub(c.superclasses),
            "key": sub(c.key),
        })
        for c in model.classes
    ]
    dps = [
        p.model_copy(update={
            "iri": mapping.get(p.iri, p.iri), "domain": sub(p.domain),
            "domain_includes": sub(p.domain_includes),
        })
        for p in model.datatype_properties
    ]
    ops = [
        p.model_copy(update={
            "iri": mapping.get(p.iri, p.iri), "domain": sub(p.domain),
            "domain_includes": sub(p.domain_includes), "range": sub(p.range),
            "range_includes": sub(p.range_includes),
        })
        for p in model.object_properties
    ]
    extra = model.extra
    for old, new in mapping.items():
        extra = _replace_iri(extra, old, new)
    if extra != model.extra:
        extra = to_ntriples(Graph().parse(data=extra, format="nt"))
    return model.model_copy(update={
        "classes": classes, "datatype_properties": dps, "object_properties": ops,
        "extra": extra,
    })


def _replace(model: OntologyModel, item: OntologyClass | Property) -> OntologyModel:
    if isinstance(item, OntologyClass):
        return model.model_copy(update={
            "classes": [item if c.iri == item.iri else c for c in model.classes]})
    if isinstance(item, DatatypeProperty):
        return model.model_copy(update={"datatype_properties": [
            item if p.iri == item.iri else p for p in model.datatype_properties]})
    return model.model_copy(update={"object_properties": [
        item if p.iri == item.iri else p for p in model.object_properties]})


def _extra_graph(model: OntologyModel) -> Graph:
    graph = Graph()
    if model.extra.strip():
        graph.parse(data=model.extra, format="nt")
    return graph


def _extra_references(model: OntologyModel, iri: str) -> list[tuple[str, str]]:
    graph = _extra_graph(model)
    node = URIRef(iri)
    refs = []
    for s, p in graph.subject_predicates(node):
        who = str(s) if isinstance(s, URIRef) else "an anonymous class expression"
        refs.append((who, f"{local_name(str(p))} axiom"))
    return sorted(set(refs))


def _drop_from_extra(model: OntologyModel, iris: Iterable[str]) -> str:
    """Extra triples without any axiom that mentions `iris`.

    A mention inside a blank-node structure (a restriction, a union) removes the whole
    axiom: the triples that hang the structure off a named element, and then every blank
    node left unreferenced.
    """
    graph = _extra_graph(model)
    doomed: set[tuple[Any, Any, Any]] = set()
    for iri in iris:
        node = URIRef(iri)
        mentions = list(graph.triples((node, None, None))) + list(graph.triples((None, None, node)))
        for s, p, o in mentions:
            doomed.add((s, p, o))
            seen: set[Any] = set()
            queue = [s] if isinstance(s, BNode) else []
            while queue:  # climb to the triples that attach the structure to a named node
                current = queue.pop()
                if current in seen:
                    continue
                seen.add(current)
                for parent in graph.triples((None, None, current)):
                    doomed.add(parent)
                    if isinstance(parent[0], BNode):
                        queue.append(parent[0])
    for triple in doomed:
        graph.remove(triple)
    while True:
        orphans = {
            s for s in graph.subjects()
            if isinstance(s, BNode) and (None, None, s) not in graph
            and not any(t in _STANDALONE for t in graph.objects(s, RDF_NS.type))
        }
        if not orphans:
            break
        for o in orphans:
            graph.remove((o, None, None))
    return to_ntriples(graph)


def _suppress(model: OntologyModel, *items: OntologyClass | Property) -> list[str]:
    keys = set(model.suppressed)
    for item in items:
        if item.origin_key is not None:
            keys.add(f"{'class' if isinstance(item, OntologyClass) else 'property'}:"
                     f"{item.origin_key}")
    return sorted(keys)


def property_iri(model: OntologyModel, name: str, domain: Sequence[str]) -> str:
    """The IRI a new property called `name` gets (``<ns><Class>/<name>`` for one domain)."""
    if len(domain) == 1:
        return f"{model.namespace}{local_name(domain[0])}/{name}"
    return f"{model.namespace}{name}"


# --------------------------------------------------------------------------- classes

def add_class(
    model: OntologyModel,
    name: str,
    *,
    label: str | None = None,
    comment: str | None = None,
    superclasses: Sequence[str] = (),
) -> OntologyModel:
    """Add a class called `name` (in the model's namespace).

    >>> m = add_class(OntologyModel(iri="http://ex.org/shop"), "Order")
    >>> m.classes[0].iri
    'http://ex.org/shop#Order'
    """
    _check_name(name)
    iri = model.namespace + name
    _check_free(model, iri)
    cls = OntologyClass(
        iri=iri, label=label, comment=comment,
        superclasses=_class_iris(model, superclasses), edited=True,
    )
    return model.model_copy(update={"classes": [*model.classes, cls]})


def update_class(model: OntologyModel, ref: str, patch: ClassPatch) -> OntologyModel:
    """Change a class's label, comment or superclasses."""
    cls = model.get_class(ref)
    changes: dict[str, Any] = {"edited": True}
    fields = patch.model_fields_set
    if "label" in fields:
        changes["label"] = patch.label
    if "comment" in fields:
        changes["comment"] = patch.comment
    if "superclasses" in fields:
        supers = _class_iris(model, patch.superclasses or [])
        if cls.iri in supers:
            raise InvalidEdit(f"class {cls.name!r} cannot be its own superclass")
        for sup in supers:
            if cls.iri in model.ancestors(sup):
                raise InvalidEdit(
                    f"making {local_name(sup)!r} a superclass of {cls.name!r} creates a cycle"
                )
        changes["superclasses"] = supers
    return _replace(model, cls.model_copy(update=changes))


def rename_class(model: OntologyModel, ref: str, new_name: str) -> OntologyModel:
    """Rename a class (its IRI's local name) and every reference to it.

    Raises `NameConflict` when the new IRI is taken by another element.
    """
    _check_name(new_name)
    cls = model.get_class(ref)
    new_iri = namespace_of(cls.iri) + new_name
    if new_iri == cls.iri:
        return model
    _check_free(model, new_iri)
    mapping = {cls.iri: new_iri}
    prefix = f"{namespace_of(cls.iri)}{cls.name}/"
    for prop in model.properties:
        if prop.iri.startswith(prefix):
            mapping[prop.iri] = f"{namespace_of(cls.iri)}{new_name}/{prop.iri[len(prefix):]}"
            _check_free(model, mapping[prop.iri], ignore=prop.iri)
    renamed = _rename_refs(model, mapping)
    new_cls = renamed.get_class(new_iri)
    label = new_name if cls.label == cls.name else cls.label
    return _replace(renamed, new_cls.model_copy(update={"edited": True, "label": label}))


def class_references(model: OntologyModel, iri: str) -> list[tuple[str, str]]:
    """Every ``(element, how)`` that refers to the class `iri`."""
    refs = [(c.iri, "subclass") for c in model.classes if iri in c.superclasses]
    for p in model.properties:
        if iri in p.domain or iri in p.domain_includes:
            refs.append((p.iri, "domain"))
        if isinstance(p, ObjectProperty) and (iri in p.range or iri in p.range_includes):
            refs.append((p.iri, "range"))
    return refs + _extra_references(model, iri)


def delete_class(model: OntologyModel, ref: str, *, cascade: bool = False) -> OntologyModel:
    """Delete a class; refuses (`ElementInUse`) while anything refers to it.

    With ``cascade=True`` references go too: subclasses lose it as a superclass, properties
    lose it from their domain and range (a property left without any domain or range is
    deleted, and so are keys that used it), and axioms mentioning it are removed.
    """
    cls = model.get_class(ref)
    refs = class_references(model, cls.iri)
    if refs and not cascade:
        raise ElementInUse(cls.iri, refs)
    doomed: list[Property] = []
    dps, ops = [], []
    for p in model.datatype_properties:
        domain = [d for d in p.domain if d != cls.iri]
        includes = [d for d in p.domain_includes if d != cls.iri]
        if (p.domain or p.domain_includes) and not (domain or includes):
            doomed.append(p)
            continue
        dps.append(p.model_copy(update={"domain": domain, "domain_includes": includes}))
    for op in model.object_properties:
        domain = [d for d in op.domain if d != cls.iri]
        includes = [d for d in op.domain_includes if d != cls.iri]
        rng = [r for r in op.range if r != cls.iri]
        rng_inc = [r for r in op.range_includes if r != cls.iri]
        if ((op.domain or op.domain_includes) and not (domain or includes)) or (
            (op.range or op.range_includes) and not (rng or rng_inc)
        ):
            doomed.append(op)
            continue
        ops.append(op.model_copy(update={
            "domain": domain, "domain_includes": includes, "range": rng,
            "range_includes": rng_inc,
        }))
    gone = {p.iri for p in doomed} | {cls.iri}
    classes = []
    for c in model.classes:
        if c.iri == cls.iri:
            continue
        update: dict[str, Any] = {"superclasses": [s for s in c.superclasses if s != cls.iri]}
        if set(c.key) & gone:
            update.update(key=[], key_confidence=None, key_evidence=None)
        classes.append(c.model_copy(update=update))
    return model.model_copy(update={
        "classes": classes, "datatype_properties": dps, "object_properties": ops,
        "extra": _drop_from_extra(model, gone),
        "suppressed": _suppress(model, cls, *doomed),
    })


# --------------------------------------------------------------------------- properties

def add_datatype_property(
    model: OntologyModel,
    name: str,
    *,
    domain: Sequence[str],
    range: str = "xsd:string",
    functional: bool = True,
    label: str | None = None,
    comment: str | None = None,
) -> OntologyModel:
    """Add a datatype property (an attribute) to the classes in `domain`.

    >>> m = add_class(OntologyModel(iri="http://ex.org/shop"), "Order")
    >>> m = add_datatype_property(m, "total", domain=["Order"], range="xsd:decimal")
    >>> m.datatype_properties[0].iri, m.datatype_properties[0].range
    ('http://ex.org/shop#Order/total', 'http://www.w3.org/2001/XMLSchema#decimal')
    """
    _check_name(name)
    domains = _class_iris(model, domain)
    iri = property_iri(model, name, domains)
    _check_free(model, iri)
    prop = DatatypeProperty(
        iri=iri, domain=domains, range=datatype_iri(range, model.prefixes),
        functional=functional, label=label, comment=comment, edited=True,
    )
    return model.model_copy(update={"datatype_properties": [*model.datatype_properties, prop]})


def add_object_property(
    model: OntologyModel,
    name: str,
    *,
    domain: Sequence[str],
    range: Sequence[str],
    functional: bool = False,
    label: str | None = None,
    comment: str | None = None,
) -> OntologyModel:
    """Add a relationship from the classes in `domain` to the classes in `range`."""
    _check_name(name)
    domains = _class_iris(model, domain)
    ranges = _class_iris(model, range)
    if not ranges:
        raise InvalidEdit("an object property needs at least one range class")
    iri = property_iri(model, name, domains)
    _check_free(model, iri)
    prop = ObjectProperty(
        iri=iri, domain=domains, range=ranges, functional=functional,
        label=label, comment=comment, edited=True,
    )
    return model.model_copy(update={"object_properties": [*model.object_properties, prop]})


def update_property(model: OntologyModel, ref: str, patch: PropertyPatch) -> OntologyModel:
    """Change a property's label, comment, domain, range, functional flag or kind."""
    prop = model.get_property(ref)
    fields = patch.model_fields_set
    data = prop.model_dump(exclude={"kind", "range", "range_includes", "unit", "date_order",
                                    "match_on"})  # kind-specific: set below
    data["edited"] = True
    for field in ("label", "comment", "functional"):
        if field in fields and (field != "functional" or patch.functional is not None):
            data[field] = getattr(patch, field)
    if "domain" in fields:
        data["domain"] = _class_iris(model, patch.domain or [])
        data["domain_includes"] = []
    kind = patch.kind or prop.kind
    if kind == "datatype":
        if "range" in fields and patch.range:
            if len(patch.range) != 1:
                raise InvalidEdit("a datatype property has exactly one datatype as its range")
            data["range"] = datatype_iri(patch.range[0], model.prefixes)
        elif isinstance(prop, DatatypeProperty):
            data["range"] = prop.range
        else:
            data["range"] = datatype_iri("xsd:string")
        if isinstance(prop, DatatypeProperty):
            data["unit"] = prop.unit
            if data["range"] == prop.range:
                data["date_order"] = prop.date_order
        new: Property = DatatypeProperty(**data)
    else:
        if "range" in fields and patch.range is not None:
            data["range"] = _class_iris(model, patch.range)
            data["range_includes"] = []
        elif isinstance(prop, ObjectProperty):
            data["range"] = prop.range
            data["range_includes"] = prop.range_includes
            data["match_on"] = prop.match_on  # same target: still matched the same way
        else:
            raise InvalidEdit("turning a datatype property into an object property needs a range")
        if not data["range"] and not data.get("range_includes"):
            raise InvalidEdit("an object property needs at least one range class")
        new = ObjectProperty(**data)
    if new.kind == prop.kind:
        return _replace(model, new)
    dps = [p for p in model.datatype_properties if p.iri != prop.iri]
    ops = [p for p in model.object_properties if p.iri != prop.iri]
    if isinstance(new, DatatypeProperty):
        dps.append(new)
    else:
        ops.append(new)
    return model.model_copy(update={"datatype_properties": dps, "object_properties": ops})


def rename_property(model: OntologyModel, ref: str, new_name: str) -> OntologyModel:
    """Rename a property (its IRI's last segment) and every reference to it (keys, axioms)."""
    _check_name(new_name)
    prop = model.get_property(ref)
    new_iri = namespace_of(prop.iri) + new_name
    if new_iri == prop.iri:
        return model
    _check_free(model, new_iri)
    renamed = _rename_refs(model, {prop.iri: new_iri})
    new_prop = renamed.get_property(new_iri)
    label = new_name if prop.label == prop.name else prop.label
    return _replace(renamed, new_prop.model_copy(update={"edited": True, "label": label}))


def property_references(model: OntologyModel, iri: str) -> list[tuple[str, str]]:
    """Every ``(element, how)`` that refers to the property `iri`."""
    refs = [(c.iri, "key") for c in model.classes if iri in c.key]
    return refs + _extra_references(model, iri)


def delete_property(model: OntologyModel, ref: str, *, cascade: bool = False) -> OntologyModel:
    """Delete a property; refuses while a key or an axiom uses it (unless ``cascade``)."""
    prop = model.get_property(ref)
    refs = property_references(model, prop.iri)
    if refs and not cascade:
        raise ElementInUse(prop.iri, refs)
    classes = [
        c.model_copy(update={"key": [], "key_confidence": None, "key_evidence": None})
        if prop.iri in c.key else c
        for c in model.classes
    ]
    return model.model_copy(update={
        "classes": classes,
        "datatype_properties": [p for p in model.datatype_properties if p.iri != prop.iri],
        "object_properties": [p for p in model.object_properties if p.iri != prop.iri],
        "extra": _drop_from_extra(model, [prop.iri]),
        "suppressed": _suppress(model, prop),
    })


def set_key(model: OntologyModel, class_ref: str, properties: Sequence[str]) -> OntologyModel:
    """Set (or, with no properties, clear) a class's ``owl:hasKey``.

    Each key property must belong to the class or one of its superclasses.
    """
    cls = model.get_class(class_ref)
    scope = {cls.iri, *model.ancestors(cls.iri)}
    key = []
    for ref in properties:
        prop = model.get_property(ref, domain=cls.iri)
        if not scope & set(effective_domain(prop)):
            raise InvalidEdit(f"property {prop.name!r} does not belong to class {cls.name!r}")
        if prop.iri not in key:
            key.append(prop.iri)
    return _replace(model, cls.model_copy(update={
        "key": key, "key_confidence": None, "key_evidence": None, "edited": True}))
