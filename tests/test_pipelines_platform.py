"""Pipelines through the running platform: REST and MCP in, Prefect deployments and flow runs
on the real process worker out."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import Platform
from tests.test_platform import mcp_http_client
from tests.utils.http_server import ORDERS, HTTPFixture, http_test_server
from tests.utils.runs import wait_for_run
from tests.utils.servers import http

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def wait_for(check: Callable[[], Any], timeout: float = 120, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"condition not met within {timeout}s")


@pytest.fixture(scope="module")
def web() -> Iterator[HTTPFixture]:
    with http_test_server() as server:
        yield server


@pytest.fixture(scope="module")
def project(platform: Platform) -> str:
    response = http.post(
        f"{platform.api}/projects", json={"name": "pipes"}, headers=platform.headers()
    )
    assert response.status_code == 201, response.text
    return "pipes"


def pipeline_yaml(web: HTTPFixture, name: str = "paged-orders", extra: str = "") -> str:
    return f"""
name: {name}
type: ingestion
description: All orders, page by page.
{extra}
parameters:
  start_url: {{type: string, default: "{web.url}/orders?page=1"}}
steps:
  - name: page
    action: http.request
    with: {{url: "{{{{ steps.page.body.next | default(params.start_url) }}}}"}}
    retries: 2
    retry_delay: 0.2
  - name: save
    action: storage.write
    with: {{source: orders, rows: "{{{{ steps.page.body['items'] }}}}"}}
  - name: more
    action: if
    with: {{condition: "{{{{ steps.page.body.next }}}}", then: page, max_loops: 20}}
