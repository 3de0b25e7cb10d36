"""Row validation and query building, without any backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from storage_plugins.errors import InvalidCursor, InvalidQuery, RowRejected
from storage_plugins.query import And, Filter, Op, Or, OrderBy, build_query, keyset_after
from storage_plugins.rows import key_index, prepare_rows
from storage_plugins.schema import Column, Table

TABLE = Table(
    name="t",
    columns=[
        Column(name="id", type="integer", nullable=False),
        Column(name="name", type="string", max_length=5),
        Column(name="price", type="decimal", precision=6, scale=2),
        Column(name="at", type="dateTime"),
        Column(name="x", type="double"),
        Column(name="doc", type="json"),
    ],
    primary_key=["id"],
)


def _rows(rows: list[dict[str, Any]], chunk_rows: int = 2) -> list[list[list[Any]]]:
    return [c.columns for c in prepare_rows(TABLE, rows, keys=key_index(TABLE),
                                            chunk_rows=chunk_rows)]


def test_canonical_values() -> None:
    at = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    chunks = _rows([
        {"id": 1, "name": "abc", "price": 3, "at": at, "x": 2, "doc": {"b": [1]}},
        {"id": 2, "price": 1.5, "x": 0.25, "doc": "s"},
        {"id": 3, "price": Decimal("-0.10")},
    ])
    ids, names, prices, ats, xs, docs = (a + b for a, b in zip(*chunks, strict=True))
    assert ids == [1, 2, 3]
    assert names == ["abc", None, None]
    assert prices == [Decimal("3.00"), Decimal("1.50"), Decimal("-0.10")]
    assert ats[0] == at and ats[0].tzinfo is UTC and ats[1] is None
    assert xs == [2.0, 0.25, None] and type(xs[0]) is float
    assert docs == ['{"b":[1]}', '"s"', None]


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ({"id": 9, "name": "toolong"}, "name", "exceeds max_length 5"),
        ({"id": 9, "price": Decimal("10000")}, "price", "digits before"),
        ({"id": 9, "price": Decimal("1.005")}, "price", "digits after"),
        ({"id": 9, "price": Decimal("NaN")}, "price", "finite"),
        ({"id": 9, "price": "1.5"}, "price", "expected a Decimal"),
        ({"id": 9, "at": datetime(2024, 1, 1)}, "at", "naive datetime"),
        ({"id": 9, "x": float("-inf")}, "x", "finite"),
        ({"id": 9, "x": 10**400}, "x", "too large"),
        ({"id": 9, "doc": {1, 2}}, "doc", "JSON"),
        ({"id": 9, "doc": "\x00"}, "doc", "NUL"),
        ({"id": 9, "name": "\ud800"}, "name", "surrogate"),
        ({"id": 9, "other": 1}, "other", "unknown column"),
        ({"id": None}, "id", "not nullable"),
    ],
)
def test_rejections_name_row_and_column(row: dict[str, Any], column: str, reason: str) -> None:
    rows = [{"id": 1}, {"id": 2}, {"id": 3}, row]
    with pytest.raises(RowRejected, match=reason) as info:
        _rows(rows)
    assert (info.value.row, info.value.column, info.value.table) == (3, column, "t")
    assert "nothing written" in str(info.value)


def test_rejects_non_mappings_and_duplicate_keys() -> None:
    with pytest.raises(RowRejected, match="expected a mapping") as info:
        _rows([{"id": 1}, ["id", 2]])  # type: ignore[list-item]
    assert info.value.row == 1 and info.value.column is None
    with pytest.raises(RowRejected, match="repeated") as info:
        _rows([{"id": 1}, {"id": 2}, {"id": 3}, {"id": 1}])
    assert info.value.row == 3
    with pytest.raises(RowRejected, match="repeated") as info:
        _rows([{"id": 1}, {"id": 1}], chunk_rows=10)
    assert info.value.row == 1


def test_prepare_is_lazy() -> None:
    produced = []

    def rows() -> Any:
        for i in range(10):
            produced.append(i)
            yield {"id": i}

    chunks = prepare_rows(TABLE, rows(), chunk_rows=3)
    first = next(chunks)
    assert first.start == 0 and first.size == 3 and produced == [0, 1, 2]
    assert [c.start for c in chunks] == [3, 6, 9]
    assert first.tuples()[1][0] == 1


def test_build_query_adds_key_and_validates() -> None:
    query = build_query(TABLE, where=[("x", "gt", 1)], order_by=["-name"])
    assert query.order == (OrderBy(column="name", descending=True), OrderBy(column="id"))
    assert query.where == (Filter("x", "gt", 1.0),)
    assert query.fetch_columns == tuple(TABLE.column_names)
    narrow = build_query(TABLE, columns=["x"], order_by=[("at", "desc")])
    assert narrow.fetch_columns == ("x", "at", "id")
    with pytest.raises(InvalidQuery, match="twice"):
        build_query(TABLE, order_by=["x", "-x"])
    with pytest.raises(InvalidQuery, match="direction"):
        build_query(TABLE, order_by=[("x", "up")])
    with pytest.raises(InvalidQuery, match="limit"):
        build_query(TABLE, limit=-1)
    with pytest.raises(InvalidQuery, match="not a string"):
        build_query(TABLE, columns="x")
    assert build_query(TABLE, where=[Filter("name", "eq", "longer than five")]).where


def test_filter_operands_are_canonical() -> None:
    query = build_query(TABLE, where=[
        Filter("price", "in", [1, Decimal("2.5")]),
        Filter("at", "ge", datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))),
        Filter("doc", "is_null"),
    ])
    assert query.where[0].value == (Decimal("1.00"), Decimal("2.50"))
    assert query.where[1].value == datetime(2024, 1, 1, tzinfo=UTC)
    assert query.where[2] == Filter("doc", Op.IS_NULL, True)


def test_cursor_round_trip_and_tamper_detection() -> None:
    query = build_query(TABLE, where=[Filter("x", "gt", 0)], order_by=["price"], limit=2)
    row = {"price": Decimal("1.50"), "id": 7}
    cursor = query.cursor_after(row)
    resumed = build_query(TABLE, where=[Filter("x", "gt", 0)], order_by=["price"],
                          cursor=cursor)
    assert resumed.after == keyset_after(resumed.order, [Decimal("1.50"), 7])
    with pytest.raises(InvalidCursor, match="different query"):
        build_query(TABLE, where=[Filter("x", "gt", 1)], order_by=["price"], cursor=cursor)
    with pytest.raises(InvalidCursor, match="malformed"):
        build_query(TABLE, order_by=["price"], cursor=cursor[:-3])


def test_keyset_predicate_shape() -> None:
    order = (OrderBy(column="name", descending=True), OrderBy(column="id"))
    after_value = keyset_after(order, ["bob", 3])
    assert after_value == Or((
        Or((Filter("name", "lt", "bob"), Filter("name", "is_null", True))),
        And((Filter("name", "eq", "bob"), Filter("id", "gt", 3))),
    ))
    after_null = keyset_after(order, [None, 3])  # descending: NULLs come last
    assert after_null == Or((And((Filter("name", "is_null", True), Filter("id", "gt", 3))),))
