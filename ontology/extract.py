"""Infer a data ontology from ingested records.

`extract` takes records per source (``{"orders": [...], "employees": [...]}``; rows may
nest objects and lists) and returns an `OntologyModel` in which every element carries a
confidence (0..1) and its provenance (source, column, evidence):

* **classes**: one per source, one per nested object path (``orders.lines`` → ``Line``),
  linked to the parent by an object property (functional for a single object,
  non-functional for a list of objects);
* **datatype properties** with the narrowest XSD type that covers every present value
  (``integer`` ⊂ ``decimal``, ``date`` ⊂ ``dateTime``; numbers, booleans and dates given as
  text count; missing values never vote); lists of scalars become ``rdf:JSON``;
* **keys** (``owl:hasKey``): the best unique, never-missing column (name evidence such as
  ``id``/``_no``/``code`` and position break ties), else a unique pair of columns;
* **relationships**: a column whose values all occur among another class's key values is
  an object property to that class (functional: one value per record; a list of such
  values is non-functional). Name evidence (``customer_id`` → Customer) and value evidence
  (how unlikely the inclusion is by chance) both count, so ``approver`` holding employee
  numbers is found although its name says nothing, while ``quantity`` (1..10) is not taken
  for a reference to customers numbered 1..200.

Confidence scoring is explained next to each rule below; a value near 1 means "several
independent signals agree on a large sample", near 0.5 "plausible, look at it".
"""

from __future__ import annotations

import math
import time as timer
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ontology.model import (
    RDF,
    XSD,
    DatatypeProperty,
    DateOrder,
    ObjectProperty,
    OntologyClass,
    OntologyModel,
)
from ontology.profile import (
    ColumnProfile,
    ProfileOptions,
    TypeProfile,
    profile_sources,
    property_name,
    singular,
    split_unit,
    tokens,
)

DEFAULT_BASE = "https://mimir-aip.dev/ontology/extracted#"

# kind → the kinds a type covers, narrowest type first
_LATTICE: list[tuple[str, frozenset[str]]] = [
    ("boolean", frozenset({"boolean"})),
    ("integer", frozenset({"integer"})),
    ("decimal", frozenset({"integer", "decimal"})),
    ("date", frozenset({"date"})),
    ("dateTime", frozenset({"date", "dateTime"})),
    ("time", frozenset({"time"})),
    ("anyURI", frozenset({"anyURI"})),
]
_KEY_TYPES = {"integer", "string", "anyURI"}
_ID_TOKENS = {"id", "key", "uuid", "guid", "code", "no", "nr", "num", "number", "sku", "isbn",
              "ean", "ref", "fk", "pk", "identifier"}


class ExtractOptions(ProfileOptions):
    """Bounds and thresholds of extraction."""

    type_tolerance: float = Field(
        default=0.0, ge=0.0, le=0.2,
        description=(
            "Share of present values allowed to disagree with the inferred type (0: every "
            "value must fit, so ingestion never rejects a value extraction has seen)."
        ),
    )
    min_inclusion: float = Field(
        default=0.99, ge=0.5, le=1.0,
        description="Share of a column's distinct values that must be keys of the target.",
    )


class SourceSummary(BaseModel):
    """What extraction read from one record type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    class_iri: str = Field(description="The class inferred for the record type.")
    source: str = Field(description="The source the records came from.")
    path: str | None = Field(description="Dotted path of nested records (None at the top).")
    rows: int = Field(ge=0, description="Records profiled.")
    truncated: bool = Field(description="True when more records existed than were profiled.")


class ExtractionResult(BaseModel):
    """The inferred ontology and what it was inferred from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: OntologyModel = Field(description="The inferred ontology.")
    sources: list[SourceSummary] = Field(description="One entry per record type.")
    seconds: float = Field(ge=0, description="Wall-clock time of the extraction.")


# --------------------------------------------------------------------------- types

@dataclass
class _TypeGuess:
    xsd: str
    confidence: float
    evidence: str
    date_order: DateOrder | None = None


def _fmt_kinds(col: ColumnProfile) -> str:
    parts = [f"{k}:{n}" for k, n in col.scalar_kinds.most_common()]
    return ", ".join(parts)


