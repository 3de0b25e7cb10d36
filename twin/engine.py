"""Answer SPARQL 1.1 queries over a twin's view: SQL where it translates, rdflib elsewhere.

`run_query` parses the text (`twin.parse`), then

1. on a SQL storage plugin, tries `twin.sql.Translator`: the whole query becomes one SELECT
   the database runs (``result.ran_as_sql`` is True and ``result.sql`` holds the statement);
   on a scenario the tables its edits touch are `twin.sql_overlay.OverlaidTables` SELECTs;
2. otherwise — another plugin, or a construct without a translation — rdflib's evaluator
   runs over `twin.store.ViewStore`, whose triple lookups are storage reads.

Both paths give the same answers (the differential tests compare them with pyoxigraph on a
materialised copy); the reason a query did not run as SQL is logged and kept in
``result.fallback_reason``. Results past the row cap are cut and flagged ``truncated``.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from rdflib import Graph, Variable
from rdflib.query import Result
from rdflib.term import Node

from twin.errors import NotTranslatable, QueryTimeout
from twin.parse import parse_query
from twin.sql import Plan, Translator, term_of
from twin.sql_overlay import OverlaidTables
from twin.store import view_graph
from twin.view import TwinView

log = logging.getLogger(__name__)

QueryType = Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"]


@dataclass
class TwinResult:
    """A query's answer, and how it was computed."""

    type: QueryType
    vars: list[Variable] = field(default_factory=list)
    bindings: list[dict[Variable, Node]] = field(default_factory=list)
    ask: bool | None = None
    graph: Graph | None = None
    ran_as_sql: bool = False
    sql: str | None = None
    fallback_reason: str | None = None
    truncated: bool = False
    elapsed_s: float = 0.0

    def to_rdflib(self) -> Result:
        """The answer as an rdflib `Result` (what rdflib's serializers take)."""
        out = Result(self.type)
        if self.type == "SELECT":
            out.vars = list(self.vars)
            out.bindings = [dict(b) for b in self.bindings]  # type: ignore[arg-type]
        elif self.type == "ASK":
            out.askAnswer = bool(self.ask)
        else:
            out.graph = self.graph
        return out


def run_query(
    view: TwinView,
    text: str,
    *,
    max_rows: int | None = None,
    timeout_s: float | None = None,
    allow_sql: bool = True,
) -> TwinResult:
    """Answer `text` over `view`; raises the `twin.errors` errors (syntax, update, timeout)."""
    started = time.monotonic()
    query = parse_query(text)
    algebra = query.algebra
    kind: QueryType = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT",
                       "DescribeQuery": "DESCRIBE"}[algebra.name]  # type: ignore[assignment]
    reason = "the storage plugin has no SQL engine"
    sql_tables = getattr(view.store, "sql_tables", None)
    overlay = getattr(view, "overlay", None)
    if allow_sql and sql_tables is not None and kind in ("SELECT", "ASK"):
        # as_of: every table is its as-of subquery, so the database answers from the past too
        engine, stored = sql_tables() if view.as_of is None else sql_tables(as_of=view.as_of)
        tables: Mapping[str, Any] = stored
        try:
            if overlay is not None:  # a scenario: touched tables become base rows + its rows
                tables = OverlaidTables(view, overlay, engine, stored, engine.dialect.name)
            plan = Translator(view, tables, engine.dialect.name).plan(algebra)
        except NotTranslatable as exc:
            reason = f"not translated to SQL: {exc}"
        else:
            try:
                result = _run_sql(engine, plan, kind, max_rows, timeout_s)
            except sa.exc.DBAPIError as exc:
                if overlay is None or not _too_many_parameters(exc):
                    raise
                reason = "a scenario with more edits than one SQL statement can bind"
            else:
                result.elapsed_s = time.monotonic() - started
                log.info("twin query ran as SQL in %.3f s", result.elapsed_s)
                return result
    elif sql_tables is not None:
        reason = "disabled" if not allow_sql else f"{kind} runs in the evaluator"
    log.info("twin query evaluated by rdflib (%s)", reason)
    result = _run_rdflib(view, query, kind, max_rows, timeout_s)
    result.fallback_reason = reason
    result.elapsed_s = time.monotonic() - started
    return result


# --------------------------------------------------------------------------- SQL


