"""Profile records (tabular rows and nested JSON) on a bounded sample.

Extraction (`ontology.extract`) decides from these profiles; this module only counts. It
reads at most `ProfileOptions.sample_rows` records per record type and keeps at most
`ProfileOptions.max_distinct` distinct values per column, so memory and time stay bounded
whatever the input size; a profile says when it was truncated.

Values are classified into kinds: ``boolean``, ``integer``, ``decimal``, ``date``,
``dateTime``, ``time``, ``anyURI``, ``string`` (scalars), ``object`` (a nested record),
``list``; missing values (None, NaN, empty strings and tokens like ``n/a``) count as
missing, not as strings. Numbers, booleans and dates given as text count as their kind
("42" is an integer), except digit strings with a leading zero ("007", zip codes), which
are identifiers and stay strings.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from itertools import islice
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MISSING_TOKENS = frozenset(
    {"", "null", "none", "nil", "na", "n/a", "nan", "-", "--", "?", "#n/a", "undefined"}
)
SCALAR_KINDS = ("boolean", "integer", "decimal", "date", "dateTime", "time", "anyURI", "string")

_INT = re.compile(r"^[+-]?(0|[1-9]\d{0,17})$")
_DEC = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$")
_URI = re.compile(r"^(https?://[^\s/$.?#][^\s]*|urn:[a-z0-9][a-z0-9-]{0,31}:\S+|mailto:\S+@\S+)$",
                  re.IGNORECASE)
_BOOL = {"true": True, "false": False}


class ProfileOptions(BaseModel):
    """Bounds of profiling."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sample_rows: int = Field(
        default=50_000, ge=1, description="Records read per record type (the rest is skipped)."
    )
    max_distinct: int = Field(
        default=50_000, ge=1, description="Distinct values remembered per column."
    )
    max_depth: int = Field(default=6, ge=0, description="Nesting depth followed into objects.")
    key_rows: int = Field(
        default=20_000, ge=1,
        description="Records kept (normalised scalars only) to test composite keys.",
    )


def is_missing(value: Any) -> bool:
    """True for None, NaN and missing-value tokens such as ``""`` or ``"n/a"``."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return value.strip().lower() in MISSING_TOKENS
    return False


def classify_text(text: str) -> str:
    """The kind of a (stripped, non-missing) string.

    >>> [classify_text(t) for t in ["42", "007", "3.5", "TRUE", "2024-02-29",
    ...     "2024-02-29T10:00:00Z", "https://ex.org/x", "hello"]]
    ['integer', 'string', 'decimal', 'boolean', 'date', 'dateTime', 'anyURI', 'string']
    """
    first = text[:1]
    if first.isdigit() or first in "+-.":
        if _INT.match(text):
            return "integer"
        if _DEC.match(text) and not (len(text) > 1 and text[0] == "0" and text[1].isdigit()):
            return "decimal"
        if _DATE.match(text):
            try:
                date.fromisoformat(text)
                return "date"
            except ValueError:
                return "string"
        if _DATETIME.match(text):
            try:
                datetime.fromisoformat(text)
                return "dateTime"
            except ValueError:
                return "string"
        if _TIME.match(text):
            try:
                time.fromisoformat(text)
                return "time"
            except ValueError:
                return "string"
        return "string"
    if text.lower() in _BOOL:
        return "boolean"
    if _URI.match(text):
        return "anyURI"
    return "string"


def classify(value: Any) -> tuple[str, str | None, bool]:
    """``(kind, normalised text, given as text)`` of a non-missing value.

    The normalised text is what keys and references are compared on (``42`` and ``"42"``
    match); None for kinds that never identify anything (decimals, booleans, nested).
    """
    if isinstance(value, bool):
        return "boolean", None, False
    if isinstance(value, int):
        return "integer", str(value), False
    if isinstance(value, float | Decimal):
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return "integer", str(int(value)), False
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return "integer", str(int(value)), False
        return "decimal", None, False
    if isinstance(value, datetime):
        return "dateTime", value.isoformat(), False
    if isinstance(value, date):
        return "date", value.isoformat(), False
    if isinstance(value, time):
        return "time", value.isoformat(), False
    if isinstance(value, Mapping):
        return "object", None, False
    if isinstance(value, list | tuple):
        return "list", None, False
    text = str(value).strip()
    kind = classify_text(text)
    if kind == "integer":
        return kind, str(int(text)), True
    return kind, (None if kind in ("decimal", "boolean") else text), True


@dataclass
class ColumnProfile:
    """Counts for one field of one record type."""

    name: str
    order: int
    present: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    as_text: int = 0
    distinct: dict[str, str] = field(default_factory=dict)
    overflow: bool = False
    examples: dict[str, str] = field(default_factory=dict)
    element_kinds: Counter[str] = field(default_factory=Counter)
    element_distinct: set[str] = field(default_factory=set)
    child: str | None = None
    list_of_objects: int = 0
    single_objects: int = 0

    def remember(self, norm: str, kind: str, limit: int) -> None:
        if norm in self.distinct:
            return
        if len(self.distinct) >= limit:
            self.overflow = True
            return
        self.distinct[norm] = kind

    @property
    def scalar_kinds(self) -> Counter[str]:
        """Kinds of scalar values only."""
        return Counter({k: v for k, v in self.kinds.items() if k in SCALAR_KINDS})


@dataclass
class TypeProfile:
    """Counts for one record type: a source, or a nested object path within one."""

    name: str
    source: str
    path: str | None
    parent: str | None = None
    via: str | None = None
    rows: int = 0
    truncated: bool = False
    columns: dict[str, ColumnProfile] = field(default_factory=dict)
    key_rows: list[dict[str, str]] = field(default_factory=list)

    @property
    def column_path(self) -> str | None:
        """Dotted path of this type within its source (None at the top)."""
        return self.path

    def field_path(self, name: str) -> str:
        """Dotted path of a field of this type within the source."""
        return f"{self.path}.{name}" if self.path else name


# --------------------------------------------------------------------------- naming

_IRREGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman",
              "data": "data", "status": "status", "address": "address", "news": "news",
              "series": "series", "analysis": "analysis", "process": "process"}


def tokens(name: str) -> list[str]:
    """Lower-case word tokens of a field or class name (snake, kebab and camel case)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def singular(word: str) -> str:
    """A light English singulariser for record-type names ("orders" → "order")."""
    w = word.lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        return w[:-1]
    return w


