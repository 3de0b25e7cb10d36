"""Every error leaves the API as `application/problem+json` (RFC 9457).

Handlers here cover Mimir's own errors, Starlette's HTTP errors (404, 405), FastAPI's request
validation and anything unexpected, which becomes a 500 problem without internals leaked.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route, compile_path

from mimir_api.core.errors import (
    PROBLEM_BASE,
    InvalidInput,
    MimirError,
    Problem,
    field_errors_from_pydantic,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("mimir.api")


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSONResponse carrying `problem` with the right status and media type."""
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _auth_header(error: MimirError) -> dict[str, str] | None:
    return {"WWW-Authenticate": 'Bearer realm="mimir"'} if error.status == 401 else None


async def _mimir_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MimirError)
    return problem_response(exc.to_problem(request.url.path), _auth_header(exc))


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors_from_pydantic(list(exc.errors()))
    error = InvalidInput("; ".join(f"{e.field}: {e.message}" for e in errors[:5]), errors=errors)
    return problem_response(error.to_problem(request.url.path))


def api_methods(path: str, request: Request) -> set[str]:
    """Methods the OpenAPI document lists for the path template matching `path`.

    The document covers every REST route (generated operations and uploads alike); its path
    patterns are compiled once per app.
    """
    state = request.app.state
    patterns = getattr(state, "route_methods", None)
    if patterns is None:
        patterns = [
            (
                compile_path(template)[0],
                {m.upper() for m in item} | ({"HEAD"} if "get" in item else set()),
            )
            for template, item in request.app.openapi().get("paths", {}).items()
        ]
        state.route_methods = patterns
    methods: set[str] = set()
    for pattern, route_methods in patterns:
        if pattern.match(path):
            methods |= route_methods
    return methods


def allowed_methods(request: Request) -> str:
    """The methods some route serves at this path, for a 405's `Allow` header.

    Starlette answers with the methods of the first route whose path matches, but REST has one
    route per operation, so GET, PATCH and DELETE of `/projects/{name}` are three routes; the
    header must list all of them (from the OpenAPI document, see `api_methods`).
    Paths no route serves fall to the static UI (GET, HEAD).
    """
    path = request.url.path
    methods = api_methods(path, request)
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.path_regex.match(path) and route.methods:
            methods |= route.methods
    return ", ".join(sorted(methods or {"GET", "HEAD"}))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 404 and api_methods(request.url.path, request):
        # A GET to an API path that only has other methods fell through to the static UI.
        exc = StarletteHTTPException(405, "Method Not Allowed")
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    titles = {404: "Not found", 405: "Method not allowed"}
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    problem = Problem(
        type=PROBLEM_BASE + slug,
        title=titles.get(exc.status_code, "HTTP error"),
        status=exc.status_code,
        detail=str(exc.detail),
        instance=request.url.path,
    )
    return problem_response(problem, headers or None)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    problem = Problem(
        type=PROBLEM_BASE + "internal-error",
        title="Internal error",
        status=500,
        detail="An unexpected error occurred; the server log has the details.",
        instance=request.url.path,
    )
    return problem_response(problem)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(MimirError, _mimir_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
