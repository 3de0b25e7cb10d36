"""Fixture data of the conformance suite (`storage_plugins.testing`).

Kept apart so that the suite reads as behaviour. Expected results are written out by
hand, not computed, so that a test can only pass when a plugin really behaves as stated:
NULLs never match comparisons and sort first, strings compare by code point, datetimes
are instants, decimals are exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from storage_plugins.query import Filter
from storage_plugins.schema import Column, ColumnType, Index, Table

TZ_PLUS = timezone(timedelta(hours=5, minutes=30))
TZ_MINUS = timezone(-timedelta(hours=8))

# ------------------------------------------------------------------ fixture data

EVERYTHING = Table(
    name="everything",
    columns=[
        Column(name="id", type=ColumnType.INTEGER, nullable=False),
        Column(name="s", type=ColumnType.STRING),
        Column(name="i", type=ColumnType.INTEGER),
        Column(name="dec", type=ColumnType.DECIMAL, precision=38, scale=10),
        Column(name="dbl", type=ColumnType.DOUBLE),
        Column(name="b", type=ColumnType.BOOLEAN),
        Column(name="d", type=ColumnType.DATE),
        Column(name="dt", type=ColumnType.DATETIME),
        Column(name="t", type=ColumnType.TIME),
        Column(name="uri", type=ColumnType.ANY_URI),
        Column(name="bin", type=ColumnType.BINARY),
        Column(name="js", type=ColumnType.JSON),
    ],
    primary_key=["id"],
)

EDGE_ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "s": "héllo wörld ✓ 日本語 🎉 \u202ertl e\u0301",
        "i": 2**63 - 1,
        "dec": Decimal("9999999999999999999999999999.9999999999"),
        "dbl": 1.7976931348623157e308,
        "b": True,
        "d": date(9999, 12, 31),
        "dt": datetime(2024, 3, 10, 2, 30, 15, 123456, tzinfo=TZ_PLUS),
        "t": time(23, 59, 59, 999999),
        "uri": "https://example.org/ä?q=1#frag",
        "bin": bytes(range(256)),
        "js": {"k": [1, 2.5, None, True, "ü"], "n": {"deep": {"x": 2**60}}},
    },
    {
        "id": 2,
        "s": "",
        "i": -(2**63),
        "dec": Decimal("-9999999999999999999999999999.9999999999"),
        "dbl": -2.2250738585072014e-308,
        "b": False,
        "d": date(1000, 1, 1),
        "dt": datetime(1900, 1, 1, tzinfo=TZ_MINUS),
        "t": time(0, 0),
        "uri": "urn:isbn:0451450523",
        "bin": b"",
        "js": [],
    },
    {"id": 3},
    {
        "id": 4,
        "s": "x" * 500_000 + "€" * 500_000,
        "i": 0,
        "dec": Decimal("0.0000000001"),
        "dbl": 5e-300,
        "b": True,
        "d": date(2000, 2, 29),
        "dt": datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        "t": time(12, 0, 0, 1),
        "uri": "https://example.org/" + "p/" * 1000,
        "bin": bytes(range(256)) * 4000,
        "js": {"big": "y" * 100_000, "list": list(range(1000))},
    },
    {
        "id": 5,
        "s": "line\nbreak\ttab\\backslash'quote\"dq%_",
        "dec": Decimal("-0.5"),
        "dbl": -0.125,
        "js": "just a string",
    },
    {"id": 6, "js": 0, "dec": 42, "dbl": 7},
]

PERSON = Table(
    name="person",
    columns=[
        Column(name="id", type=ColumnType.INTEGER, nullable=False),
        Column(name="name", type=ColumnType.STRING),
        Column(name="age", type=ColumnType.INTEGER),
        Column(name="score", type=ColumnType.DOUBLE),
        Column(name="balance", type=ColumnType.DECIMAL, precision=12, scale=2),
        Column(name="born", type=ColumnType.DATE),
        Column(name="seen", type=ColumnType.DATETIME),
        Column(name="active", type=ColumnType.BOOLEAN),
        Column(name="homepage", type=ColumnType.ANY_URI),
        Column(name="tags", type=ColumnType.JSON),
    ],
    primary_key=["id"],
    indexes=[Index(columns=["name"]), Index(columns=["age", "score"])],
)

_D = Decimal
JAN1 = datetime(2024, 1, 1, tzinfo=UTC)
PEOPLE: list[dict[str, Any]] = [
    {"id": 0, "name": "Alice", "age": 30, "score": 1.5, "balance": _D("10.00"),
     "born": date(1990, 1, 1), "seen": JAN1, "active": True,
     "homepage": "https://a.example/", "tags": ["x"]},
    {"id": 1, "name": "bob", "age": 25, "score": -2.0, "balance": _D("-5.50"),
     "born": date(1999, 12, 31), "seen": datetime(2024, 1, 1, 6, 0, tzinfo=TZ_PLUS),
     "active": False, "homepage": None, "tags": None},
    {"id": 2, "name": "Émile", "age": None, "score": 0.0, "balance": _D("0.01"),
     "born": None, "seen": None, "active": None,
     "homepage": "https://e.example/x_y", "tags": {"a": 1}},
    {"id": 3, "name": "alice", "age": 41, "score": 1e10, "balance": _D("99999.99"),
     "born": date(2000, 2, 29), "seen": datetime(2023, 12, 31, 20, 0, tzinfo=TZ_MINUS),
     "active": True, "homepage": "urn:x", "tags": []},
    {"id": 4, "name": None, "age": 30, "score": None, "balance": None,
     "born": date(1970, 1, 1), "seen": datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
     "active": False, "homepage": None, "tags": None},
    {"id": 5, "name": "a_b%c", "age": 18, "score": 3.25, "balance": _D("1.00"),
     "born": date(2010, 6, 15), "seen": datetime(2025, 6, 1, 12, 0, tzinfo=UTC),
     "active": True, "homepage": None, "tags": None},
    {"id": 6, "name": "ALICE", "age": 60, "score": 2.5, "balance": _D("0.00"),
     "born": date(1964, 3, 3), "seen": datetime(2020, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
     "active": None, "homepage": "https://a.example/", "tags": None},
    {"id": 7, "name": "Zoë", "age": 25, "score": 1.5, "balance": _D("10.00"),
     "born": date(1990, 1, 1), "seen": JAN1, "active": True, "homepage": None, "tags": None},
]

FILTER_CASES: list[tuple[list[Filter], list[int]]] = [
    ([Filter("name", "eq", "alice")], [3]),
    ([Filter("name", "ne", "alice")], [0, 1, 2, 5, 6, 7]),
    ([Filter("age", "lt", 30)], [1, 5, 7]),
    ([Filter("age", "le", 30)], [0, 1, 4, 5, 7]),
    ([Filter("age", "gt", 30)], [3, 6]),
    ([Filter("age", "ge", 41)], [3, 6]),
    ([Filter("age", "in", [25, 60, 99])], [1, 6, 7]),
    ([Filter("age", "in", [])], []),
    ([Filter("age", "is_null", True)], [2]),
    ([Filter("age", "is_null", False)], [0, 1, 3, 4, 5, 6, 7]),
    ([Filter("name", "like", "alice")], [3]),
    ([Filter("name", "like", "%lic%")], [0, 3]),
    ([Filter("name", "like", "a\\_b\\%c")], [5]),
    ([Filter("name", "like", "a_b%")], [5]),
    ([Filter("name", "like", "_ob")], [1]),
    ([Filter("name", "like", "%ë")], [7]),
    ([Filter("name", "like", "É%")], [2]),
    ([Filter("score", "gt", 1.5)], [3, 5, 6]),
    ([Filter("score", "eq", 1.5)], [0, 7]),
    ([Filter("score", "le", 0)], [1, 2]),
    ([Filter("balance", "ge", _D("10"))], [0, 3, 7]),
    ([Filter("balance", "lt", 0)], [1]),
    ([Filter("balance", "eq", _D("0.01"))], [2]),
    ([Filter("balance", "in", [_D("1"), _D("0.00")])], [5, 6]),
    ([Filter("born", "gt", date(1999, 12, 31))], [3, 5]),
    ([Filter("born", "eq", date(1990, 1, 1))], [0, 7]),
    ([Filter("seen", "eq", datetime(2024, 1, 1, 0, 30, tzinfo=UTC))], [1]),
    ([Filter("seen", "lt", JAN1)], [6]),
    ([Filter("seen", "gt", JAN1)], [1, 3, 4, 5]),
    ([Filter("seen", "le", datetime(2024, 1, 1, 5, 30, tzinfo=TZ_PLUS))], [0, 6, 7]),
    ([Filter("active", "eq", True)], [0, 3, 5, 7]),
    ([Filter("active", "ne", True)], [1, 4]),
    ([Filter("homepage", "eq", "https://a.example/")], [0, 6]),
    ([Filter("homepage", "like", "https://%")], [0, 2, 6]),
    ([Filter("tags", "is_null", False)], [0, 2, 3]),
    ([Filter("age", "ge", 25), Filter("active", "eq", True)], [0, 3, 7]),
    ([Filter("name", "like", "%l%"), Filter("age", "is_null", False), Filter("id", "ne", 0)],
     [3]),
]

ORDER_CASES: list[tuple[list[Any], list[int]]] = [
    (["age"], [2, 5, 1, 7, 0, 4, 3, 6]),
    (["-age"], [6, 3, 0, 4, 1, 7, 5, 2]),
    (["name"], [4, 6, 0, 7, 5, 3, 1, 2]),
    ([("score", "desc"), "name"], [3, 5, 6, 0, 7, 2, 1, 4]),
    (["-seen"], [5, 3, 1, 4, 0, 7, 6, 2]),
    (["balance"], [4, 1, 6, 2, 5, 0, 7, 3]),
    (["active", "-id"], [6, 2, 4, 1, 7, 5, 3, 0]),
    (["born"], [2, 6, 4, 0, 7, 1, 3, 5]),
    (["homepage"], [1, 4, 5, 7, 0, 6, 2, 3]),
    (["-id"], [7, 6, 5, 4, 3, 2, 1, 0]),
]

BAD_VALUES: list[tuple[dict[str, Any], str]] = [
    ({"dt": datetime(2024, 1, 1)}, "dt"),
    ({"dbl": float("nan")}, "dbl"),
    ({"dbl": float("inf")}, "dbl"),
    ({"s": "a\x00b"}, "s"),
    ({"i": True}, "i"),
    ({"i": 2**63}, "i"),
    ({"i": "12"}, "i"),
    ({"dec": _D("1.00000000001")}, "dec"),
    ({"dec": _D("1e28")}, "dec"),
    ({"d": datetime(2024, 1, 1, tzinfo=UTC)}, "d"),
    ({"t": time(1, tzinfo=UTC)}, "t"),
    ({"bin": "text"}, "bin"),
    ({"js": {"a": object()}}, "js"),
    ({"js": float("nan")}, "js"),
    ({"uri": 5}, "uri"),
    ({"b": 1}, "b"),
    ({"nope": 1}, "nope"),
    ({"id": None}, "id"),
    ({"id": "7"}, "id"),
]

# The JSON form (storage_plugins.jsonform) of some EDGE_ROWS, written out by hand.
EDGE_JSON: dict[int, dict[str, Any]] = {
    2: {
        "id": 2, "s": "", "i": -(2**63), "dec": -1e28, "dbl": -2.2250738585072014e-308,
        "b": False, "d": "1000-01-01", "dt": "1900-01-01T08:00:00Z", "t": "00:00:00",
        "uri": "urn:isbn:0451450523", "bin": "", "js": [],
    },
    3: {"id": 3, "s": None, "i": None, "dec": None, "dbl": None, "b": None, "d": None,
        "dt": None, "t": None, "uri": None, "bin": None, "js": None},
    6: {"id": 6, "s": None, "i": None, "dec": 42.0, "dbl": 7.0, "b": None, "d": None,
        "dt": None, "t": None, "uri": None, "bin": None, "js": 0},
}
PERSON_JSON_0: dict[str, Any] = {
    "id": 0, "name": "Alice", "age": 30, "score": 1.5, "balance": 10.0, "born": "1990-01-01",
    "seen": "2024-01-01T00:00:00Z", "active": True, "homepage": "https://a.example/",
    "tags": ["x"],
}
PERSON_JSON_4_SEEN = "2024-01-01T00:00:00.000001Z"