def infer_type(col: ColumnProfile, rows: int, tolerance: float = 0.0) -> _TypeGuess:
    """The XSD type of a scalar column, with confidence and evidence.

    Confidence starts at 0.97 and drops when the type had to be widened (integer and
    decimal values → decimal), when values disagree (tolerance), when most values were
    text, and when few values were seen (< 30, < 10, < 3).
    """
    kinds = col.scalar_kinds
    n = sum(kinds.values())
    if n == 0:
        return _TypeGuess(XSD + "string", 0.3, f"no values in {rows} records; assumed string")
    chosen, coverage = "string", 1.0
    for name, covers in _LATTICE:
        cov = sum(kinds[k] for k in covers) / n
        if cov >= 1.0 - tolerance and cov > 0:
            chosen, coverage = name, cov
            break
    conf = 0.97
    dominant = kinds.most_common(1)[0][0]
    if chosen == "string" and dominant != "string":
        conf = 0.6  # mixed kinds that no narrower type covers
    elif chosen != dominant or len(kinds) > 1:
        conf -= 0.07  # widened
    conf -= (1.0 - coverage) * 5
    if chosen != "string" and col.as_text > n / 2:
        conf -= 0.04
    if n < 3:
        conf *= 0.6
    elif n < 10:
        conf *= 0.8
    elif n < 30:
        conf *= 0.9
    text = f" ({col.as_text} given as text)" if col.as_text and chosen != "string" else ""
    evidence = f"{n} of {rows} values present; {_fmt_kinds(col)}{text}"
    if coverage < 1.0:
        evidence += f"; {round((1 - coverage) * n)} value(s) do not fit {chosen}"
    order = None
    if chosen in ("date", "dateTime"):
        chosen, order, conf, evidence = _date_order(col, chosen, conf, evidence)
    elif chosen == "boolean" and col.boolean_words:
        words = "/".join(sorted(col.boolean_words))
        evidence += f"; written as {words}"
    return _TypeGuess(XSD + chosen, round(max(0.05, min(conf, 0.99)), 3), evidence, order)


def _date_order(col: ColumnProfile, chosen: str, conf: float,
                evidence: str) -> tuple[str, DateOrder | None, float, str]:
    """How day/month dates of a date column are ordered (DMY, MDY), from the values that
    show it (a part above 12); a column where both orders occur cannot be read one way and
    stays text; a column where no value shows it is read day first at low confidence."""
    orders = col.date_orders
    dmy, mdy, either = orders["DMY"], orders["MDY"], orders["either"]
    if not (dmy or mdy or either):
        return chosen, None, conf, evidence
    formats = f"{orders['ISO']} ISO, {dmy + mdy + either} day/month"
    if dmy and mdy:
        return ("string", None, 0.5, evidence + f"; dates written day first ({dmy}) and "
                f"month first ({mdy}) both occur, so they cannot be read one way: kept as text")
    if dmy or mdy:
        order: DateOrder = "DMY" if dmy else "MDY"
        return chosen, order, conf, evidence + (
            f"; formats: {formats}; {dmy or mdy} value(s) show the order {order}")
    return chosen, "DMY", min(conf, 0.6), evidence + (
        f"; formats: {formats}; the day/month order of {either} value(s) cannot be told "
        "(both parts ≤ 12): assumed day first (DMY), check it")


# --------------------------------------------------------------------------- keys

def _key_name_score(col: str, cls: str) -> float:
    toks = tokens(col)
    if not toks:
        return 0.0
    ctoks = tokens(cls)
    if toks == ["id"]:
        return 0.8
    score = 0.0
    if toks[-1] in _ID_TOKENS:
        score = 0.6
        if toks[:-1] and [singular(t) for t in toks[:-1]] == [singular(t) for t in ctoks]:
            score = 0.85
    elif toks[-1] in {"email", "uri", "url", "username", "login", "slug"}:
        score = 0.3
    return score


@dataclass
class _Key:
    columns: list[str]
    confidence: float
    evidence: str


def _unique_columns(tp: TypeProfile, types: Mapping[str, str]) -> list[ColumnProfile]:
    out = []
    for col in tp.columns.values():
        if types.get(col.name) not in _KEY_TYPES or col.overflow:
            continue
        if col.present == tp.rows and len(col.distinct) == tp.rows and tp.rows >= 2:
            out.append(col)
    return out