def class_name(name: str) -> str:
    """PascalCase singular class name for a source or field name ("order_lines" → "OrderLine")."""
    parts = tokens(name) or ["record"]
    parts[-1] = singular(parts[-1])
    text = "".join(p[:1].upper() + p[1:] for p in parts)
    return text if text[:1].isalpha() else "T" + text


def property_name(name: str) -> str:
    """A valid local name for a field, kept as close to the original as possible."""
    text = re.sub(r"[^A-Za-z0-9_\-.]+", "_", name.strip()).strip("_.-")
    if not text:
        return "field"
    return text if (text[0].isalpha() or text[0] == "_") else "_" + text


# --------------------------------------------------------------------------- profiling

class _Profiler:
    def __init__(self, options: ProfileOptions) -> None:
        self.options = options
        self.types: dict[str, TypeProfile] = {}
        self.by_path: dict[tuple[str, str | None], str] = {}

    def type_for(self, source: str, path: str | None, base_name: str,
                 parent: TypeProfile | None, via: str | None) -> TypeProfile:
        key = (source, path)
        if key in self.by_path:
            return self.types[self.by_path[key]]
        name = class_name(base_name)
        if name in self.types and parent is not None:
            name = parent.name + name
        while name in self.types:
            name += "_"
        profile = TypeProfile(name=name, source=source, path=path,
                              parent=parent.name if parent else None, via=via)
        self.types[name] = profile
        self.by_path[key] = name
        return profile

    def record(self, profile: TypeProfile, record: Mapping[str, Any], depth: int) -> None:
        if profile.rows >= self.options.sample_rows:
            profile.truncated = True
            return
        profile.rows += 1
        keep_row = len(profile.key_rows) < self.options.key_rows
        row: dict[str, str] = {}
        limit = self.options.max_distinct
        for raw_name, value in record.items():
            name = str(raw_name)
            col = profile.columns.get(name)
            if col is None:
                col = profile.columns[name] = ColumnProfile(name=name, order=len(profile.columns))
            if is_missing(value):
                continue
            if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            col.present += 1
            if isinstance(value, str):
                text = value.strip()
                cached = col.distinct.get(text)
                if cached is not None:
                    col.kinds[cached] += 1
                    col.as_text += 1
                    if keep_row:
                        row[name] = text
                    continue
            kind, norm, as_text = classify(value)
            col.kinds[kind] += 1
            col.as_text += as_text
            if kind not in col.examples:
                col.examples[kind] = repr(value)[:60]
            if norm is not None:
                col.remember(norm, kind, limit)
                if keep_row:
                    row[name] = norm
            if kind == "object" and depth < self.options.max_depth:
                col.single_objects += 1
                child = self.type_for(profile.source, profile.field_path(name), name, profile, name)
                col.child = child.name
                self.record(child, value, depth + 1)
            elif kind == "list":
                self.list_values(profile, col, name, value, depth)
        if keep_row:
            profile.key_rows.append(row)

    def list_values(self, profile: TypeProfile, col: ColumnProfile, name: str,
                    items: Iterable[Any], depth: int) -> None:
        objects = False
        for item in items:
            if is_missing(item):
                continue
            if isinstance(item, Mapping):
                objects = True
                if depth < self.options.max_depth:
                    child = self.type_for(profile.source, profile.field_path(name), name,
                                          profile, name)
                    col.child = child.name
                    self.record(child, item, depth + 1)
                continue
            kind, norm, _ = classify(item)
            col.element_kinds[kind] += 1
            if norm is not None and len(col.element_distinct) < self.options.max_distinct:
                col.element_distinct.add(norm)
            elif norm is not None:
                col.overflow = True
        if objects:
            col.list_of_objects += 1


def profile_sources(
    sources: Mapping[str, Iterable[Mapping[str, Any]]],
    options: ProfileOptions | None = None,
) -> dict[str, TypeProfile]:
    """Profile every source (name → records); nested objects become their own types.

    >>> p = profile_sources({"orders": [{"id": "1", "lines": [{"sku": "A"}]}]})
    >>> sorted(p), p["Order"].columns["id"].kinds["integer"], p["Line"].parent
    (['Line', 'Order'], 1, 'Order')
    """
    opts = options or ProfileOptions()
    profiler = _Profiler(opts)
    for source, records in sources.items():
        top = profiler.type_for(source, None, source, None, None)
        iterator = iter(records)
        for record in islice(iterator, opts.sample_rows):
            if isinstance(record, Mapping):
                profiler.record(top, record, 0)
        if next(iterator, None) is not None:
            top.truncated = True
    return profiler.types