"""


def run_until_final(platform: Platform, project: str, name: str, run_id: str) -> dict[str, Any]:
    url = f"{platform.api}/projects/{project}/pipelines/{name}/runs/{run_id}"

    def done() -> dict[str, Any] | None:
        response = http.get(url, headers=platform.headers())
        assert response.status_code == 200, response.text
        detail = response.json()
        return detail if detail["state"] in FINAL else None

    return wait_for(done, timeout=180)


def save(
    platform: Platform, project: str, name: str, text: str, message: str = ""
) -> httpx.Response:
    return http.put(
        f"{platform.api}/projects/{project}/pipelines/{name}",
        json={"yaml": text, "message": message},
        headers=platform.headers(),
        timeout=60,
    )


def test_bad_yaml_is_refused_with_lines_and_nothing_is_saved(
    platform: Platform, project: str
) -> None:
    bad = "name: broken\ntype: ingestion\nsteps:\n  - name: a\n    action: http.reqest\n"
    response = save(platform, project, "broken", bad)
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    issue = next(e for e in problem["errors"] if "http.reqest" in e["message"])
    assert (issue["line"], issue["field"]) == (5, "body.yaml:steps[0].action")
    assert (
        http.get(
            f"{platform.api}/projects/{project}/pipelines/broken", headers=platform.headers()
        ).status_code
        == 404
    )


def test_save_version_run_and_inspect(platform: Platform, project: str, web: HTTPFixture) -> None:
    first = save(platform, project, "paged-orders", pipeline_yaml(web), "first cut")
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["version"], body["deployment"]) == (1, f"paged-orders/{project}")
    prefect = platform.env["PREFECT_API_URL"]
    deployment = http.get(f"{prefect}/deployments/{body['deployment_id']}").json()
    flow = http.get(f"{prefect}/flows/{deployment['flow_id']}").json()
    assert (flow["name"], deployment["name"]) == ("paged-orders", project)
    assert deployment["work_pool_name"] == "mimir-local"

    second = save(
        platform,
        project,
        "paged-orders",
        pipeline_yaml(web).replace("page by page", "every page"),
        "docs",
    )
    assert second.json()["version"] == 2
    versions = http.get(
        f"{platform.api}/projects/{project}/pipelines/paged-orders/versions",
        headers=platform.headers(),
    ).json()
    assert [(v["version"], v["message"]) for v in versions["items"]] == [
        (2, "docs"),
        (1, "first cut"),
    ]
    old = http.get(
        f"{platform.api}/projects/{project}/pipelines/paged-orders/versions/1",
        headers=platform.headers(),
    ).json()
    assert "page by page" in old["yaml"]

    started = http.post(
        f"{platform.api}/projects/{project}/pipelines/paged-orders/runs",
        json={},
        headers=platform.headers(),
    )
    assert started.status_code == 201, started.text
    detail = run_until_final(platform, project, "paged-orders", started.json()["flow_run_id"])
    assert detail["state"] == "COMPLETED", detail
    assert [s["name"] for s in detail["steps"]] == ["page", "save"] * 3
    assert all(s["state"] == "COMPLETED" for s in detail["steps"])
    run_url = f"{platform.api}/projects/{project}/pipelines/paged-orders/runs/{started.json()['flow_run_id']}"
    # the worker ships logs asynchronously; they may trail the final state by a moment
    wait_for(
        lambda: any(
            "pipeline paged-orders v2" in line["message"]
            for line in http.get(run_url, headers=platform.headers()).json()["logs"]
        ),
        timeout=30,
    )
    db = platform.home / "projects" / project / "tables.sqlite"
    with sqlite3.connect(db) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM raw_orders ORDER BY id")]
    assert ids == [o["id"] for o in ORDERS]
    runs = http.get(
        f"{platform.api}/projects/{project}/pipelines/paged-orders/runs", headers=platform.headers()
    ).json()
    assert runs["items"][0]["id"] == started.json()["flow_run_id"]


def test_run_parameters_are_checked_before_a_run_starts(
    platform: Platform, project: str, web: HTTPFixture
) -> None:
    save(platform, project, "paged-orders", pipeline_yaml(web))
    before = http.get(
        f"{platform.api}/projects/{project}/pipelines/paged-orders/runs", headers=platform.headers()
    ).json()
    response = http.post(
        f"{platform.api}/projects/{project}/pipelines/paged-orders/runs",
        json={"parameters": {"start_url": 5, "bogus": 1}},
        headers=platform.headers(),
    )
    assert response.status_code == 422
    assert "unknown parameter 'bogus'" in response.json()["detail"]
    after = http.get(
        f"{platform.api}/projects/{project}/pipelines/paged-orders/runs", headers=platform.headers()
    ).json()
    assert len(after["items"]) == len(before["items"])


def test_mcp_tools_drive_pipelines(platform: Platform, project: str, web: HTTPFixture) -> None:
    text = pipeline_yaml(web, name="mcp-orders")

    async def scenario() -> str:
        async with mcp_http_client(platform, platform.token) as client:
            report = await client.call_tool("validate_pipeline", {"yaml": text})
            assert report.structured_content["valid"] is True
            saved = await client.call_tool(
                "save_pipeline", {"project": project, "name": "mcp-orders", "yaml": text}
            )
            assert not saved.is_error, saved.content
            started = await client.call_tool(
                "run_pipeline", {"project": project, "name": "mcp-orders"}
            )
            assert not started.is_error, started.content
            return started.structured_content["flow_run_id"]

    run_id = anyio.run(scenario)
    assert run_until_final(platform, project, "mcp-orders", run_id)["state"] == "COMPLETED"


def test_webhook_starts_a_run_with_its_secret_only(
    platform: Platform, project: str, web: HTTPFixture
) -> None:
    save(platform, project, "paged-orders", pipeline_yaml(web))
    created = http.post(
        f"{platform.api}/projects/{project}/pipelines/paged-orders/webhook",
        json={},
        headers=platform.headers(),
    )
    assert created.status_code == 201
    hook = created.json()
    url = f"{platform.base_url}{hook['url']}"
    assert http.post(url, json={"secret": "wrong"}).status_code == 401
    fired = http.post(url, json={"secret": hook["secret"]})
    assert fired.status_code == 201, fired.text
    detail = run_until_final(platform, project, "paged-orders", fired.json()["flow_run_id"])
    assert detail["state"] == "COMPLETED"
    assert "via:webhook" in detail["tags"]
    listed = http.get(
        f"{platform.api}/projects/{project}/pipelines/paged-orders", headers=platform.headers()
    )
    assert listed.json()["webhook_enabled"] is True
    assert hook["secret"] not in listed.text


def test_schedule_fires_and_delete_removes_the_deployment(platform: Platform, project: str) -> None:
    text = """
name: ticker
type: processing
schedule: {interval: 2s}
steps:
  - name: note
    action: context.set
    with: {key: at, value: "{{ run.id }}"}
"""
    saved = save(platform, project, "ticker", text)
    assert saved.status_code == 200, saved.text
    assert saved.json()["schedule"] == {"interval": 2.0, "timezone": "UTC"}

    def completed_run() -> bool:
        runs = http.get(
            f"{platform.api}/projects/{project}/pipelines/ticker/runs", headers=platform.headers()
        ).json()
        return any(run["state"] == "COMPLETED" for run in runs["items"])

    try:
        wait_for(completed_run, timeout=150, every=2)
    finally:  # a schedule every 2 s must not outlive the test, whatever happened
        deleted = http.delete(
            f"{platform.api}/projects/{project}/pipelines/ticker", headers=platform.headers()
        )
    deployment_id = saved.json()["deployment_id"]
    assert deleted.status_code == 200 and deleted.json()["versions_removed"] == 1
    prefect = platform.env["PREFECT_API_URL"]
    assert http.get(f"{prefect}/deployments/{deployment_id}").status_code == 404


def test_cancel_a_running_run(platform: Platform, project: str, web: HTTPFixture) -> None:
    text = f"""