def infer_key(tp: TypeProfile, types: Mapping[str, str]) -> _Key | None:
    """The best key of a record type (see module docstring); None when nothing is unique.

    Key confidence = 0.55 + up to 0.25 for sample size (1000 records or more: full) +
    up to 0.2 for name evidence; at most 0.5 on fewer than 3 records.
    """
    size = min(1.0, math.log10(max(tp.rows, 1)) / 3)
    candidates = _unique_columns(tp, types)
    if candidates:
        def score(c: ColumnProfile) -> tuple[float, int]:
            return (_key_name_score(c.name, tp.name) + (0.15 if c.order == 0 else 0.0), -c.order)

        best = max(candidates, key=score)
        name_score = _key_name_score(best.name, tp.name)
        conf = 0.55 + 0.25 * size + 0.2 * min(1.0, name_score)
        if tp.rows < 3:
            conf = min(conf, 0.5)
        others = [c.name for c in candidates if c is not best]
        evidence = f"unique and never missing in {tp.rows} records"
        if name_score:
            evidence += "; name suggests an identifier"
        if others:
            evidence += f"; other unique columns: {', '.join(others[:5])}"
        return _Key([best.name], round(min(conf, 0.99), 3), evidence)
    if tp.parent is not None:
        return _shared_object_key(tp, types, size)
    if tp.rows < 4:
        return None
    return _composite_key(tp, types, size)


def _shared_object_key(tp: TypeProfile, types: Mapping[str, str], size: float) -> _Key | None:
    """The key of nested objects that many records share (an operator inside each site).

    The nested records are deduplicated; a never-missing column whose name says it
    identifies something (``operator_id``, ``code``, ``name``, ``email``) and that is unique
    among the distinct objects identifies them, so each is stored once and the records
    refer to it. Objects that are not shared (or a column that is not unique among them)
    get no key: they stay parts of their parent.
    """
    rows = tp.key_rows
    objects = {tuple(sorted(r.items())) for r in rows}
    if len(rows) < 4 or len(objects) < 2 or len(objects) > len(rows) / 2:
        return None
    distinct = [dict(o) for o in objects]
    ranked = sorted(tp.columns.values(),
                    key=lambda c: (-_shared_name_score(c.name, tp.name), c.order))
    for col in ranked:
        name_score = _shared_name_score(col.name, tp.name)
        if name_score < 0.3:
            break
        if types.get(col.name) not in _KEY_TYPES or col.present != tp.rows:
            continue
        values = [o.get(col.name) for o in distinct]
        if None in values or len(set(values)) != len(values):
            continue
        conf = 0.5 + 0.2 * size + 0.25 * min(1.0, name_score)
        return _Key([col.name], round(min(conf, 0.95), 3), (
            f"{tp.rows} nested records are {len(objects)} distinct objects shared by several "
            f"records; {col.name} is never missing and unique among them"))
    return None


def _shared_name_score(col: str, cls: str) -> float:
    toks = tokens(col)
    if toks and toks[-1] in {"name", "title"}:
        return 0.3
    return _key_name_score(col, cls)


def _composite_key(tp: TypeProfile, types: Mapping[str, str], size: float) -> _Key | None:
    usable = [
        c for c in tp.columns.values()
        if c.present == tp.rows and types.get(c.name) in _KEY_TYPES | {"date"}
        and len(c.distinct) > 1
    ]
    usable.sort(key=lambda c: (-_key_name_score(c.name, tp.name), c.order))
    usable = usable[:6]
    rows = tp.key_rows
    usable = [c for c in usable if len({r.get(c.name) for r in rows}) < len(rows)]
    for i, a in enumerate(usable):
        for b in usable[i + 1 :]:
            if max(_key_name_score(a.name, tp.name), _key_name_score(b.name, tp.name)) < 0.6:
                continue
            pairs = {(r.get(a.name), r.get(b.name)) for r in rows}
            if len(pairs) == len(rows):
                conf = 0.5 + 0.25 * size
                return _Key(
                    [a.name, b.name], round(conf, 3),
                    f"the pair is unique and never missing in {len(rows)} records, "
                    "while neither column alone is",
                )
    return None


# --------------------------------------------------------------------------- relationships

