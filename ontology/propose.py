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
    "datatype_property": ("range", "functional", "domain", "unit", "date_order"),
    "object_property": ("range", "functional", "domain", "match_on"),
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
    run = _Matching(base)
    classes = run.match_classes(extracted)
    props = run.match_properties(extracted)
    run.class_changes(classes)
    run.property_changes(props)
    resolved = _with_dependencies(run.changes, run.added_ids)
    draft = _apply(base, resolved)
    return Proposal(base=base, draft=draft, changes=resolved, kept=sorted(set(run.kept)),
                    diff=diff(base, draft))


class _Matching:
    """Matches extracted elements to the base's and collects the changes (one `propose`)."""

    def __init__(self, base: OntologyModel) -> None:
        self.base = base
        self.suppressed = set(base.suppressed)
        self.kept: list[str] = []
        self.changes: list[ProposedChange] = []
        self.iri_map: dict[str, str] = {}
        self.added_ids: dict[str, str] = {}
        self.by_origin: dict[str, Element] = {}
        for c in base.classes:
            if (key := _origin("class", c)) is not None:
                self.by_origin[key] = c
        for p in base.properties:
            if (key := _origin("property", p)) is not None:
                self.by_origin[key] = p

    def match(self, item: Element, prefix: str) -> Element | None:
        """The base element `item` stands for: same origin, else same IRI and kind."""
        key = _origin(prefix, item)
        if key is not None and key in self.by_origin:
            return self.by_origin[key]
        found = self.base.element(item.iri)
        if found is not None and (prefix == "class") == isinstance(found, OntologyClass):
            return found
        return None

    def tr(self, values: Sequence[str]) -> list[str]:
        """IRIs translated to the base's (renamed classes keep their names)."""
        return [self.iri_map.get(v, v) for v in values]

    def match_classes(
        self, extracted: OntologyModel
    ) -> list[tuple[OntologyClass, OntologyClass | None]]:
        """Classes first: their IRIs translate references in properties."""
        pending: list[tuple[OntologyClass, OntologyClass | None]] = []
        for new in extracted.classes:
            old = self.match(new, "class")
            if old is not None:
                self.iri_map[new.iri] = old.iri
            pending.append((new, old if isinstance(old, OntologyClass) else None))
        return pending

    def match_properties(self, extracted: OntologyModel) -> list[tuple[Property, Element | None]]:
        """Matched properties; new ones of a renamed class are named after it."""
        matches: list[tuple[Property, Element | None]] = []
        for newp in extracted.properties:
            oldp = self.match(newp, "property")
            if oldp is not None:
                self.iri_map[newp.iri] = oldp.iri
            else:
                domain = self.tr(newp.domain)
                if len(domain) == 1 and newp.iri.startswith(newp.domain[0] + "/"):
                    self.iri_map[newp.iri] = domain[0] + newp.iri[len(newp.domain[0]):]
            matches.append((newp, oldp))
        return matches

    def class_changes(self, pending: list[tuple[OntologyClass, OntologyClass | None]]) -> None:
        """``add`` for new classes, ``update`` for machine-made ones whose key changed."""
        for new, old in pending:
            tcls = new.model_copy(update={
                "iri": self.iri_map.get(new.iri, new.iri),
                "superclasses": self.tr(new.superclasses), "key": self.tr(new.key),
            })
            if old is None:
                if _origin("class", new) in self.suppressed:
                    continue
                cid = f"add:class:{tcls.iri}"
                self.added_ids[tcls.iri] = cid
                self.changes.append(ProposedChange(
                    id=cid, action="add", kind="class", iri=tcls.iri,
                    summary=f"add class {tcls.name} ({new.evidence or 'extracted'})",
                    element=tcls,
                ))
            elif _substance(tcls) != _substance(old):
                if _user_owned(old):
                    self.kept.append(old.iri)
                    continue
                update = tcls.model_copy(update={"label": old.label, "comment": old.comment})
                self.changes.append(ProposedChange(
                    id=f"update:class:{old.iri}", action="update", kind="class", iri=old.iri,
                    summary=f"update class {old.name}: key → "
                            f"{[local_name(k) for k in update.key]}",
                    element=update,
                ))

    def property_changes(self, matches: list[tuple[Property, Element | None]]) -> None:
        """``add`` for new properties, ``update`` for machine-made ones whose substance
        changed; people's elements are kept."""
        for newp, oldp in matches:
            data = newp.model_dump()
            data["iri"] = self.iri_map.get(newp.iri, newp.iri)
            data["domain"] = self.tr(newp.domain)
            if isinstance(newp, ObjectProperty):
                data["range"] = self.tr(newp.range)
            translated: Property = type(newp)(**data)
            kind = _kind(translated)
            if oldp is None:
                if _origin("property", newp) in self.suppressed or \
                        self.base.element(translated.iri):
                    continue
                pid = f"add:{kind}:{translated.iri}"
                self.added_ids[translated.iri] = pid
                self.changes.append(ProposedChange(
                    id=pid, action="add", kind=kind, iri=translated.iri,
                    summary=f"add {kind.replace('_', ' ')} {translated.name} ({newp.evidence})",
                    element=translated,
                ))
            elif _substance(translated) != _substance(oldp):
                if _user_owned(oldp):
                    self.kept.append(oldp.iri)
                    continue
                pupdate = translated.model_copy(update={
                    "iri": oldp.iri, "label": oldp.label, "comment": oldp.comment})
                self.changes.append(ProposedChange(
                    id=f"update:{kind}:{oldp.iri}", action="update", kind=kind, iri=oldp.iri,
                    summary=f"update {local_name(oldp.iri)}: {_describe(oldp, pupdate)}",
                    element=pupdate,
                ))


def _with_dependencies(changes: Sequence[ProposedChange],
                       added_ids: dict[str, str]) -> list[ProposedChange]:
    """Each change with the ids of the added elements it refers to (accepted with it)."""
    resolved = []
    for change in changes:
        refs = _references(change.element)
        needs = sorted({added_ids[r] for r in refs if r in added_ids and
                        added_ids[r] != change.id})
        resolved.append(change.model_copy(update={"requires": needs}))
    return resolved


def _describe(old: Element, new: Element) -> str:
    parts = []
    if _kind(old) != _kind(new):
        parts.append(f"{_kind(old)} → {_kind(new)}")
    for f in ("range", "functional", "domain", "unit", "date_order", "match_on"):
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
