"""Predicates and orderings (`storage_plugins.query`) → pyarrow dataset expressions.

Expressions go to `pyarrow.dataset`, which prunes Parquet row groups by their statistics
(predicate pushdown) before decoding anything. Operands become scalars of the column's
stored (Delta) type, so that comparisons never depend on implicit casts.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from storage_plugins.objectstore.physical import physical_type, physical_value
from storage_plugins.query import And, Filter, Op, Or, OrderBy, Predicate
from storage_plugins.schema import Table

_COMPARISONS: dict[Op, Callable[[Any, Any], pc.Expression]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


def _is_null(field: pc.Expression, value: Any, table: Table, column: str) -> pc.Expression:
    return field.is_null() if value else field.is_valid()


def _in(field: pc.Expression, value: Any, table: Table, column: str) -> pc.Expression:
    if not value:
        return pc.scalar(False)
    col = table.column(column)
    values = pa.array([physical_value(col, v) for v in value], type=physical_type(col))
    return field.isin(values)


def _like(field: pc.Expression, value: Any, table: Table, column: str) -> pc.Expression:
    return pc.match_like(field, pattern=value)


_SPECIAL: dict[Op, Callable[[pc.Expression, Any, Table, str], pc.Expression]] = {
    Op.IS_NULL: _is_null,
    Op.IN: _in,
    Op.LIKE: _like,
}


def _filter(flt: Filter, table: Table) -> pc.Expression:
    field = pc.field(flt.column)
    special = _SPECIAL.get(flt.op)
    if special is not None:
        return special(field, flt.value, table, flt.column)
    col = table.column(flt.column)
    operand = pa.scalar(physical_value(col, flt.value), type=physical_type(col))
    return _COMPARISONS[flt.op](field, operand)


_COMBINE: dict[type, tuple[Callable[[Any, Any], pc.Expression], bool]] = {
    And: (operator.and_, True),
    Or: (operator.or_, False),
}


def expression(predicate: Predicate | None, table: Table) -> pc.Expression | None:
    """The dataset filter for `predicate` (None: no filter).

    Arrow's ``&``/``|`` are Kleene operators and a filter keeps only rows where the
    expression is true, so a comparison with NULL never matches, as in SQL.
    """
    if predicate is None:
        return None
    if isinstance(predicate, Filter):
        return _filter(predicate, table)
    combine, empty = _COMBINE[type(predicate)]
    exprs = [e for e in (expression(p, table) for p in predicate.items) if e is not None]
    if not exprs:
        return pc.scalar(empty)
    result = exprs[0]
    for item in exprs[1:]:
        result = combine(result, item)
    return result


def sort_keys(order: tuple[OrderBy, ...]) -> list[tuple[str, str, str]]:
    """Arrow sort keys with NULLs first ascending and last descending."""
    return [
        (o.column, "descending", "at_end") if o.descending else (o.column, "ascending", "at_start")
        for o in order
    ]