def reference_name_score(column: str, target_class: str, target_key: str) -> float:
    """How strongly a column's name says it refers to `target_class` (0..1).

    >>> reference_name_score("customer_id", "Customer", "id")
    1.0
    >>> reference_name_score("approver", "Employee", "employee_no")
    0.0
    """
    toks = tokens(column)
    ctoks = [singular(t) for t in tokens(target_class)]
    ktoks = tokens(target_key)
    if not toks:
        return 0.0
    had_suffix = toks[-1] in _ID_TOKENS
    base = [singular(t) for t in (toks[:-1] if had_suffix and len(toks) > 1 else toks)]
    if toks == ktoks and len(ktoks) > 1:
        return 0.9
    if base == ctoks:
        return 1.0 if had_suffix else 0.85
    if [singular(t) for t in toks] == ctoks + [singular(t) for t in ktoks]:
        return 0.95  # class name + key name: vehicle_plate → Vehicle.plate
    if len(base) > len(ctoks) and base[-len(ctoks):] == ctoks:
        return 0.75
    joined, cjoined = "".join(base), "".join(ctoks)
    if len(joined) >= 3 and cjoined.startswith(joined):
        return 0.7
    if set(ctoks) <= set(base):
        return 0.6
    return 0.3 if had_suffix else 0.0


def _value_score(values: set[str], target: TypeProfile, key: ColumnProfile) -> float:
    """How unlikely it is that `values` fall inside the target's keys by chance (0..1)."""
    keys = key.distinct
    if all(v.lstrip("-").isdigit() for v in values):
        ints = [int(k) for k in keys if k.lstrip("-").isdigit()]
        if ints and min(ints) <= 1 and max(ints) - min(ints) + 1 == len(ints):
            return 0.3  # 1..N surrogate numbers: any small integer column fits
    if len(values) >= 5:
        return 0.9
    if len(values) >= 3:
        return 0.7
    return 0.4


@dataclass
class _Reference:
    target: str
    functional: bool
    confidence: float
    evidence: str
    match_on: str | None = None  # a unique non-key column of the target the values hold


def find_reference(
    tp: TypeProfile,
    col: ColumnProfile,
    values: set[str],
    functional: bool,
    keys: Mapping[str, _Key],
    profiles: Mapping[str, TypeProfile],
    own_key: bool,
    min_inclusion: float,
    alternate_keys: Mapping[str, list[ColumnProfile]] | None = None,
) -> _Reference | None:
    """The class whose single-column key contains (nearly) all `values`, if credible.

    Accepted when at least `min_inclusion` of the values are target keys and the name
    score is ≥ 0.6 or the value score is ≥ 0.7 (or inclusion ≥ 0.9 with a name score
    ≥ 0.7). Confidence = inclusion * (0.5 + 0.5 * combined), where combined =
    1 - (1 - name)(1 - value); a near tie between two targets costs 0.15.
    """
    if not values:
        return None
    alternate_keys = alternate_keys or {}
    found: list[tuple[float, float, float, str, str, bool]] = []
    for target_name, key in keys.items():
        if len(key.columns) != 1:
            continue
        target = profiles[target_name]
        key_col = target.columns[key.columns[0]]
        candidates = [(key_col, True)] + [
            (c, False) for c in alternate_keys.get(target_name, []) if c is not key_col]
        for target_col, is_key in candidates:
            if target_name == tp.name and target_col.name == col.name:
                continue
            name = reference_name_score(col.name, target_name, key_col.name)
            if own_key and name < 0.7:
                continue
            hits = sum(1 for v in values if v in target_col.distinct)
            ratio = hits / len(values)
            if is_key and target.truncated and ratio < min_inclusion and name >= 0.7 \
                    and ratio >= 0.2:
                ratio = min_inclusion  # the target was sampled; its other keys are unseen
            value = _value_score(values, target, target_col)
            if is_key:
                accepted = (ratio >= min_inclusion and (name >= 0.6 or value >= 0.7)) or (
                    ratio >= 0.9 and name >= 0.7
                )
            else:  # a name or e-mail instead of the id: values must say it on their own
                accepted = ratio >= min_inclusion and value >= 0.7 and len(values) >= 3
            if not accepted:
                continue
            combined = 1 - (1 - name) * (1 - value)
            conf = ratio * (0.5 + 0.5 * combined) - (0 if is_key else 0.05)
            found.append((conf, name, value, target_name, target_col.name, is_key))
    if not found:
        return None
    found.sort(key=lambda f: (-f[0], -f[1], not f[5],
                              len(profiles[f[3]].columns[f[4]].distinct)))
    conf, name, value, target_name, target_col_name, is_key = found[0]
    what = "keys" if is_key else "unique values (not the key)"
    evidence = (
        f"{len(values)} distinct value(s) of {tp.field_path(col.name)} occur among the "
        f"{len(profiles[target_name].columns[target_col_name].distinct)} {what} "
        f"{target_name}.{target_col_name}; name evidence {name:.2f}, value evidence {value:.2f}"
    )
    if not is_key:
        evidence += f"; records are matched to {target_name} by {target_col_name}"
    if len(found) > 1 and found[1][0] >= conf - 0.05:
        conf -= 0.15
        evidence += f"; also fits {found[1][3]}.{found[1][4]}"
    return _Reference(target_name, functional, round(max(0.05, min(conf, 0.99)), 3), evidence,
                      None if is_key else target_col_name)


