"""MCP tools generated from the operation registry.

We use the SDK's low-level `Server` rather than `MCPServer` decorators because the tools are
data (the registry), and because `tools/list` pagination is ours: every tool in one page by
default (many clients never follow `nextCursor`), a cursor still honoured. A tool call is
validated and run by `services.invoke`, the same path a REST call takes; errors come back as
tool errors carrying the same problem document the REST API would return.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from sqlalchemy import Engine

from mimir_api import __version__
from mimir_api.core.config import Settings
from mimir_api.core.errors import MimirError
from mimir_api.core.security import ANONYMOUS, Actor
from mimir_api.services.context import ServiceContext
from mimir_api.services.input_bounds import check_input_bounds
from mimir_api.services.invoke import invoke
from mimir_api.services.registry import Operation, OperationRegistry

ACTOR_SCOPE_KEY = "mimir.actor"
INSTRUCTIONS = (
    "Mimir AIP: an ontology-backed data platform. Every platform operation is a tool; "
    "names match the REST API's operationIds. Start with get_system_info and list_projects."
)


def tool_for(op: Operation) -> types.Tool:
    """Describe `op` as an MCP tool, with read-only/destructive hints."""
    title = op.summary.rstrip(".")
    return types.Tool(
        name=op.name,
        title=title,
        description=op.description,
        input_schema=op.input_model.model_json_schema(),
        output_schema=op.output_model.model_json_schema(),
        annotations=types.ToolAnnotations(
            title=title,
            read_only_hint=op.read_only,
            destructive_hint=op.destructive,
            idempotent_hint=op.idempotent,
            open_world_hint=False,
        ),
    )


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"tools:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        tag, _, offset = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if tag != "tools":
            raise ValueError(tag)
        return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise MCPError(code=types.INVALID_PARAMS, message="invalid tools/list cursor") from None


def _error_result(error: MimirError) -> types.CallToolResult:
    problem = error.to_problem()
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=problem.model_dump_json(exclude_none=True))],
        is_error=True,
    )


def build_mcp_server(
    registry: OperationRegistry,
    settings: Settings,
    engine: Engine,
    actor_for: Callable[[Any], Actor],
) -> Server[Any]:
    """Build the MCP server; `actor_for(request_context)` says who is calling."""
    tools = [tool_for(op) for op in registry]
    page_size = settings.mcp_page_size or max(len(tools), 1)

    async def list_tools(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        offset = _decode_cursor(params.cursor) if params and params.cursor else 0
        page = tools[offset : offset + page_size]
        more = offset + page_size < len(tools)
        return types.ListToolsResult(
            tools=page, next_cursor=_encode_cursor(offset + page_size) if more else None
        )

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        op = registry.get(params.name)
        if op is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown tool {params.name!r}")
        arguments = params.arguments or {}
        service_ctx = ServiceContext(settings=settings, engine=engine, actor=actor_for(ctx))
        sources = dict.fromkeys(arguments, "arguments")
        try:
            check_input_bounds(op, arguments, sources)
            result = await anyio.to_thread.run_sync(invoke, op, service_ctx, arguments, sources)
        except MimirError as error:
            return _error_result(error)
        data = result.model_dump(mode="json", by_alias=True)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(data))],
            structured_content=data,
        )

    return Server(
        "mimir",
        version=__version__,
        title="Mimir AIP",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def http_actor(ctx: Any) -> Actor:
    """The actor the HTTP auth wrapper stored on the request carrying this message."""
    request = getattr(ctx, "request", None)
    if request is None:
        return ANONYMOUS
    return request.scope.get(ACTOR_SCOPE_KEY, ANONYMOUS)
