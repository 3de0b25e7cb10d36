"""`twin.query`: a SPARQL query on the project's digital-twin view, inside a pipeline.

Output pipelines build reports from the twin: the step's result holds the rows (variable →
plain value: IRIs and strings as text, numbers as numbers), the ASK answer or the
CONSTRUCT/DESCRIBE graph as Turtle. The worker has no metadata DB, so the step names the
ontologies to read through (those the API published into the storage object), exactly as a
twin does; the timeout and row cap bound the step like a twin's settings bound a query.
``as_of`` (an ISO 8601 instant with a time zone) answers from the stored state at that time,
e.g. a report comparing this week with last week's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, Field
from rdflib import Literal

from flows.actions.base import ActionContext, PermanentError, StrictParams, action
from storage_plugins.errors import InvalidQuery
from twin.binding import TwinMappingMissing, open_twin_view
from twin.engine import run_query
from twin.errors import TwinError


class TwinQueryParams(StrictParams):
    """Inputs of twin.query."""

    query: str = Field(min_length=1, max_length=100_000, description="A SPARQL 1.1 query.")
    ontologies: list[str] = Field(
        default_factory=lambda: ["main"], min_length=1,
        description="The project's ontologies to read through (default: main).")
    max_rows: int = Field(default=10_000, ge=1, le=1_000_000, description="Row cap.")
    timeout_s: float = Field(default=60.0, gt=0, le=600, description="Query timeout (s).")
    as_of: AwareDatetime | None = Field(
        default=None, description="Answer from the stored state at this instant.")


def _plain(term: Any) -> Any:
    if isinstance(term, Literal):
        value = term.toPython()
        if isinstance(value, Decimal):
            return float(value) if value != value.to_integral_value() else int(value)
        if isinstance(value, bool | int | float | str):
            return value
        return str(term)
    return str(term)


@action("twin.query")
def twin_query(params: TwinQueryParams, ctx: ActionContext) -> dict[str, Any]:
    """Run a read-only SPARQL query on the project's twin view; rows land in the result."""
    try:
        with open_twin_view(ctx.project, ctx.storage_url, params.ontologies,
                            as_of=params.as_of) as view:
            result = run_query(view, params.query, max_rows=params.max_rows,
                               timeout_s=params.timeout_s)
    except TwinMappingMissing as exc:
        raise PermanentError(str(exc)) from None
    except (TwinError, InvalidQuery) as exc:  # InvalidQuery: an as_of before a vacuum
        raise PermanentError(str(exc)) from None
    out: dict[str, Any] = {"type": result.type, "truncated": result.truncated,
                           "ran_as_sql": result.ran_as_sql}
    if result.type == "SELECT":
        out["vars"] = [str(v) for v in result.vars]
        out["rows"] = [{str(k): _plain(v) for k, v in b.items()} for b in result.bindings]
    elif result.type == "ASK":
        out["boolean"] = bool(result.ask)
    else:
        assert result.graph is not None
        out["turtle"] = result.graph.serialize(format="turtle")
        out["triples"] = len(result.graph)
    return out
