"""Map records written "by class" to rows of the compiled tables.

``storage.write`` with ``class: Order`` calls `map_records` (or a reusable `row_mapper`):
each record uses the ontology's field names (a property's local name, its label or the
source column it was extracted from) and may nest related records (``customer: {...}``,
``lines: [{...}]``) or give related records by key (``customer_id: 7``). The result holds
rows per table, already converted to the canonical Python values the storage layer expects,
and a report of rejected records: a record with any bad value is rejected whole (with its
index, the field path and the reason) and none of its rows are written.

Conversions are lenient where the meaning is unambiguous: ``"42"`` → 42 for integers,
``"true"``/``"0"`` → booleans, ISO text → dates and times, numbers → text for string
columns. Missing values (None, ``""``, ``"n/a"`` …) become NULL except in string columns,
where only None is NULL. Naive date-times are taken as UTC; decimals are rounded to the
column's scale. Identity: key columns come from the class's key properties; a class
without a key gets a ``mimir_id`` derived from the record's ``@id``, else from its own
key values, else from its content (top level) or its position under its parent (nested),
so writing the same input twice upserts the same rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ontology.compile import SURROGATE, ClassMapping, FieldMapping, SchemaMapping
from ontology.profile import (
    MISSING_TOKENS,
    classify_text,
    clean_header,
    date_order_of,
    parse_day_month,
    unquote,
)
from storage_plugins.schema import Column, ColumnType, Table, to_identifier

Unknown = Literal["reject", "ignore"]
Lookup = Callable[[str, str, list[Any]], Mapping[Any, list[Any]]]
"""``lookup(table, column, values)`` → ``{value: key values}`` of the stored rows whose
`column` holds one of `values` (used for references that match on a non-key attribute)."""
_TRUE = {"true", "t", "yes", "y", "on", "1"}
_FALSE = {"false", "f", "no", "n", "off", "0"}
INT64 = 2**63


class RejectedRow(BaseModel):
    """A record that was not mapped, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    row: int = Field(ge=0, description="0-based index of the record in the input.")
    field: str | None = Field(description="Field path of the bad value (None: whole record).")
    reason: str = Field(description="Why the record was rejected.")
    value: str | None = Field(default=None, description="The offending value, shortened.")


