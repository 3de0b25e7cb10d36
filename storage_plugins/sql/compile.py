"""Predicates and orderings (`storage_plugins.query`) → SQLAlchemy Core expressions.

Values always become bound parameters typed by their column (so SQLite's decimal encoding
and UTC datetimes apply to filter operands too); identifiers come from the schema only.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from storage_plugins.query import And, Filter, Op, Or, OrderBy, Predicate, Query
from storage_plugins.schema import Table

_COMPARISONS: dict[Op, Callable[[Any, Any], ColumnElement[bool]]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


def _is_null(col: Any, value: Any) -> ColumnElement[bool]:
    return col.is_(None) if value else col.is_not(None)


def _in(col: Any, value: Any) -> ColumnElement[bool]:
    return col.in_(list(value)) if value else sa.false()


def _like(col: Any, value: Any) -> ColumnElement[bool]:
    return col.like(value, escape="\\")


_SPECIAL: dict[Op, Callable[[Any, Any], ColumnElement[bool]]] = {
    Op.IS_NULL: _is_null,
    Op.IN: _in,
    Op.LIKE: _like,
}


def _filter(flt: Filter, table: Any) -> ColumnElement[bool]:
    col = table.c[flt.column]
    special = _SPECIAL.get(flt.op)
    if special is not None:
        return special(col, flt.value)
    return _COMPARISONS[flt.op](col, sa.literal(flt.value, col.type))  # a typed bind


def where_clause(predicate: Predicate | None, table: Any) -> ColumnElement[bool] | None:
    """The SQL condition for `predicate` (None: no condition)."""
    if predicate is None:
        return None
    if isinstance(predicate, Filter):
        return _filter(predicate, table)
    parts = [where_clause(p, table) for p in predicate.items]
    clauses = [p for p in parts if p is not None]
    if isinstance(predicate, And):
        return sa.and_(sa.true(), *clauses) if clauses else sa.true()
    assert isinstance(predicate, Or)
    return sa.or_(sa.false(), *clauses) if clauses else sa.false()


def order_clauses(order: tuple[OrderBy, ...], schema: Table, table: Any) -> list[Any]:
    """ORDER BY terms with NULLs first ascending and last descending, on every dialect.

    ``NULLS FIRST`` is not portable (MySQL lacks it), so nullable columns get an explicit
    ``(col IS NULL)`` term in front.
    """
    terms: list[Any] = []
    for key in order:
        col = table.c[key.column]
        if schema.column(key.column).nullable:
            is_null = col.is_(None)
            terms.append(is_null.asc() if key.descending else is_null.desc())
        terms.append(col.desc() if key.descending else col.asc())
    return terms


def select_statement(
    query: Query, table: Any, *, ordered: bool = True, columns: tuple[str, ...] | None = None
) -> sa.Select[Any]:
    """SELECT for a query: its fetch columns, condition, order and ``limit + 1`` rows."""
    names = query.fetch_columns if columns is None else columns
    stmt = sa.select(*(table.c[n] for n in names))
    condition = where_clause(query.predicate, table)
    if condition is not None:
        stmt = stmt.where(condition)
    if ordered:
        stmt = stmt.order_by(*order_clauses(query.order, query.table, table))
    if query.limit is not None:
        stmt = stmt.limit(query.limit + 1)
    return stmt
