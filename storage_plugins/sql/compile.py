"""Predicates and orderings (`storage_plugins.query`) → SQLAlchemy Core expressions.

Values always become bound parameters typed by their column (so SQLite's decimal encoding
and UTC datetimes apply to filter operands too); identifiers come from the schema only.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from storage_plugins.query import And, Filter, Op, Or, OrderBy, Predicate, Query
from storage_plugins.schema import Table


def _filter(flt: Filter, table: sa.Table) -> ColumnElement[bool]:
    col = table.c[flt.column]
    op, value = flt.op, flt.value
    if op is Op.IS_NULL:
        return col.is_(None) if value else col.is_not(None)
    if op is Op.IN:
        return col.in_(list(value)) if value else sa.false()
    if op is Op.LIKE:
        return col.like(value, escape="\\")
    value = sa.literal(value, col.type)  # a typed bind, also for True/False
    if op is Op.EQ:
        return col == value
    if op is Op.NE:
        return col != value
    if op is Op.LT:
        return col < value
    if op is Op.LE:
        return col <= value
    if op is Op.GT:
        return col > value
    return col >= value


def where_clause(predicate: Predicate | None, table: sa.Table) -> ColumnElement[bool] | None:
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


def order_clauses(order: tuple[OrderBy, ...], schema: Table, table: sa.Table) -> list[Any]:
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
    query: Query, table: sa.Table, *, ordered: bool = True, columns: tuple[str, ...] | None = None
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