class MappedRows(BaseModel):
    """Rows per table for the accepted records, and the rejected ones."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    rows: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="Table name → rows (every column present)."
    )
    accepted: int = Field(default=0, ge=0, description="Records mapped successfully.")
    rejected: list[RejectedRow] = Field(default_factory=list, description="Rejected records.")

    @property
    def tables(self) -> list[str]:
        """Tables with rows, in write order (referenced tables first is not required)."""
        return list(self.rows)


class _Bad(ValueError):
    def __init__(self, field: str | None, reason: str, value: Any = None) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.value = None if value is None else repr(value)[:80]


# --------------------------------------------------------------------------- values

def _missing(value: Any, col: Column) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and col.type not in (ColumnType.STRING, ColumnType.JSON):
        return unquote(value).lower() in MISSING_TOKENS
    return False


def convert(value: Any, col: Column, date_order: str | None = None) -> Any:
    """The canonical value of `value` for `col` (None for missing); raises ValueError.

    Text is read without surrounding blanks or one pair of surrounding quotes (exports
    pad and quote values); `date_order` (``DMY``/``MDY``) says how non-ISO day/month dates
    are written.
    """
    if _missing(value, col):
        return None
    t = col.type
    if isinstance(value, str) and t is not ColumnType.JSON:
        value = unquote(value)
    if t in (ColumnType.STRING, ColumnType.ANY_URI):
        if isinstance(value, bool | Mapping | list | tuple | bytes):
            raise ValueError(f"expected text, got {type(value).__name__}")
        text = value if isinstance(value, str) else str(value)
        if col.max_length is not None and len(text) > col.max_length:
            raise ValueError(f"text of {len(text)} characters exceeds {col.max_length}")
        if "\x00" in text:
            raise ValueError("text contains the NUL character")
        return text
    if t is ColumnType.INTEGER:
        return _integer(value)
    if t is ColumnType.DECIMAL:
        return _decimal(value, col)
    if t is ColumnType.DOUBLE:
        number = float(_decimal(value, None))
        if not math.isfinite(number):
            raise ValueError("not a finite number")
        return number
    if t is ColumnType.BOOLEAN:
        return _boolean(value)
    if t is ColumnType.DATE:
        return _date(value, date_order)
    if t is ColumnType.DATETIME:
        return _datetime(value, date_order)
    if t is ColumnType.TIME:
        if isinstance(value, time):
            return value.replace(tzinfo=None)
        return time.fromisoformat(str(value).strip())
    if t is ColumnType.BINARY:
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        raise ValueError(f"expected bytes, got {type(value).__name__}")
    if t is ColumnType.JSON:
        json.dumps(value, allow_nan=False, default=_json_default)
        return value
    raise ValueError(f"unsupported column type {t}")


def _json_default(value: Any) -> Any:
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):
        if not ((isinstance(value, float) and math.isfinite(value)) or (isinstance(value, Decimal)
                and value.is_finite())) or value != int(value):
            raise ValueError("expected an integer, got a fraction")
        number = int(value)
    elif isinstance(value, str) and classify_text(value.strip()) == "integer":
        number = int(value.strip())
    else:
        raise ValueError("expected an integer")
    if not -INT64 <= number < INT64:
        raise ValueError("integer outside the 64-bit range")
    return number


def _decimal(value: Any, col: Column | None) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    try:
        if isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, int | Decimal):
            number = Decimal(value)
        elif isinstance(value, str) and classify_text(value.strip()) in ("integer", "decimal"):
            number = Decimal(value.strip())
        else:
            raise ValueError("expected a number")
    except InvalidOperation:
        raise ValueError("expected a number") from None
    if not number.is_finite():
        raise ValueError("not a finite number")
    if col is not None:
        scale = col.scale if col.scale is not None else 10
        precision = col.precision or 38
        number = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN)
        if number and number.adjusted() >= precision - scale:
            raise ValueError(f"more than {precision - scale} digits before the decimal point")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError("expected a boolean (true/false, yes/no, y/n, on/off, 1/0)")


def _day_month(text: str, date_order: str | None) -> date | datetime | None:
    """A non-ISO day/month date; an ambiguous one without a known order is an error."""
    if date_order is None and date_order_of(text) == "either":
        raise ValueError(f"the day/month order of {text!r} is ambiguous and the property "
                         "has no date order (DMY or MDY)")
    return parse_day_month(text, date_order)


def _date(value: Any, date_order: str | None = None) -> date:
    if isinstance(value, datetime):
        raise ValueError("expected a date, got a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text)
        found = _day_month(text, date_order)
        if isinstance(found, date) and not isinstance(found, datetime):
            return found
    raise ValueError("expected a date (YYYY-MM-DD or DD/MM/YYYY)")


def _datetime(value: Any, date_order: str | None = None) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        iso = text[:-1] + "+00:00" if text.endswith("Z") else text
        iso = iso[:-4].rstrip() + "+00:00" if iso.upper().endswith((" UTC", " GMT")) else iso
        try:
            moment = datetime.fromisoformat(iso)
        except ValueError:
            found = _day_month(text, date_order)
            if found is None:
                raise ValueError("expected a date-time (ISO 8601 or DD/MM/YYYY hh:mm)") from None
            moment = found if isinstance(found, datetime) else datetime(
                found.year, found.month, found.day)
    else:
        raise ValueError("expected a date-time (ISO 8601)")
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=_json_default, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# --------------------------------------------------------------------------- mapper

class _ClassPlan:
    """Lookup structures for one class, built once per mapper."""

    def __init__(self, mapping: SchemaMapping, tables: dict[str, Table], cm: ClassMapping):
        self.cm = cm
        self.lineage = mapping.lineage(cm.class_iri)
        self.fields: dict[str, tuple[FieldMapping, ClassMapping]] = {}
        by_property: dict[str, FieldMapping] = {}
        for owner in reversed(self.lineage):
            for f in owner.fields:
                by_property[f.property] = f
                for name in f.names:
                    self.fields[name] = (f, owner)
                    self.fields.setdefault(to_identifier(name), (f, owner))
        self.by_property = by_property
        key_table = tables[cm.table]
        self.key_columns = [key_table.column(c) for c in cm.key_columns]
        own = [by_property[p] for p in cm.own_key if p in by_property]
        self.own_key = own


class RowMapper:
    """Maps records of one class to table rows; build once, call `map` per batch."""

    def __init__(self, mapping: SchemaMapping, class_ref: str, *,
                 unknown: Unknown = "reject", lookup: Lookup | None = None) -> None:
        self.mapping = mapping
        self.unknown = unknown
        self.lookup = lookup
        self._matches: dict[tuple[str, str], dict[Any, list[Any]]] = {}
        self.tables = {t.name: t for t in mapping.tabular.tables}
        self._columns = {(t.name, c.name): c for t in mapping.tabular.tables for c in t.columns}
        self._names = {t.name: t.column_names for t in mapping.tabular.tables}
        self._plans: dict[str, _ClassPlan] = {}
        self.root = self._plan(mapping.class_mapping(class_ref).class_iri)

    def _plan(self, class_iri: str) -> _ClassPlan:
        plan = self._plans.get(class_iri)
        if plan is None:
            plan = _ClassPlan(self.mapping, self.tables, self.mapping.class_mapping(class_iri))
            self._plans[class_iri] = plan
        return plan

    def map(self, records: Iterable[Any]) -> MappedRows:
        """Map `records`; bad records are reported, never raised."""
        out: dict[str, dict[Any, dict[str, Any]]] = {}
        rejected: list[RejectedRow] = []
        accepted = 0
        records = list(records)
        self._prefetch(records)
        for index, record in enumerate(records):
            buffer: dict[str, list[dict[str, Any]]] = {}
            try:
                if not isinstance(record, Mapping):
                    raise _Bad(None, f"expected a mapping, got {type(record).__name__}")
                self._record(self.root, record, buffer, "", ("row", index))
            except _Bad as bad:
                rejected.append(RejectedRow(row=index, field=bad.field or None,
                                            reason=bad.reason, value=bad.value))
                continue
            accepted += 1
            for table, rows in buffer.items():
                bucket = out.setdefault(table, {})
                pk = self.tables[table].primary_key
                for row in rows:
                    bucket[tuple(row[c] for c in pk)] = row  # last write wins (upsert)
        return MappedRows(
            rows={t: list(rows.values()) for t, rows in out.items()},
            accepted=accepted, rejected=rejected,
        )

    # ------------------------------------------------------------------ one record

    def _row(self, table: str) -> dict[str, Any]:
        return dict.fromkeys(self._names[table])

    def _key(self, plan: _ClassPlan, record: Mapping[str, Any], path: str,
             position: tuple[Any, ...]) -> list[Any]:
        cm = plan.cm
        if cm.surrogate:
            given = record.get("@id")
            if given is not None and not isinstance(given, Mapping | list):
                return [str(given)]
            if plan.own_key:
                values = [self._value(plan, record, f.names[0], f, path) for f in plan.own_key]
                if all(v is not None for v in values):
                    return [_digest(cm.root, values)]
            if position[0] == "row":
                return [_digest(cm.class_iri, {k: v for k, v in record.items()})]
            return [_digest(*position)]
        values = []
        for col, prop in zip(plan.key_columns, cm.key_properties, strict=True):
            f = plan.by_property.get(prop or "")
            raw = None
            if f is not None:
                raw = next((record[n] for n in f.names if n in record), None)
            try:
                value = convert(raw, col, f.date_order if f else None)
            except (ValueError, TypeError) as exc:
                raise _Bad(_join(path, f.names[0] if f else col.name), str(exc), raw) from None
            if value is None:
                raise _Bad(_join(path, f.names[0] if f else col.name),
                           f"missing key value (the key of {cm.name} is "
                           f"{', '.join(cm.key_columns)})")
            values.append(value)
        return values

    def _value(self, plan: _ClassPlan, record: Mapping[str, Any], name: str,
               f: FieldMapping, path: str) -> Any:
        raw = next((record[n] for n in f.names if n in record), None)
        col = self._columns[(f.table, f.columns[0])]
        try:
            return convert(raw, col, f.date_order)
        except (ValueError, TypeError) as exc:
            raise _Bad(_join(path, name), str(exc), raw) from None

    def _record(self, plan: _ClassPlan, record: Mapping[str, Any],
                buffer: dict[str, list[dict[str, Any]]], path: str,
                position: tuple[Any, ...]) -> list[Any]:
        if any(isinstance(k, str) and k != clean_header(k) for k in record):
            record = {clean_header(k) if isinstance(k, str) else k: v for k, v in record.items()}
        key = self._key(plan, record, path, position)
        rows: dict[str, dict[str, Any]] = {}
        for cm in plan.lineage:
            row = self._row(cm.table)
            row.update(zip(cm.key_columns, key, strict=True))
            rows[cm.table] = row
        for name, raw in record.items():
            if name == "@id":
                continue
            found = plan.fields.get(name) or plan.fields.get(to_identifier(str(name)))
            if found is None:
                if self.unknown == "ignore":
                    continue
                known = sorted({f.names[0] for f, _ in plan.fields.values()})
                raise _Bad(_join(path, str(name)),
                           f"unknown field for {plan.cm.name}; known: {', '.join(known)}")
            f, owner = found
            field_path = _join(path, str(name))
            if f.kind in ("reference", "link") and isinstance(raw, str) \
                    and raw.lstrip()[:1] in ("{", "["):
                with contextlib.suppress(ValueError):
                    raw = json.loads(raw)  # nested values kept as JSON text in the raw area
            if f.kind in ("column", "iri", "iri_list"):
                col = self._columns[(f.table, f.columns[0])]
                if f.kind == "iri_list" and raw is not None and not isinstance(raw, list):
                    raw = [raw]
                try:
                    value = convert(raw, col, f.date_order)
                except (ValueError, TypeError) as exc:
                    raise _Bad(field_path, str(exc), raw) from None
                if f.columns[0] in owner.key_columns and value is not None:
                    continue  # already set (and checked) as part of the key
                rows[owner.table][f.columns[0]] = value
            elif f.kind == "reference":
                if raw is None or (isinstance(raw, str) and raw.strip().lower() in
                                   MISSING_TOKENS):
                    continue
                target = self._target_key(f, raw, buffer, field_path, (key, f.property, 0))
                rows[owner.table].update(zip(f.columns, target, strict=True))
            else:  # link
                items = raw if isinstance(raw, list | tuple) else ([] if raw is None else [raw])
                for i, item in enumerate(items):
                    if item is None:
                        continue
                    target = self._target_key(f, item, buffer, f"{field_path}[{i}]",
                                              (key, f.property, i))
                    link = self._row(f.table)
                    link.update(zip(f.owner_columns, key, strict=True))
                    link.update(zip(f.columns, target, strict=True))
                    buffer.setdefault(f.table, []).append(link)
        for table, row in rows.items():
            buffer.setdefault(table, []).append(row)
        return key

    def _target_key(self, f: FieldMapping, raw: Any, buffer: dict[str, list[dict[str, Any]]],
                    path: str, position: tuple[Any, ...]) -> list[Any]:
        assert f.target is not None
        plan = self._plan(f.target)
        if isinstance(raw, Mapping):
            return self._record(plan, raw, buffer, path, position)
        if f.match_on is not None and not isinstance(raw, list | tuple):
            return self._matched_key(f, plan, raw, path)
        parts = list(raw) if isinstance(raw, list | tuple) else [raw]
        if len(parts) != len(plan.key_columns):
            raise _Bad(path, f"expected {len(plan.key_columns)} key value(s) of "
                             f"{plan.cm.name}", raw)
        values = []
        for part, col in zip(parts, plan.key_columns, strict=True):
            try:
                value = convert(part, col) if col.name != SURROGATE else str(part)
            except (ValueError, TypeError) as exc:
                raise _Bad(path, f"not a key of {plan.cm.name}: {exc}", raw) from None
            if value is None:
                raise _Bad(path, f"missing key of {plan.cm.name}", raw)
            values.append(value)
        return values


    def _match_column(self, f: FieldMapping, plan: _ClassPlan) -> tuple[str, str, Column]:
        """(table, column, column spec) of the target attribute a reference matches on."""
        target_field = plan.by_property.get(f.match_on or "")
        if target_field is None or target_field.kind != "column":
            raise _Bad(None, f"{plan.cm.name} has no column for the matched attribute "
                             f"{f.match_on}")
        table, column = target_field.table, target_field.columns[0]
        return table, column, self._columns[(table, column)]

    def _matched_key(self, f: FieldMapping, plan: _ClassPlan, raw: Any,
                     path: str) -> list[Any]:
        """The key of the target whose matched attribute (a name, an e-mail) equals `raw`."""
        table, column, spec = self._match_column(f, plan)
        try:
            value = convert(raw, spec)
        except (ValueError, TypeError) as exc:
            raise _Bad(path, f"not a {column} of {plan.cm.name}: {exc}", raw) from None
        cache = self._matches.setdefault((table, column), {})
        if value not in cache:
            if self.lookup is None:
                raise _Bad(path, f"{plan.cm.name} is referred to by {column}, which needs the "
                                 "stored rows to look up (no lookup available here)", raw)
            cache.update(self.lookup(table, column, [value]))
        found = cache.get(value)
        if found is None:
            raise _Bad(path, f"no {plan.cm.name} with {column} {value!r} is stored "
                             f"(load {plan.cm.name} first)", raw)
        return list(found)

    def _prefetch(self, records: list[Any]) -> None:
        """One lookup per matched reference field for a whole batch, instead of per value."""
        if self.lookup is None:
            return
        for name, (f, _) in self.root.fields.items():
            if f.match_on is None or f.target is None or name != f.names[0]:
                continue
            plan = self._plan(f.target)
            try:
                table, column, spec = self._match_column(f, plan)
            except _Bad:
                continue
            cache = self._matches.setdefault((table, column), {})
            wanted: set[Any] = set()
            for record in records:
                if not isinstance(record, Mapping):
                    continue
                raw = next((record[n] for n in f.names if n in record), None)
                for item in raw if isinstance(raw, list | tuple) else [raw]:
                    if item is None or isinstance(item, Mapping):
                        continue
                    with contextlib.suppress(ValueError, TypeError):
                        value = convert(item, spec)
                        if value is not None and value not in cache:
                            wanted.add(value)
            if wanted:
                cache.update(self.lookup(table, column, sorted(wanted, key=str)))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def row_mapper(mapping: SchemaMapping, class_ref: str, *, unknown: Unknown = "reject",
               lookup: Lookup | None = None) -> RowMapper:
    """A reusable mapper for records of `class_ref` (IRI, local name or table name);
    `lookup` finds stored targets of references that match on a name or e-mail."""
    return RowMapper(mapping, class_ref, unknown=unknown, lookup=lookup)


def map_records(
    mapping: SchemaMapping,
    class_ref: str,
    records: Iterable[Any],
    *,
    unknown: Unknown = "reject",
    lookup: Lookup | None = None,
) -> MappedRows:
    """Map records of one class to table rows and report the rejected ones.

    >>> from ontology.extract import extract
    >>> from ontology.compile import compile_schema
    >>> m = extract({"customers": [{"id": 1, "since": "2024-01-02"}, {"id": 2}]},
    ...             base_iri="http://ex.org/shop#").model
    >>> out = map_records(compile_schema(m), "Customer",
    ...                   [{"id": "3", "since": "2024-05-01"}, {"id": 4, "since": "soon"}])
    >>> out.rows["customer"], out.rejected[0].row, out.rejected[0].field
    ([{'id': 3, 'since': datetime.date(2024, 5, 1)}], 1, 'since')
    """
    return RowMapper(mapping, class_ref, unknown=unknown, lookup=lookup).map(records)
