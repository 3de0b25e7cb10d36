"""Turn a new extraction into a proposal that never overwrites what people edited.

`propose(existing, extracted)` matches extracted elements to existing ones by origin
(``source`` + ``column``: stable across extractions and across renames), else by IRI, and
emits one `ProposedChange` per difference:

* ``add`` for elements the ontology does not have yet (unless a person deleted them
  before: see ``OntologyModel.suppressed``);
* ``update`` for machine-made elements whose substance changed (type, range, key,
  functional flag, kind); confidence-only changes are not proposed;
* nothing for elements a person edited or created (``edited=True`` or no provenance):
  they are listed in ``Proposal.kept`` instead. Nothing is ever removed.

Extracted IRIs are translated to the existing ones (a class the user renamed keeps its
name; new properties of it are named after it). `accept(proposal, parts)` applies the
selected changes (with the changes they depend on) to the base and returns the new model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ontology.diff import OntologyDiff, diff
from ontology.errors import InvalidEdit
from ontology.model import (
    DatatypeProperty,
    Element,
    ObjectProperty,
    OntologyClass,
    OntologyModel,
    Property,
    local_name,
)

ChangeKind = Literal["class", "datatype_property", "object_property"]
_SUBSTANCE = {
    "class": ("superclasses", "key"),
    "datatype_property": ("range", "functional", "domain"),
    "object_property": ("range", "functional", "domain"),
}


class ProposedChange(BaseModel):
    """One change a proposal would make; accept it by its ``id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Stable id, e.g. 'add:class:<iri>'.")
    action: Literal["add", "update"] = Field(description="add or update.")
    kind: ChangeKind = Field(description="class, datatype_property or object_property.")
    iri: str = Field(description="IRI of the element in the resulting ontology.")
    summary: str = Field(description="One line for people.")
    requires: list[str] = Field(
        default_factory=list, description="Ids of changes this one needs (accepted with it)."
    )
    element: OntologyClass | DatatypeProperty | ObjectProperty = Field(
        description="The element as it would be after the change."
    )


