"""The JSON form of stored values: one rule for every backend and every kind of table.

Rows come back from plugins as canonical Python values (see `storage_plugins.rows`); REST,
MCP, exports and pipeline contexts need JSON. Converting by column type, here, instead of
leaving it to whichever encoder a caller happens to use, is what makes a decimal look the
same whether it was read from PostgreSQL or Delta, from a class table or a raw table.

===========================  =============  =============================================
XSD type (column type)       JSON type      form
===========================  =============  =============================================
string, token, … (string)    string         the text
anyURI (anyURI)              string         the IRI
integer, int, long, …        number         an integer (signed 64-bit)
decimal (decimal)            number         a number, e.g. ``120.5`` (binary double: exact
                                            to 15 significant digits; export to Parquet
                                            for more)
double, float (double)       number         e.g. ``1.5``
boolean (boolean)            true / false
date (date)                  string         ``"2024-03-10"``
dateTime (dateTime)          string         ``"2024-03-10T02:30:15.123456Z"``: always UTC,
                                            always ``Z``, microseconds only when not zero
time (time)                  string         ``"23:59:59.999999"`` (no zone)
hexBinary, base64Binary      string         base64 (standard alphabet, padded)
rdf:JSON (json)              any            the JSON value itself
===========================  =============  =============================================

NULL is ``null`` everywhere.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from storage_plugins.schema import ColumnType, Table


def _datetime(value: datetime) -> str:
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


def _decimal(value: Decimal) -> float:
    return float(value)


def _date(value: date) -> str:
    return value.isoformat()


def _time(value: time) -> str:
    return value.isoformat()


def _binary(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _same(value: Any) -> Any:
    return value


_ENCODERS: dict[ColumnType, Callable[[Any], Any]] = {
    ColumnType.STRING: _same,
    ColumnType.ANY_URI: _same,
    ColumnType.INTEGER: _same,
    ColumnType.DOUBLE: _same,
    ColumnType.DECIMAL: _decimal,
    ColumnType.BOOLEAN: _same,
    ColumnType.DATE: _date,
    ColumnType.DATETIME: _datetime,
    ColumnType.TIME: _time,
    ColumnType.BINARY: _binary,
    ColumnType.JSON: _same,
}


def json_value(ctype: ColumnType, value: Any) -> Any:
    """The JSON form of one canonical value of a column of type `ctype`."""
    if value is None:
        return None
    return _ENCODERS[ctype](value)


def json_row(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON form of a row read from `table` (any subset of its columns).

    >>> from storage_plugins.schema import Column
    >>> t = Table(name="t", columns=[Column(name="id", type="integer", nullable=False),
    ...     Column(name="price", type="decimal", scale=10)], primary_key=["id"])
    >>> json_row(t, {"id": 1, "price": Decimal("120.5000000000")})
    {'id': 1, 'price': 120.5}
    """
    types = {c.name: c.type for c in table.columns}
    return {name: json_value(types[name], value) for name, value in row.items()}
