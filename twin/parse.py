"""Parse SPARQL text into rdflib's algebra, refusing what a read-only virtual view cannot do.

rdflib parses SPARQL 1.1 Query and Update with pyparsing; its errors carry a line and a
column, which the protocol returns in problem+json. Queries that would make the evaluator
leave the view — ``SERVICE`` (federation) and ``FROM``/``FROM NAMED`` (rdflib would fetch
those IRIs from the network) — are refused by name instead.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pyparsing import ParseBaseException
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.plugins.sparql.sparql import Query

from twin import fixes
from twin.errors import QuerySyntaxError, UnsupportedQuery, UpdateRefused

MAX_QUERY_CHARS = 100_000


@lru_cache(maxsize=256)
def parse_query(text: str) -> Query:
    """The prepared query (algebra in ``.algebra``); raises the twin's errors.

    Cached by text: rdflib's pyparsing grammar costs tens of milliseconds per query, more
    than a selective query takes in the database, and a prepared query is reusable.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    try:
        query = prepareQuery(text)
    except ParseBaseException as exc:
        if _is_update(text):
            raise UpdateRefused() from None
        raise QuerySyntaxError(exc.msg, exc.lineno, exc.col) from None
    except Exception as exc:  # rdflib raises plain exceptions for semantic errors
        raise QuerySyntaxError(str(exc)) from None
    _check(query.algebra)
    fixes.apply(query.algebra)
    return query


def _is_update(text: str) -> bool:
    try:
        parseUpdate(text)
    except Exception:
        return False
    return True


def _check(node: Any) -> None:
    """Refuse constructs that would read outside the view."""
    if getattr(node, "datasetClause", None):
        raise UnsupportedQuery(
            "FROM / FROM NAMED", "a twin's dataset is its view; remove the dataset clause")
    stack = [node]
    while stack:
        item = stack.pop()
        name = getattr(item, "name", None)
        if name == "ServiceGraphPattern":
            raise UnsupportedQuery("SERVICE", "federated queries would leave the twin's view")
        if isinstance(item, dict):
            stack.extend(v for k, v in item.items() if not k.startswith("_"))
        elif isinstance(item, list | tuple):
            stack.extend(item)
