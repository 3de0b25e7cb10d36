"""REST and MCP are generated from one registry: prove they expose exactly the same operations."""

from __future__ import annotations

import re

import anyio
from fastapi.testclient import TestClient
from mcp import Client

from mimir_api.core.config import Settings
from mimir_api.core.security import LOCAL_OPERATOR
from mimir_api.db.engine import make_engine, migrate
from mimir_api.mcp.server import build_mcp_server
from mimir_api.services.catalog import build_registry

TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def rest_operations(client: TestClient) -> dict[str, tuple[str, str]]:
    """Registry-generated REST operations; REST-only transports of an operation (streamed and
    multipart uploads, which MCP cannot carry) name their tool and are checked separately."""
    spec = client.get("/api/v1/openapi.json").json()
    found = {}
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if "x-mimir-mcp-tool" not in operation:
                found[operation["operationId"]] = (method.upper(), path)
    return found


def rest_only_transports(client: TestClient) -> dict[str, str]:
    spec = client.get("/api/v1/openapi.json").json()
    return {
        op["operationId"]: op["x-mimir-mcp-tool"]
        for methods in spec["paths"].values()
        for op in methods.values()
        if "x-mimir-mcp-tool" in op
    }


async def all_tools(server) -> list:  # type: ignore[no-untyped-def]
    tools, cursor, pages = [], None, 0
    async with Client(server) as mcp_client:
        while True:
            result = await mcp_client.list_tools(cursor=cursor)
            tools += result.tools
            pages += 1
            cursor = result.next_cursor
            if cursor is None:
                return tools


def mcp_server(tmp_path, page_size: int = 50):  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path / "h", mcp_page_size=page_size)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    return build_mcp_server(build_registry(), settings, engine, actor_for=lambda _c: LOCAL_OPERATOR)


def test_every_rest_operation_is_an_mcp_tool_and_back(client: TestClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rest = rest_operations(client)
    tools = anyio.run(all_tools, mcp_server(tmp_path))
    tool_names = {t.name for t in tools}
    registry_names = {op.name for op in build_registry()}
    assert set(rest) == tool_names == registry_names
    assert len(tool_names) == len(tools)  # no duplicates
    transports = rest_only_transports(client)
    assert set(transports) == {"put_project_file", "upload_project_files_form"}
    assert set(transports.values()) <= tool_names
    assert {
        "create_project",
        "list_projects",
        "get_project",
        "update_project",
        "delete_project",
        "clone_project",
    } <= tool_names


def test_tool_names_annotations_and_schemas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tools = {t.name: t for t in anyio.run(all_tools, mcp_server(tmp_path))}
    registry = {op.name: op for op in build_registry()}
    for name, tool in tools.items():
        assert TOOL_NAME.match(name)
        op = registry[name]
        assert tool.annotations.read_only_hint is op.read_only
        assert op.read_only or op.method != "GET"
        assert tool.annotations.destructive_hint is op.destructive
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema["type"] == "object"
        assert tool.description
    assert tools["delete_project"].annotations.destructive_hint is True
    assert tools["list_projects"].annotations.read_only_hint is True
    assert tools["create_project"].annotations.read_only_hint is False
    assert set(tools["create_project"].input_schema["required"]) == {"name"}


def test_tools_list_paginates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async def pages() -> list[list[str]]:
        result_pages, cursor = [], None
        async with Client(mcp_server(tmp_path, page_size=5)) as mcp_client:
            while True:
                result = await mcp_client.list_tools(cursor=cursor, cache_mode="bypass")
                result_pages.append([t.name for t in result.tools])
                cursor = result.next_cursor
                if cursor is None:
                    return result_pages

    result_pages = anyio.run(pages)
    total = len(build_registry())
    assert len(result_pages) == -(-total // 5)
    assert all(len(p) == 5 for p in result_pages[:-1])
    flat = [name for page in result_pages for name in page]
    assert len(flat) == len(set(flat)) == total


def test_rest_and_mcp_reach_the_same_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = mcp_server(tmp_path)

    async def scenario() -> tuple[dict, dict, bool]:
        async with Client(server) as mcp_client:
            created = await mcp_client.call_tool(
                "create_project", {"name": "via-mcp", "labels": {"a": "b"}}
            )
            listed = await mcp_client.call_tool("list_projects", {})
            bad = await mcp_client.call_tool("create_project", {"name": "via-mcp"})
            return created.structured_content, listed.structured_content, bad.is_error

    created, listed, conflict_is_error = anyio.run(scenario)
    assert created["name"] == "via-mcp"
    assert [p["name"] for p in listed["items"]] == ["via-mcp"]
    assert conflict_is_error