class Proposal(BaseModel):
    """A draft ontology derived from a base by a new extraction, with its changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: OntologyModel = Field(description="The ontology the proposal applies to.")
    draft: OntologyModel = Field(description="The base with every change applied.")
    changes: list[ProposedChange] = Field(description="Every proposed change.")
    kept: list[str] = Field(
        default_factory=list,
        description="Elements the extraction saw differently but a person owns (kept as is).",
    )
    diff: OntologyDiff = Field(description="diff(base, draft).")


def _kind(item: Element) -> ChangeKind:
    if isinstance(item, OntologyClass):
        return "class"
    return "datatype_property" if isinstance(item, DatatypeProperty) else "object_property"


def _user_owned(item: Element) -> bool:
    return item.edited or item.source is None


def _substance(item: Element) -> tuple[object, ...]:
    kind = _kind(item)
    return (kind, *(getattr(item, f) for f in _SUBSTANCE[kind]))


def _origin(prefix: str, item: Element) -> str | None:
    return f"{prefix}:{item.origin_key}" if item.origin_key else None


def propose(existing: OntologyModel | None, extracted: OntologyModel) -> Proposal:
    """Compare a new extraction with the current ontology (None: nothing yet).

    >>> from ontology.extract import extract
    >>> from ontology.edit import rename_class
    >>> first = extract({"orders": [{"no": 1}, {"no": 2}]}, base_iri="http://ex.org/s#").model
    >>> mine = rename_class(first, "Order", "PurchaseOrder")
    >>> again = extract({"orders": [{"no": 3, "total": 9.5}, {"no": 4, "total": 2}]},
    ...                 base_iri="http://ex.org/s#").model
    >>> [c.id for c in propose(mine, again).changes]
    ['add:datatype_property:http://ex.org/s#PurchaseOrder/total']
    """
    base = existing or OntologyModel(iri=extracted.iri, prefixes=dict(extracted.prefixes))
    suppressed = set(base.suppressed)
    kept: list[str] = []
    changes: list[ProposedChange] = []

    by_origin: dict[str, Element] = {}
    for c in base.classes:
        if (key := _origin("class", c)) is not None:
            by_origin[key] = c
    for p in base.properties:
        if (key := _origin("property", p)) is not None:
            by_origin[key] = p

    def match(item: Element, prefix: str) -> Element | None:
        key = _origin(prefix, item)
        if key is not None and key in by_origin:
            return by_origin[key]
        found = base.element(item.iri)
        if found is not None and (prefix == "class") == isinstance(found, OntologyClass):
            return found
        return None

    # classes first: their IRIs translate references in properties
    iri_map: dict[str, str] = {}
    class_change: dict[str, str] = {}
    pending_classes: list[tuple[OntologyClass, OntologyClass | None]] = []
    for new in extracted.classes:
        old = match(new, "class")
        if old is not None:
            iri_map[new.iri] = old.iri
        pending_classes.append((new, old if isinstance(old, OntologyClass) else None))

    prop_matches: list[tuple[Property, Element | None]] = []
    for newp in extracted.properties:
        oldp = match(newp, "property")
        if oldp is not None:
            iri_map[newp.iri] = oldp.iri
        else:
            domain = [iri_map.get(d, d) for d in newp.domain]
            if len(domain) == 1 and newp.iri.startswith(newp.domain[0] + "/"):
                iri_map[newp.iri] = domain[0] + newp.iri[len(newp.domain[0]):]
        prop_matches.append((newp, oldp))

    def tr(values: Sequence[str]) -> list[str]:
        return [iri_map.get(v, v) for v in values]

    added_ids: dict[str, str] = {}
    for new, old in pending_classes:
        tcls = new.model_copy(update={
            "iri": iri_map.get(new.iri, new.iri), "superclasses": tr(new.superclasses),
            "key": tr(new.key),
        })
        if old is None:
            if _origin("class", new) in suppressed:
                continue
            cid = f"add:class:{tcls.iri}"
            added_ids[tcls.iri] = cid
            changes.append(ProposedChange(
                id=cid, action="add", kind="class", iri=tcls.iri,
                summary=f"add class {tcls.name} ({new.evidence or 'extracted'})",
                element=tcls,
            ))
        elif _substance(tcls) != _substance(old):
            if _user_owned(old):
                kept.append(old.iri)
                continue
            update = tcls.model_copy(update={"label": old.label, "comment": old.comment})
            cid = f"update:class:{old.iri}"
            class_change[old.iri] = cid
            changes.append(ProposedChange(
                id=cid, action="update", kind="class", iri=old.iri,
                summary=f"update class {old.name}: key → "
                        f"{[local_name(k) for k in update.key]}",
                element=update,
            ))

    for newp, oldp in prop_matches:
        data = newp.model_dump()
        data["iri"] = iri_map.get(newp.iri, newp.iri)
        data["domain"] = tr(newp.domain)
        if isinstance(newp, ObjectProperty):
            data["range"] = tr(newp.range)
        translated: Property = type(newp)(**data)
        kind = _kind(translated)
        if oldp is None:
            if _origin("property", newp) in suppressed or base.element(translated.iri):
                continue
            pid = f"add:{kind}:{translated.iri}"
            added_ids[translated.iri] = pid
            changes.append(ProposedChange(
                id=pid, action="add", kind=kind, iri=translated.iri,
                summary=f"add {kind.replace('_', ' ')} {translated.name} ({newp.evidence})",
                element=translated,
            ))
        elif _substance(translated) != _substance(oldp):
            if _user_owned(oldp):
                kept.append(oldp.iri)
                continue
            pupdate = translated.model_copy(update={
                "iri": oldp.iri, "label": oldp.label, "comment": oldp.comment})
            pid = f"update:{kind}:{oldp.iri}"
            changes.append(ProposedChange(
                id=pid, action="update", kind=kind, iri=oldp.iri,
                summary=f"update {local_name(oldp.iri)}: {_describe(oldp, pupdate)}",
                element=pupdate,
            ))

    # dependencies: references to elements that are themselves being added
    resolved = []
    for change in changes:
        refs = _references(change.element)
        needs = sorted({added_ids[r] for r in refs if r in added_ids and
                        added_ids[r] != change.id})
        resolved.append(change.model_copy(update={"requires": needs}))
    draft = _apply(base, resolved)
    return Proposal(base=base, draft=draft, changes=resolved, kept=sorted(set(kept)),
                    diff=diff(base, draft))


def _describe(old: Element, new: Element) -> str:
    parts = []
    if _kind(old) != _kind(new):
        parts.append(f"{_kind(old)} → {_kind(new)}")
    for f in ("range", "functional", "domain"):
        a, b = getattr(old, f, None), getattr(new, f, None)
        if a != b:
            parts.append(f"{f} {_short(a)} → {_short(b)}")
    return "; ".join(parts) or "changed"


def _short(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(local_name(str(v)) for v in value) + "]"
    if isinstance(value, str):
        return local_name(value)
    return repr(value)


def _references(item: Element) -> list[str]:
    if isinstance(item, OntologyClass):
        return [*item.superclasses, *item.key]
    refs = list(item.domain)  # type: ignore[attr-defined]
    if isinstance(item, ObjectProperty):
        refs += item.range
    return refs


def _apply(base: OntologyModel, changes: Sequence[ProposedChange]) -> OntologyModel:
    classes = list(base.classes)
    dps = list(base.datatype_properties)
    ops = list(base.object_properties)
    for change in changes:
        el = change.element
        classes = [c for c in classes if c.iri != change.iri]
        dps = [p for p in dps if p.iri != change.iri]
        ops = [p for p in ops if p.iri != change.iri]
        if isinstance(el, OntologyClass):
            classes.append(el)
        elif isinstance(el, DatatypeProperty):
            dps.append(el)
        else:
            ops.append(el)
    order = {c.iri: i for i, c in enumerate(base.classes)}
    classes.sort(key=lambda c: order.get(c.iri, len(order)))
    return base.model_copy(update={
        "classes": classes, "datatype_properties": dps, "object_properties": ops})


def accept(proposal: Proposal, parts: Sequence[str] | None = None) -> OntologyModel:
    """Apply all changes (``parts=None``) or the selected ones and what they require.

    Raises `InvalidEdit` for an unknown change id.
    """
    if parts is None:
        return proposal.draft
    by_id = {c.id: c for c in proposal.changes}
    unknown = [p for p in parts if p not in by_id]
    if unknown:
        raise InvalidEdit(f"unknown change id(s): {', '.join(unknown)}")
    selected: set[str] = set()
    queue = list(parts)
    while queue:
        cid = queue.pop()
        if cid in selected:
            continue
        selected.add(cid)
        queue.extend(by_id[cid].requires)
    chosen = [c for c in proposal.changes if c.id in selected]
    model = _apply(proposal.base, chosen)
    # a class update whose key names properties that were not accepted keeps its old key
    known = {p.iri for p in model.properties}
    fixed = []
    for c in model.classes:
        if c.key and not set(c.key) <= known:
            old = proposal.base.element(c.iri)
            c = c.model_copy(update={
                "key": old.key if isinstance(old, OntologyClass) else [],
                "key_confidence": old.key_confidence if isinstance(old, OntologyClass) else None,
                "key_evidence": old.key_evidence if isinstance(old, OntologyClass) else None,
            })
        fixed.append(c)
    return model.model_copy(update={"classes": fixed})