name: sleepy
type: processing
steps:
  - name: wait
    action: http.request
    with: {{url: "{web.url}/slow?seconds=30", timeout: 60}}
"""
    save(platform, project, "sleepy", text)
    run_id = http.post(
        f"{platform.api}/projects/{project}/pipelines/sleepy/runs",
        json={},
        headers=platform.headers(),
    ).json()["flow_run_id"]
    url = f"{platform.api}/projects/{project}/pipelines/sleepy/runs/{run_id}"
    wait_for(
        lambda: http.get(url, headers=platform.headers()).json()["state"] == "RUNNING", timeout=120
    )
    cancelled = http.post(f"{url}/cancel", json={}, headers=platform.headers())
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] in ("CANCELLING", "CANCELLED")
    final = wait_for(
        lambda: (d := http.get(url, headers=platform.headers()).json())["state"] in FINAL and d,
        timeout=120,
    )
    assert final["state"] == "CANCELLED"


NOTE = """
name: note
type: processing
steps:
  - name: note
    action: context.set
    with: {key: at, value: "{{ run.id }}"}
"""


def test_deleting_a_project_removes_its_pipeline_deployments(
    platform: Platform, web: HTTPFixture
) -> None:
    """…and a project created again under the same name starts clean: the runs of its
    predecessor (tagged with the same name) are not its own."""
    http.post(f"{platform.api}/projects", json={"name": "short-lived"}, headers=platform.headers())
    saved = save(platform, "short-lived", "paged-orders", pipeline_yaml(web))
    deployment_id = saved.json()["deployment_id"]
    assert save(platform, "short-lived", "note", NOTE).status_code == 200
    started = http.post(f"{platform.api}/projects/short-lived/pipelines/note/runs", json={},
                        headers=platform.headers())
    run_id = started.json()["flow_run_id"]
    get = partial(http.get, headers=platform.headers())
    assert wait_for_run(get, platform.api, "short-lived", run_id)["state"] == "COMPLETED"
    assert (
        http.delete(f"{platform.api}/projects/short-lived", headers=platform.headers()).status_code
        == 200
    )
    prefect = platform.env["PREFECT_API_URL"]
    assert http.get(f"{prefect}/deployments/{deployment_id}").status_code == 404
    again = http.post(f"{platform.api}/projects", json={"name": "short-lived"},
                      headers=platform.headers())
    assert again.status_code == 201, again.text
    assert get(f"{platform.api}/projects/short-lived/runs").json()["items"] == []
    assert get(f"{platform.api}/projects/short-lived/runs/{run_id}").status_code == 404
    assert http.delete(f"{platform.api}/projects/short-lived",
                       headers=platform.headers()).status_code == 200


def test_concurrency_becomes_the_deployment_limit(platform: Platform, project: str) -> None:
    text = """
name: one-at-a-time
type: processing
concurrency: 1
steps:
  - name: note
    action: context.set
    with: {key: at, value: "{{ run.id }}"}
"""
    prefect = platform.env["PREFECT_API_URL"]
    saved = save(platform, project, "one-at-a-time", text)
    assert saved.status_code == 200, saved.text
    deployment = http.get(f"{prefect}/deployments/{saved.json()['deployment_id']}").json()
    assert deployment["global_concurrency_limit"]["limit"] == 1
    unlimited = save(platform, project, "one-at-a-time", text.replace("concurrency: 1\n", ""))
    assert unlimited.status_code == 200, unlimited.text
    deployment = http.get(f"{prefect}/deployments/{unlimited.json()['deployment_id']}").json()
    assert deployment["global_concurrency_limit"] is None
    started = http.post(
        f"{platform.api}/projects/{project}/pipelines/one-at-a-time/runs",
        json={},
        headers=platform.headers(),
    )
    assert started.status_code == 201, started.text
    run_id = started.json()["flow_run_id"]
    # the generic run operations follow pipeline runs like any other run Mimir starts
    run = wait_for_run(partial(http.get, headers=platform.headers()), platform.api, project, run_id)
    assert (run["kind"], run["state"], run["final"]) == ("pipeline", "COMPLETED", True)
    listed = http.get(
        f"{platform.api}/projects/{project}/runs",
        params={"kind": "pipeline"},
        headers=platform.headers(),
    ).json()["items"]
    assert run_id in [r["id"] for r in listed]
    other = http.get(
        f"{platform.api}/projects/{project}/runs",
        params={"kind": "export"},
        headers=platform.headers(),
    ).json()["items"]
    assert run_id not in [r["id"] for r in other]