# --------------------------------------------------------------------------- model

def _namespace(base_iri: str) -> str:
    return base_iri if base_iri.endswith(("#", "/")) else base_iri + "#"


def _property_iris(profiles: Mapping[str, TypeProfile],
                   class_iri: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """A unique property IRI per (class, column): ``<class IRI>/<clean column name>``."""
    prop_iris: dict[tuple[str, str], str] = {}
    for tp in profiles.values():
        used: set[str] = set()
        for col in tp.columns.values():
            local = property_name(col.name)
            candidate, n = local, 2
            while candidate in used:
                candidate, n = f"{local}_{n}", n + 1
            used.add(candidate)
            prop_iris[(tp.name, col.name)] = f"{class_iri[tp.name]}/{candidate}"
    return prop_iris


def _infer_types(profiles: Mapping[str, TypeProfile],
                 opts: ExtractOptions) -> dict[tuple[str, str], _TypeGuess]:
    """Step 1: the XSD type of every scalar column (nested objects and lists have none)."""
    guesses: dict[tuple[str, str], _TypeGuess] = {}
    for tp in profiles.values():
        for col in tp.columns.values():
            if col.child is None and not col.kinds.get("list") and not col.kinds.get("object"):
                guesses[(tp.name, col.name)] = infer_type(col, tp.rows, opts.type_tolerance)
    return guesses


def _infer_keys(profiles: Mapping[str, TypeProfile],
                types: Mapping[str, Mapping[str, str]]) -> dict[str, _Key]:
    """Step 2: the key of every record type that has one."""
    keys: dict[str, _Key] = {}
    for tp in profiles.values():
        key = infer_key(tp, types[tp.name])
        if key is not None:
            keys[tp.name] = key
    return keys


def _find_references(profiles: Mapping[str, TypeProfile],
                     types: Mapping[str, Mapping[str, str]], keys: Mapping[str, _Key],
                     opts: ExtractOptions) -> dict[tuple[str, str], _Reference]:
    """Step 3: relationships by value inclusion (scalar columns and lists of scalars)."""
    references: dict[tuple[str, str], _Reference] = {}
    alternates = {
        tp.name: [c for c in _unique_columns(tp, types[tp.name])
                  if types[tp.name].get(c.name) == "string"]
        for tp in profiles.values() if tp.name in keys and tp.parent is None
    }
    for tp in profiles.values():
        own = set(keys[tp.name].columns) if tp.name in keys else set()
        for col in tp.columns.values():
            scalar_type = types[tp.name].get(col.name)
            if scalar_type in {"integer", "string", "anyURI"}:
                values = set(col.distinct)
                functional = True
            elif col.child is None and col.kinds.get("list") and col.element_kinds and set(
                col.element_kinds
            ) <= {"integer", "string", "anyURI"}:
                values = set(col.element_distinct)
                functional = False
            else:
                continue
            ref = find_reference(tp, col, values, functional, keys, profiles,
                                 col.name in own, opts.min_inclusion, alternates)
            if ref is not None:
                references[(tp.name, col.name)] = ref
    return references


def _build_elements(
    profiles: Mapping[str, TypeProfile],
    class_iri: Mapping[str, str],
    prop_iris: Mapping[tuple[str, str], str],
    guesses: Mapping[tuple[str, str], _TypeGuess],
    keys: Mapping[str, _Key],
    references: Mapping[tuple[str, str], _Reference],
) -> tuple[list[OntologyClass], list[DatatypeProperty], list[ObjectProperty]]:
    """Step 4: classes, datatype properties and object properties with their provenance."""
    classes: list[OntologyClass] = []
    dps: list[DatatypeProperty] = []
    ops: list[ObjectProperty] = []
    for tp in profiles.values():
        key = keys.get(tp.name)
        nested = tp.path is not None
        classes.append(OntologyClass(
            iri=class_iri[tp.name],
            label=tp.name,
            confidence=0.9 if nested else 0.99,
            source=tp.source,
            column=tp.path,
            evidence=(f"{tp.rows} nested record(s) at {tp.source}.{tp.path}" if nested
                      else f"{tp.rows} record(s) in source {tp.source!r}"),
            key=[prop_iris[(tp.name, c)] for c in key.columns] if key else [],
            key_confidence=key.confidence if key else None,
            key_evidence=key.evidence if key else None,
        ))
        for col in tp.columns.values():
            iri = prop_iris[(tp.name, col.name)]
            common: dict[str, Any] = {
                "iri": iri, "label": col.name, "domain": [class_iri[tp.name]],
                "source": tp.source, "column": tp.field_path(col.name),
            }
            ref = references.get((tp.name, col.name))
            if col.child is not None and (col.single_objects or col.list_of_objects) \
                    and not col.scalar_kinds and not col.element_kinds:
                functional = col.list_of_objects == 0
                shape = "an object" if functional else "a list of objects"
                ops.append(ObjectProperty(
                    **common, range=[class_iri[col.child]], functional=functional,
                    confidence=0.95,
                    evidence=f"{col.present} of {tp.rows} records hold {shape} here",
                ))
            elif ref is not None:
                ops.append(ObjectProperty(
                    **common, range=[class_iri[ref.target]], functional=ref.functional,
                    confidence=ref.confidence, evidence=ref.evidence,
                    match_on=prop_iris[(ref.target, ref.match_on)] if ref.match_on else None,
                ))
            elif (tp.name, col.name) in guesses:
                guess = guesses[(tp.name, col.name)]
                _, unit = split_unit(col.name)
                evidence = guess.evidence + (f"; unit {unit} from the header" if unit else "")
                dps.append(DatatypeProperty(
                    **common, range=guess.xsd, functional=True,
                    confidence=guess.confidence, evidence=evidence, unit=unit,
                    date_order=guess.date_order,
                ))
            else:
                what = ", ".join(f"{k}:{n}" for k, n in col.kinds.most_common())
                dps.append(DatatypeProperty(
                    **common, range=RDF + "JSON", functional=True, confidence=0.8,
                    evidence=f"nested values kept as JSON ({what})",
                ))
    return classes, dps, ops


def extract(
    sources: Mapping[str, Iterable[Mapping[str, Any]]],
    *,
    base_iri: str = DEFAULT_BASE,
    options: ExtractOptions | None = None,
) -> ExtractionResult:
    """Infer classes, typed attributes, keys and relationships from `sources`.

    >>> r = extract({"customers": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bo"}],
    ...              "orders": [{"no": "A1", "customer_id": 2, "total": "9.50"},
    ...                         {"no": "A2", "customer_id": 1, "total": "12"}]},
    ...             base_iri="http://ex.org/shop#")
    >>> [(p.name, p.range[0].split("#")[1]) for p in r.model.object_properties]
    [('customer_id', 'Customer')]
    >>> r.model.get_property("Order/total").range
    'http://www.w3.org/2001/XMLSchema#decimal'
    """
    started = timer.monotonic()
    opts = options or ExtractOptions()
    profiles = profile_sources(sources, opts)
    ns = _namespace(base_iri)
    class_iri = {name: ns + name for name in profiles}
    prop_iris = _property_iris(profiles, class_iri)
    guesses = _infer_types(profiles, opts)
    types: dict[str, dict[str, str]] = {name: {} for name in profiles}
    for (type_name, column), guess in guesses.items():
        types[type_name][column] = guess.xsd[len(XSD):]
    keys = _infer_keys(profiles, types)
    references = _find_references(profiles, types, keys, opts)
    classes, dps, ops = _build_elements(profiles, class_iri, prop_iris, guesses, keys,
                                        references)
    model = OntologyModel(
        iri=ns.rstrip("#"),
        prefixes={"": ns},
        classes=classes,
        datatype_properties=dps,
        object_properties=ops,
    )
    summaries = [
        SourceSummary(class_iri=class_iri[tp.name], source=tp.source, path=tp.path,
                      rows=tp.rows, truncated=tp.truncated)
        for tp in profiles.values()
    ]
    return ExtractionResult(
        model=model, sources=summaries, seconds=round(timer.monotonic() - started, 4)
    )
