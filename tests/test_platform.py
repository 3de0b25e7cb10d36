"""End to end through a real `mimir up`: REST and MCP over HTTP, MCP over stdio, and a flow
run that goes API → Prefect server → process worker → back."""

from __future__ import annotations

import time

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import Platform
from tests.utils.servers import VENV_BIN, http


def mcp_http_client(platform: Platform, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=60)
    return Client(streamable_http_client(f"{platform.base_url}/mcp", http_client=http))


def test_rest_project_lifecycle_over_http(platform: Platform) -> None:
    api, headers = platform.api, platform.headers()
    created = http.post(f"{api}/projects", json={"name": "e2e-rest"}, headers=headers)
    assert created.status_code == 201, created.text
    assert (
        http.get(f"{api}/projects/e2e-rest", headers=headers).json()["id"] == created.json()["id"]
    )
    assert http.get(f"{api}/projects").status_code == 401
    denied = http.delete(f"{api}/projects/e2e-rest", headers=platform.headers(platform.read_token))
    assert denied.status_code == 403
    assert http.delete(f"{api}/projects/e2e-rest", headers=headers).status_code == 200


def test_selfcheck_runs_on_the_worker_and_shows_in_prefect(platform: Platform) -> None:
    response = http.post(
        f"{platform.api}/system/selfcheck",
        json={"echo": "hello", "timeout_s": 120},
        headers=platform.headers(),
        timeout=150,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["state"] == "COMPLETED", result
    prefect_api = platform.env["PREFECT_API_URL"]
    run = http.get(f"{prefect_api}/flow_runs/{result['flow_run_id']}").json()
    assert run["state"]["type"] == "COMPLETED"
    deployment = http.get(f"{prefect_api}/deployments/{run['deployment_id']}").json()
    assert deployment["name"] == "mimir"
    assert deployment["work_pool_name"] == "mimir-local"
    # Task runs reach Prefect's API through its event pipeline, which may trail the flow run's
    # final state under load: wait for it (a minute at most) rather than read it once.
    deadline = time.monotonic() + 60
    tasks: list[dict] = []  # type: ignore[type-arg]
    def settled() -> bool:
        return bool(tasks) and all(t["state"]["type"] == "COMPLETED" for t in tasks)

    while not settled() and time.monotonic() < deadline:
        tasks = http.post(
            f"{prefect_api}/task_runs/filter",
            json={"flow_runs": {"id": {"any_": [result["flow_run_id"]]}}},
        ).json()
        time.sleep(0 if settled() else 1)
    assert [t["name"].split("-")[0:2] for t in tasks] == [["describe", "worker"]]
    assert tasks[0]["state"]["type"] == "COMPLETED"


def test_mcp_over_streamable_http(platform: Platform) -> None:
    async def scenario() -> None:
        async with mcp_http_client(platform, platform.token) as client:
            names, cursor = set(), None
            while True:
                page = await client.list_tools(cursor=cursor)
                names |= {tool.name for tool in page.tools}
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert {"create_project", "list_projects", "run_selfcheck"} <= names
            created = await client.call_tool("create_project", {"name": "e2e-mcp"})
            assert not created.is_error, created.content
            assert created.structured_content["name"] == "e2e-mcp"
            fetched = await client.call_tool("get_project", {"name": "e2e-mcp"})
            assert fetched.structured_content["id"] == created.structured_content["id"]
            invalid = await client.call_tool("create_project", {"name": "NO", "extra": 1})
            assert invalid.is_error
            assert "arguments.extra" in invalid.content[0].text
        async with mcp_http_client(platform, platform.read_token) as reader:
            denied = await reader.call_tool("delete_project", {"name": "e2e-mcp"})
            assert denied.is_error and "forbidden" in denied.content[0].text
            still = await reader.call_tool("get_project", {"name": "e2e-mcp"})
            assert not still.is_error

    anyio.run(scenario)
    response = http.get(f"{platform.api}/projects/e2e-mcp", headers=platform.headers())
    assert response.status_code == 200


@pytest.mark.parametrize("token", [None, "mimir_wrong"])
def test_mcp_http_rejects_missing_or_bad_tokens(platform: Platform, token: str | None) -> None:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = http.post(f"{platform.base_url}/mcp", json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_mcp_over_stdio_sees_the_same_projects(platform: Platform) -> None:
    http.post(f"{platform.api}/projects", json={"name": "e2e-stdio"}, headers=platform.headers())
    params = StdioServerParameters(command=str(VENV_BIN / "mimir"), args=["mcp"], env=platform.env)

    async def scenario() -> dict:
        async with Client(params) as client:
            result = await client.call_tool("get_project", {"name": "e2e-stdio"})
            assert not result.is_error, result.content
            return result.structured_content

    assert anyio.run(scenario)["name"] == "e2e-stdio"


def test_static_ui_and_openapi_are_served(platform: Platform) -> None:
    page = http.get(f"{platform.base_url}/")
    assert page.status_code == 200 and "Mimir AIP" in page.text
    spec = http.get(f"{platform.api}/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/projects"]["post"]["operationId"] == "create_project"
