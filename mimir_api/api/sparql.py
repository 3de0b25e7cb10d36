"""The W3C SPARQL 1.1 Protocol endpoint of every twin, written by hand beside the generated routes.

``GET|POST /api/v1/projects/{project}/twins/{twin}/sparql``, and beside it the streamed
export ``GET /api/v1/projects/{project}/twins/{twin}/export?format=turtle|nt`` (a response
body of any size cannot be a JSON operation result).

Why not a generated operation: the protocol fixes its own request encodings (``query=`` in
the query string, a form body, or the raw query as ``application/sparql-query``) and answers
in the format the ``Accept`` header asks for (SPARQL results JSON/XML/CSV/TSV, or Turtle,
N-Triples, JSON-LD for graphs) — while every generated route reads JSON and returns JSON.
Outside clients (SPARQLWrapper, rdflib's SPARQLStore, YASGUI, Jena) speak only the protocol.

Everything else is shared with the `query_twin` operation: the same bearer-token check (read
scope), `services.twins.run_twin_query` (timeout, row cap, ``scenario=`` for a what-if
scenario's view, ``as_of=`` an ISO 8601 instant with a time zone for the stored state at
that time; both combine), and problem+json errors with the parse error's line and column. A result
cut at the row cap carries ``Mimir-Truncated: true``; ``Mimir-Ran-As-SQL`` says whether the
database ran the query. Update requests are refused:
the endpoint is read-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from pydantic import AwareDatetime, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from mimir_api.api.rest import API_PREFIX
from mimir_api.core.errors import BadRequest, InvalidInput, MimirError
from mimir_api.core.security import Scope, authenticate
from mimir_api.services.context import ServiceContext
from mimir_api.services.twins import run_twin_query
from twin.errors import UpdateRefused
from twin.export import MEDIA_TYPES, stream
from twin.results import NotAcceptable, negotiate, serialize

PATH = API_PREFIX + "/projects/{project}/twins/{twin}/sparql"
_INSTANT: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


class NotAcceptableError(MimirError):
    """The Accept header names no format this kind of result can be written in."""

    status = 406
    slug = "not-acceptable"
    title = "Not acceptable"


def _one(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name) or []
    if len(found) > 1:
        raise BadRequest(f"'{name}' is given {len(found)} times; give it once", field=name)
    return found[0] if found else None


async def _read_query(request: Request) -> str:
    """The query text from the query string, a form body or an application/sparql-query body."""
    params = parse_qs(request.url.query, keep_blank_values=True)
    if request.method == "POST":
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        if ctype == "application/sparql-update":
            raise BadRequest(str(UpdateRefused()), field="body")
        if ctype == "application/sparql-query":
            if "query" in params:
                raise BadRequest("give the query in the body or in 'query=', not both",
                                 field="query")
            try:
                return body.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest("the query is not UTF-8", field="body") from None
        if ctype == "application/x-www-form-urlencoded":
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            if "update" in form:
                raise BadRequest(str(UpdateRefused()), field="update")
            params = {**params, **form}
        elif body.strip():
            raise BadRequest(
                "POST the query as application/sparql-query or as a form field 'query' "
                f"(application/x-www-form-urlencoded), not {ctype or 'no content type'}",
                field="body")
    if "update" in params:
        raise BadRequest(str(UpdateRefused()), field="update")
    for name in ("default-graph-uri", "named-graph-uri", "using-graph-uri"):
        if name in params:
            raise BadRequest(f"'{name}' is not supported: a twin's dataset is its view",
                             field=name)
    query = _one(params, "query")
    if not query:
        raise InvalidInput("the SPARQL query is missing: pass 'query'", field="query")
    return query


def as_of_param(request: Request) -> datetime | None:
    """The ``as_of`` query parameter as an aware datetime (problem+json naming it if not)."""
    text = request.query_params.get("as_of") or None
    if text is None:
        return None
    try:
        return _INSTANT.validate_python(text)
    except ValidationError as exc:
        raise InvalidInput(
            f"as_of must be an ISO 8601 instant with a time zone, e.g. 2026-01-31T12:00:00Z: "
            f"{exc.errors()[0]['msg']}", field="as_of") from None


async def sparql_endpoint(request: Request) -> Response:
    """Answer one SPARQL 1.1 Protocol request."""
    state = request.app.state
    actor = await run_in_threadpool(
        authenticate, state.settings, state.engine, request.headers.get("authorization"))
    actor.require(Scope.READ, "sparql")
    query = await _read_query(request)
    scenario = request.query_params.get("scenario") or None
    as_of = as_of_param(request)
    ctx = ServiceContext(settings=state.settings, engine=state.engine, actor=actor)
    project, twin = request.path_params["project"], request.path_params["twin"]
    result = await run_in_threadpool(run_twin_query, ctx, project, twin, query, None, scenario,
                                     as_of)
    try:
        media, fmt = negotiate(request.headers.get("accept"),
                               graph=result.type in ("CONSTRUCT", "DESCRIBE"),
                               boolean=result.type == "ASK")
    except NotAcceptable as exc:
        raise NotAcceptableError(str(exc), field="accept") from None
    body = await run_in_threadpool(serialize, result, fmt)
    headers: dict[str, Any] = {
        "Mimir-Truncated": "true" if result.truncated else "false",
        "Mimir-Ran-As-SQL": "true" if result.ran_as_sql else "false",
        "Vary": "Accept",
    }
    charset = "" if media.endswith("json") else "; charset=utf-8"
    return Response(body, media_type=media + charset, headers=headers)


EXPORT_PATH = API_PREFIX + "/projects/{project}/twins/{twin}/export"


async def export_endpoint(request: Request) -> Response:
    """Stream the twin's whole view as Turtle (default) or N-Triples (``?format=nt``), of a
    scenario (``scenario=``) and as of a past instant (``as_of=``) when asked."""
    from starlette.responses import StreamingResponse

    from mimir_api.services.twins import open_twin_for

    state = request.app.state
    actor = await run_in_threadpool(
        authenticate, state.settings, state.engine, request.headers.get("authorization"))
    actor.require(Scope.READ, "export_twin")
    fmt = request.query_params.get("format", "turtle")
    if fmt not in MEDIA_TYPES:
        raise InvalidInput(f"format must be turtle or nt, got {fmt!r}", field="query.format")
    as_of = as_of_param(request)
    ctx = ServiceContext(settings=state.settings, engine=state.engine, actor=actor)
    opened = open_twin_for(ctx, request.path_params["project"], request.path_params["twin"],
                           request.query_params.get("scenario") or None, as_of)
    view = await run_in_threadpool(opened.__enter__)  # errors become problems before streaming

    def body() -> Iterator[bytes]:
        try:
            yield from stream(view, fmt)  # type: ignore[arg-type]
        finally:
            opened.__exit__(None, None, None)

    return StreamingResponse(body(), media_type=MEDIA_TYPES[fmt])


def install_sparql_routes(app: FastAPI) -> None:
    """Add the protocol endpoint.

    It stays out of the OpenAPI document, which lists exactly the generated operations (each
    also an MCP tool); the protocol itself is its specification, and `query_twin` is the
    documented JSON operation with the same answers.
    """
    app.add_api_route(PATH, sparql_endpoint, methods=["GET", "POST"], include_in_schema=False)
    app.add_api_route(EXPORT_PATH, export_endpoint, methods=["GET"], include_in_schema=False)
