"""Predicates and orderings (`storage_plugins.query`) → pyarrow dataset expressions.

Expressions go to `pyarrow.dataset`, which prunes Parquet row groups by their statistics
(predicate pushdown) before decoding anything. Operands become scalars of the column's
Arrow type, so that comparisons never depend on implicit casts.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from storage_plugins.arrow import arrow_type
from storage_plugins.query import And, Filter, Op, Or, OrderBy, Predicate
from storage_plugins.schema import Table


def _scalar(table: Table, column: str, value: Any) -> pa.Scalar:
    return pa.scalar(value, type=arrow_type(table.column(column)))


def _filter(flt: Filter, table: Table) -> pc.Expression:
    field = pc.field(flt.column)
    op, value = flt.op, flt.value
    if op is Op.IS_NULL:
        return field.is_null() if value else field.is_valid()
    if op is Op.IN:
        if not value:
            return pc.scalar(False)
        values = pa.array(list(value), type=arrow_type(table.column(flt.column)))
        return field.isin(values)
    if op is Op.LIKE:
        return pc.match_like(field, pattern=value)
    operand = _scalar(table, flt.column, value)
    if op is Op.EQ:
        return field == operand
    if op is Op.NE:
        return field != operand
    if op is Op.LT:
        return field < operand
    if op is Op.LE:
        return field <= operand
    if op is Op.GT:
        return field > operand
    return field >= operand


def expression(predicate: Predicate | None, table: Table) -> pc.Expression | None:
    """The dataset filter for `predicate` (None: no filter).

    Arrow's ``&``/``|`` are Kleene operators and a filter keeps only rows where the
    expression is true, so a comparison with NULL never matches, as in SQL.
    """
    if predicate is None:
        return None
    if isinstance(predicate, Filter):
        return _filter(predicate, table)
    parts = [expression(p, table) for p in predicate.items]
    exprs = [p for p in parts if p is not None]
    if isinstance(predicate, And):
        if not exprs:
            return pc.scalar(True)
        result = exprs[0]
        for item in exprs[1:]:
            result = result & item
        return result
    assert isinstance(predicate, Or)
    if not exprs:
        return pc.scalar(False)
    result = exprs[0]
    for item in exprs[1:]:
        result = result | item
    return result


def sort_keys(order: tuple[OrderBy, ...]) -> list[tuple[str, str, str]]:
    """Arrow sort keys with NULLs first ascending and last descending."""
    return [
        (o.column, "descending", "at_end") if o.descending else (o.column, "ascending", "at_start")
        for o in order
    ]
