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
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from itertools import islice
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MISSING_TOKENS = frozenset(
    {"", "null", "none", "nil", "na", "n/a", "nan", "-", "--", "?", "#n/a", "undefined"}
)
_QUOTES = ("'", '"')
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
_BOOL = {"true": True, "false": False, "yes": True, "no": False, "y": True, "n": False,
         "on": True, "off": False}
_DMY = re.compile(  # 05/03/2024, 5.3.2024, 05-03-2024, optionally with a time and a zone
    r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?)?$",
    re.IGNORECASE,
)
_ZONE_NAME = re.compile(r"\s*(UTC|GMT)$", re.IGNORECASE)
_UNIT = re.compile(r"^(?P<base>.*?)\s*[(\[](?P<unit>[^()\[\]]{1,16})[)\]]\s*$")
_UNIT_TEXT = re.compile(
    r"^(?:%|‰|°[CFK]?|[A-Za-zµΩ€$£¥°]{1,5}(?:[²³0-9]|\^-?\d)?"
    r"(?:\s?[/·*.]\s?[A-Za-zµΩ€$£¥°]{1,5}(?:[²³0-9]|\^-?\d)?){0,2})$"
)
_NOT_UNITS = frozenset({"yes/no", "y/n", "true/false", "optional", "opt", "old", "new", "id",
                        "todo", "tbd", "approx", "est", "sic", "note", "notes", "deprecated"})


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
        text = value.strip()
        if text.lower() in MISSING_TOKENS:
            return True
        return text[:1] in _QUOTES and unquote(text).lower() in MISSING_TOKENS
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
        if _DATETIME.match(text) or _DATETIME.match(_ZONE_NAME.sub("Z", text)):
            try:
                datetime.fromisoformat(_ZONE_NAME.sub("+00:00", text))
                return "dateTime"
            except ValueError:
                return "string"
        found = _DMY.match(text)
        if found:
            if parse_day_month(text, None) is None:
                return "string"
            return "dateTime" if found.group(5) else "date"
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


def unquote(text: str) -> str:
    """`text` without surrounding blanks and one pair of matching quotes around it.

    >>> unquote('  "42" '), unquote("'Oslo'"), unquote('"a" and "b"')
    ('42', 'Oslo', '"a" and "b"')
    """
    text = text.strip()
    first = text[:1]
    if (first == '"' or first == "'") and len(text) >= 2 and text[-1] == first \
            and first not in text[1:-1]:
        return text[1:-1].strip()
    return text


def date_order_of(text: str) -> str | None:
    """For a day/month date: ``DMY`` or ``MDY`` when the text says which, ``either`` when
    both parts are ≤ 12; None for ISO dates and anything else.

    >>> [date_order_of(t) for t in ["25/03/2024", "03/25/2024", "03/04/2024", "2024-03-04"]]
    ['DMY', 'MDY', 'either', None]
    """
    found = _DMY.match(text)
    if not found:
        return None
    first, second = int(found.group(1)), int(found.group(3))
    if first > 12 >= second:
        return "DMY"
    if second > 12 >= first:
        return "MDY"
    return "either" if first <= 12 and second <= 12 else None


def parse_day_month(text: str, order: str | None) -> date | datetime | None:
    """A day/month date (or date-time) read in `order` (``DMY``/``MDY``; None: the order
    the text itself shows, day first when both parts are ≤ 12). None when it is not one.
    Date-times with a zone are aware; without one they are naive.

    >>> parse_day_month("05/03/2024 14:30 +01:00", "DMY").isoformat()
    '2024-03-05T14:30:00+01:00'
    >>> parse_day_month("05/03/2024", "MDY")
    datetime.date(2024, 5, 3)
    """
    found = _DMY.match(text.strip())
    if not found:
        return None
    first, second, year = int(found.group(1)), int(found.group(3)), int(found.group(4))
    shown = date_order_of(text.strip())
    use = order or (shown if shown in ("DMY", "MDY") else "DMY")
    day, month = (first, second) if use == "DMY" else (second, first)
    try:
        day_value = date(year, month, day)
        if not found.group(5):
            return day_value
        fraction = (found.group(8) or "").ljust(6, "0")
        zone_text = (found.group(9) or "").upper()
        moment = datetime(year, month, day, int(found.group(5)), int(found.group(6)),
                          int(found.group(7) or 0), int(fraction or 0))
    except ValueError:
        return None
    if zone_text in ("Z", "UTC", "GMT"):
        return moment.replace(tzinfo=UTC)
    if zone_text:
        sign = 1 if zone_text[0] == "+" else -1
        digits = zone_text[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return moment.replace(tzinfo=timezone(sign * offset))
    return moment


def split_unit(header: str) -> tuple[str, str | None]:
    """A header's name and the unit in its trailing brackets, if they hold one.

    >>> split_unit("Rated Power (kW)"), split_unit("Hub height [m]"), split_unit("Name (opt)")
    (('Rated Power', 'kW'), ('Hub height', 'm'), ('Name (opt)', None))
    >>> split_unit("Speed (m/s)"), split_unit("Share (%)"), split_unit("Temp [°C]")
    (('Speed', 'm/s'), ('Share', '%'), ('Temp', '°C'))
    """
    found = _UNIT.match(header)
    if not found or not found.group("base").strip():
        return header, None
    unit = found.group("unit").strip()
    if unit.lower() in _NOT_UNITS or not _UNIT_TEXT.match(unit):
        return header, None
    return found.group("base").strip(), unit


def clean_header(name: str) -> str:
    """A field name without a byte-order mark, padding or surrounding quotes.

    >>> clean_header('\\ufeff"id" ')
    'id'
    """
    return unquote(name.replace("\ufeff", ""))


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
    if text[:1] in _QUOTES:
        text = unquote(text)
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
    date_orders: Counter[str] = field(default_factory=Counter)
    boolean_words: Counter[str] = field(default_factory=Counter)

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
    """A valid local name for a field: kept as it is when it already is one (``customer_id``,
    ``employeeNo``); a header written for people (spaces, punctuation, brackets, a capital
    first letter) becomes lower snake case without its unit.

    >>> property_name("customer_id"), property_name("Rated Power (kW)"), property_name("E-mail")
    ('customer_id', 'rated_power', 'e_mail')
    """
    name = clean_header(name)
    if re.search(r"[^A-Za-z0-9_]", name) or name[:1].isupper():  # a header written for people
        base, _ = split_unit(name)
        words = tokens(base)
        if words:
            name = "_".join(words)
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
        self.names: dict[Any, str] = {}  # raw field name → clean name (BOM, padding, quotes)

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
        names = self.names
        for raw_name, value in record.items():
            name = names.get(raw_name)
            if name is None:
                name = names[raw_name] = clean_header(str(raw_name))
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
                if text[:1] in _QUOTES:
                    text = unquote(text)
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
            if as_text and kind in ("date", "dateTime") and norm is not None:
                col.date_orders[date_order_of(norm) or "ISO"] += 1
            if as_text and kind == "boolean":
                col.boolean_words[unquote(str(value)).lower()] += 1
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