def _run_sql(engine: sa.Engine, plan: Plan, kind: QueryType, max_rows: int | None,
             timeout_s: float | None) -> TwinResult:
    stmt = plan.statement
    capped = max_rows is not None and kind == "SELECT"
    if capped:
        assert max_rows is not None
        stmt = stmt.limit(max_rows + 1 if plan.limit is None else min(plan.limit, max_rows + 1))
    with engine.connect() as conn, _statement_timeout(conn, timeout_s), \
            warnings.catch_warnings():
        # a SPARQL cross product is a legitimate SQL cartesian product
        warnings.filterwarnings("ignore", message=".*cartesian product", category=sa.exc.SAWarning)
        cursor = conn.execute(stmt)
        # the text of the compilation that ran (compiling again costs as much, and a
        # scenario's VALUES rows make that noticeable)
        compiled: Any = cursor.context.compiled
        text = compiled.string if compiled is not None else str(
            stmt.compile(dialect=engine.dialect))
        rows = list(cursor)
    if plan.ask:
        return TwinResult("ASK", ask=bool(rows), ran_as_sql=True, sql=text)
    truncated = capped and len(rows) > max_rows  # type: ignore[operator]
    if truncated:
        rows = rows[:max_rows]
    bindings = []
    for row in rows:
        values = list(row)
        binding: dict[Variable, Node] = {}
        pos = 0
        for var, info in zip(plan.variables, plan.infos, strict=True):
            if info is None:
                continue
            width = len(info.labels)
            term = term_of(info, values[pos:pos + width])
            pos += width
            if term is not None:
                binding[var] = term
        bindings.append(binding)
    return TwinResult("SELECT", vars=plan.variables, bindings=bindings, ran_as_sql=True, sql=text,
                      truncated=truncated)


class _Timeout:
    def __init__(self, conn: sa.Connection, seconds: float | None) -> None:
        self.conn = conn
        self.seconds = seconds
        self.deadline = 0.0

    def __enter__(self) -> None:
        if self.seconds is None:
            return
        name = self.conn.dialect.name
        if name == "postgresql":  # SET LOCAL: ends with the transaction, even on error
            self.conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(self.seconds * 1000)}")
        elif name == "mysql":
            self.conn.exec_driver_sql(f"SET SESSION max_statement_time = {float(self.seconds)}")
        elif name == "sqlite":
            self.deadline = time.monotonic() + self.seconds
            raw: Any = self.conn.connection.driver_connection
            raw.set_progress_handler(lambda: int(time.monotonic() > self.deadline), 10_000)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.seconds is None:
            return
        name = self.conn.dialect.name
        if name == "sqlite":
            raw: Any = self.conn.connection.driver_connection
            raw.set_progress_handler(None, 0)
        elif name == "mysql":
            self.conn.rollback()
            self.conn.exec_driver_sql("SET SESSION max_statement_time = 0")
        if isinstance(exc, sa.exc.DBAPIError) and _is_timeout(exc):
            raise QueryTimeout(self.seconds) from None


def _too_many_parameters(exc: sa.exc.DBAPIError) -> bool:
    """A statement past the database's limit on bound parameters (a huge scenario)."""
    text = str(exc.orig).lower()
    return any(s in text for s in ("too many sql variables", "too many placeholders",
                                   "number of parameters must be between"))


def _is_timeout(exc: sa.exc.DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(s in text for s in ("statement timeout", "interrupted", "max_statement_time",
                                   "query execution was interrupted", "canceling statement"))


def _statement_timeout(conn: sa.Connection, seconds: float | None) -> _Timeout:
    return _Timeout(conn, seconds)


# --------------------------------------------------------------------------- rdflib


def _run_rdflib(view: TwinView, query: Any, kind: QueryType, max_rows: int | None,
                timeout_s: float | None) -> TwinResult:
    graph = view_graph(view.for_one_query(), timeout_s=timeout_s)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    res = graph.query(query)
    if kind == "ASK":
        return TwinResult("ASK", ask=bool(res.askAnswer))
    if kind in ("CONSTRUCT", "DESCRIBE"):
        out = Graph(bind_namespaces="none")
        truncated = False
        for n, triple in enumerate(_iter_graph(res)):
            if max_rows is not None and n >= max_rows:
                truncated = True
                break
            out.add(triple)
        return TwinResult(kind, graph=out, truncated=truncated)
    bindings: list[dict[Variable, Node]] = []
    truncated = False
    for row in res:
        if deadline is not None and time.monotonic() > deadline:
            assert timeout_s is not None
            raise QueryTimeout(timeout_s)
        if max_rows is not None and len(bindings) >= max_rows:
            truncated = True
            break
        values: Any = row
        bindings.append({v: values[v] for v in res.vars or [] if values[v] is not None})
    return TwinResult("SELECT", vars=list(res.vars or []), bindings=bindings, truncated=truncated)


def _iter_graph(res: Result) -> Iterator[Any]:
    assert res.graph is not None
    yield from res.graph
