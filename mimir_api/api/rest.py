"""REST routes generated from the operation registry.

Each operation becomes one route under `/api/v1` whose operationId is the operation's name.
Path placeholders fill the matching input fields; GET and DELETE read the rest from the query
string, the other methods from a JSON object body (the guard middleware has already insisted
on `Content-Type: application/json` for those, body or not). Everything then goes through
`services.invoke`, exactly as an MCP tool call does.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any, get_args, get_origin

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from mimir_api.api.guard import require_json
from mimir_api.core.errors import BadRequest, InvalidInput
from mimir_api.core.security import Scope, authenticate
from mimir_api.services.context import ServiceContext
from mimir_api.services.input_bounds import INT64_MAX, INT64_MIN, check_input_bounds
from mimir_api.services.invoke import invoke
from mimir_api.services.registry import Operation, OperationRegistry

API_PREFIX = "/api/v1"
BODY_METHODS = {"POST", "PUT", "PATCH"}
PROBLEM_RESPONSE = {
    "description": "A problem document (RFC 9457).",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _is_list_field(op: Operation, name: str) -> bool:
    annotation = op.input_model.model_fields[name].annotation
    return get_origin(annotation) is list or any(
        get_origin(a) is list for a in get_args(annotation)
    )


async def _read_input(op: Operation, request: Request) -> tuple[dict[str, Any], dict[str, str]]:
    """Collect the raw input of `op` from path, query and body, remembering each field's source."""
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key in request.query_params:
        if op.method in BODY_METHODS:
            raise InvalidInput(
                f"{op.method} {op.path} takes its input in the JSON body, not the query string",
                field=f"query.{key}",
            )
        values = request.query_params.getlist(key)
        raw[key] = (
            values if key in op.input_model.model_fields and _is_list_field(op, key) else values[-1]
        )
        sources[key] = "query"
    if op.method in BODY_METHODS:
        body = await request.body()
        if body.strip():
            try:
                data = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise BadRequest(f"the body is not valid JSON: {exc}", field="body") from None
            except RecursionError:
                raise BadRequest("the body is nested too deeply", field="body") from None
            if not isinstance(data, dict):
                raise BadRequest("the body must be a JSON object", field="body")
            raw.update(data)
            sources.update(dict.fromkeys(data, "body"))
    for key, value in request.path_params.items():
        if key in raw and raw[key] != value:
            raise InvalidInput(
                f"'{key}' is given by the path ({value!r}) and differs in the body",
                field=f"body.{key}",
            )
        raw[key] = value
        sources[key] = "path"
    return raw, sources


def _endpoint(op: Operation) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        require_json(request.method, request.headers)
        state = request.app.state
        actor = await run_in_threadpool(
            authenticate, state.settings, state.engine, request.headers.get("authorization")
        )
        raw, sources = await _read_input(op, request)
        check_input_bounds(op, raw, sources)
        ctx = ServiceContext(settings=state.settings, engine=state.engine, actor=actor)
        result = await run_in_threadpool(invoke, op, ctx, raw, sources)
        # by_alias: the documented names (`schema`), not Python's (`schema_`).
        return JSONResponse(
            result.model_dump(mode="json", by_alias=True), status_code=op.status_code
        )

    endpoint.__name__ = op.name
    endpoint.__doc__ = op.description
    return endpoint


def _bound_integers(schema: Any) -> Any:
    """Give every integer schema the 64-bit range `check_input_bounds` enforces."""
    if isinstance(schema, dict):
        if schema.get("type") == "integer":
            schema.setdefault("minimum", INT64_MIN)
            schema.setdefault("maximum", INT64_MAX)
        for value in schema.values():
            _bound_integers(value)
    elif isinstance(schema, list):
        for value in schema:
            _bound_integers(value)
    return schema


def _openapi_extra(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    """Document the parameters and body that `_read_input` accepts."""
    schema = op.input_model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(_bound_integers(schema.pop("$defs", {})))
    properties = _bound_integers(copy.deepcopy(schema.get("properties", {})))
    required = set(schema.get("required", []))
    extra: dict[str, Any] = {}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": properties[name]}
        for name in op.path_params
    ]
    rest = {k: v for k, v in properties.items() if k not in op.path_params}
    if op.method in BODY_METHODS:
        # Documented even for operations without body fields: every state-changing request
        # must say `Content-Type: application/json` (an empty body or `{}` will do).
        body_schema = {
            "type": "object",
            "title": op.input_model.__name__,
            "properties": rest,
            "required": sorted(required & set(rest)),
            "additionalProperties": False,
        }
        extra["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body_schema}},
        }
    else:
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in rest.items()
        ]
    if parameters:
        extra["parameters"] = parameters
    if op.scope is not Scope.PUBLIC:
        extra["security"] = [{"bearerAuth": []}]
    extra["x-mimir-scope"] = op.scope.value
    return extra


def install_rest_routes(app: FastAPI, registry: OperationRegistry) -> dict[str, Any]:
    """Add one route per operation; returns the JSON schemas the docs must include."""
    router = APIRouter(prefix=API_PREFIX)
    schemas: dict[str, Any] = {}
    for op in registry:
        router.add_api_route(
            op.path,
            _endpoint(op),
            methods=[op.method],
            operation_id=op.name,
            summary=op.summary,
            description=op.description,
            response_model=op.output_model,
            status_code=op.status_code,
            tags=list(op.tags),
            openapi_extra=_openapi_extra(op, schemas),
            responses={"4XX": PROBLEM_RESPONSE, "5XX": PROBLEM_RESPONSE},
        )
    app.include_router(router)
    return schemas
