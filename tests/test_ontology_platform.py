"""Ontologies end to end on the running platform (`mimir up`, auth on, real process worker):

ingest raw records with a pipeline → `extract-ontology` runs as a Prefect flow, hands its
result to the API over HTTP with the worker's own token and is accepted → ontology tables
hold the raw records → ingestion by class writes ontology-shaped rows and refuses a bad batch
with a report → a manual edit (over MCP) survives re-extraction, whose proposal is accepted
in part.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import Platform
from tests.test_pipelines_platform import run_until_final, save, wait_for
from tests.test_platform import mcp_http_client
from tests.utils.runs import completed_result, wait_for_run
from tests.utils.sqlite_rows import user_columns, user_rows

PROJECT = "onto-e2e"
PROJECT_SLOT = f"mimir-extract-ontology-{PROJECT}"
CUSTOMERS = [{"id": i, "name": n} for i, n in ((1, "Ada"), (2, "Bo"), (3, "Cy"))]
ORDERS = [
    {"no": f"A{i}", "customer_id": 1 + i % 3, "total": 10.5 * i, "placed": f"2024-05-0{i}"}
    for i in range(1, 5)
]


def ingest_yaml(name: str, steps: str) -> str:
    return f"name: {name}\ntype: ingestion\nsteps:\n{steps}"


def write_step(step: str, target: str, rows: list[dict[str, Any]]) -> str:
    return f"  - name: {step}\n    action: storage.write\n    with: {{{target}, rows: {rows!r}}}\n"


def run(platform: Platform, name: str, text: str) -> dict[str, Any]:
    saved = save(platform, PROJECT, name, text)
    assert saved.status_code == 200, saved.text
    started = httpx.post(
        f"{platform.api}/projects/{PROJECT}/pipelines/{name}/runs",
        json={},
        headers=platform.headers(),
    )
    assert started.status_code == 201, started.text
    return run_until_final(platform, PROJECT, name, started.json()["flow_run_id"])


def api(platform: Platform, method: str, tail: str, **kwargs: Any) -> httpx.Response:
    url = f"{platform.api}/projects/{PROJECT}/ontologies{tail}"
    return httpx.request(method, url, headers=platform.headers(), timeout=120, **kwargs)


def rows(platform: Platform, table: str) -> list[tuple[Any, ...]]:
    db = platform.home / "projects" / PROJECT / "tables.sqlite"
    with sqlite3.connect(db) as connection:
        return sorted(user_rows(connection, table))


def columns(platform: Platform, table: str) -> list[str]:
    db = platform.home / "projects" / PROJECT / "tables.sqlite"
    with sqlite3.connect(db) as connection:
        return user_columns(connection, table)


def extraction_runs(platform: Platform) -> list[dict[str, Any]]:
    prefect = platform.env["PREFECT_API_URL"]
    deployment = httpx.get(f"{prefect}/deployments/name/extract-ontology/mimir").json()
    found = httpx.post(
        f"{prefect}/flow_runs/filter",
        json={"deployments": {"id": {"any_": [deployment["id"]]}}, "sort": "START_TIME_DESC"},
    ).json()
    return [r for r in found if f"project:{PROJECT}" in r["tags"]]


def project_runs(platform: Platform, kind: str) -> list[dict[str, Any]]:
    listed = httpx.get(
        f"{platform.api}/projects/{PROJECT}/runs", params={"kind": kind}, headers=platform.headers()
    )
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])


@pytest.fixture(scope="module")
def project(platform: Platform) -> str:
    created = httpx.post(
        f"{platform.api}/projects", json={"name": PROJECT}, headers=platform.headers()
    )
    assert created.status_code == 201, created.text
    return PROJECT


@pytest.mark.timeout(600)  # it now also waits for the load run and for each extraction to end
def test_ingest_extract_store_edit_reingest(platform: Platform, project: str) -> None:
    # 1. raw ingestion; extraction follows as its own flow run and is accepted automatically
    steps = write_step("customers", "source: customers", CUSTOMERS)
    steps += write_step("orders", "source: orders", ORDERS)
    ingested = run(platform, "load-raw", ingest_yaml("load-raw", steps))
    assert ingested["state"] == "COMPLETED"
    ontology = wait_for(
        lambda: (r := api(platform, "GET", "/main")).status_code == 200 and r.json(), timeout=180
    )
    assert ontology["version"] == 1 and ontology["open_proposals"] == 0
    assert {c["iri"].rsplit("#", 1)[1] for c in ontology["classes"]} == {"Customer", "Order"}
    [first] = api(platform, "GET", "/main/versions").json()["items"]
    assert (first["author"], first["origin"], first["status"]) == (
        "extraction",
        "extraction",
        "accepted",
    )
    get = partial(httpx.get, headers=platform.headers())
    [extraction] = extraction_runs(platform)
    # the run hands its ontology over, then records its outcome and frees its slot
    wait_for_run(get, platform.api, PROJECT, extraction["id"])
    [extraction] = extraction_runs(platform)
    assert extraction["state_type"] == "COMPLETED"
    assert "via:pipeline:load-raw" in extraction["tags"]
    # one extraction per project at a time: the run held the project's slot
    prefect = platform.env["PREFECT_API_URL"]
    slot = httpx.get(f"{prefect}/v2/concurrency_limits/{PROJECT_SLOT}")
    assert slot.status_code == 200 and slot.json()["limit"] == 1, slot.text
    assert slot.json()["active_slots"] == 0
    # the ingestion run's recorded outcome links to the extraction it started
    outcome = completed_result(get, platform.api, PROJECT, ingested["id"])
    assert outcome["extraction"] == {"run_id": extraction["id"]}
    assert outcome["wrote_tables"] == ["raw_customers", "raw_orders"]
    followed = project_runs(platform, "extraction")
    assert [r["id"] for r in followed] == [extraction["id"]]
    assert followed[0]["state"] == "COMPLETED" and followed[0]["final"] is True

    # 2. the raw records were loaded into the ontology-shaped tables (by the load run the
    #    accept started; followed through Mimir's own run operations)
    [load] = project_runs(platform, "load-tables")
    loaded = completed_result(
        partial(httpx.get, headers=platform.headers()), platform.api, PROJECT, load["id"]
    )
    assert loaded["records_loaded"] == 7 and loaded["rejected"] == 0
    assert [r[0] for r in rows(platform, "order")] == ["A1", "A2", "A3", "A4"]
    assert [r[0] for r in rows(platform, "customer")] == [1, 2, 3]

    # 3. ingestion by class: good rows land in `order`, a bad batch is refused whole
    good = [{"no": "B1", "customer_id": 2, "total": "12.25", "placed": "2024-06-01"}]
    done = run(
        platform,
        "orders-by-class",
        ingest_yaml("orders-by-class", write_step("save", "class: Order", good)),
    )
    assert done["state"] == "COMPLETED"
    assert "B1" in [r[0] for r in rows(platform, "order")]
    bad: list[dict[str, Any]] = [{"no": "C1", "total": 5}, {"no": "C2", "total": "lots"}]
    failed = run(
        platform, "bad-orders", ingest_yaml("bad-orders", write_step("save", "class: Order", bad))
    )
    assert failed["state"] == "FAILED"
    assert "1 of 2 Order record(s) rejected, nothing written" in failed["message"]
    assert "row 1 field total" in failed["message"]
    assert [s["state"] for s in failed["steps"]] == ["FAILED"]  # permanent: no retries
    assert not {"C1", "C2"} & {r[0] for r in rows(platform, "order")}

    # 4. a person renames an extracted property over MCP
    async def rename() -> dict[str, Any]:
        async with mcp_http_client(platform, platform.token) as client:
            result = await client.call_tool(
                "rename_ontology_property",
                {
                    "project": PROJECT,
                    "name": "main",
                    "ref": "Order/total",
                    "new_name": "amount",
                    "message": "business term",
                },
            )
            assert not result.is_error, result.content
            return dict(result.structured_content or {})

    renamed = anyio.run(rename)
    assert renamed["version"]["version"] == 2 and renamed["version"]["author"] == "test-admin"
    assert "amount" in columns(platform, "order")

    # 5. new raw data with new fields: re-extraction proposes, never touching the edit
    newer = [r | {"no": f"N{i}", "channel": "web", "coupon": f"X{i}"} for i, r in enumerate(ORDERS)]
    again = run(
        platform,
        "load-raw-2",
        ingest_yaml("load-raw-2", write_step("orders", "source: orders", newer)),
    )
    assert again["state"] == "COMPLETED"
    proposal = wait_for(
        lambda: (items := api(platform, "GET", "/main/proposals").json()["items"]) and items[0],
        timeout=180,
    )
    ids = [c["id"] for c in proposal["changes"]]
    assert sorted(i.rsplit("/", 1)[1] for i in ids) == ["channel", "coupon"]
    assert not [i for i in ids if "total" in i or "amount" in i]
    current = api(platform, "GET", "/main").json()
    assert current["version"] == 2  # proposals are not applied until accepted

    channel = next(i for i in ids if i.endswith("/channel"))
    accepted = api(
        platform,
        "POST",
        f"/main/proposals/{proposal['version']}/accept",
        json={"changes": [channel], "message": "channel only"},
    )
    assert accepted.status_code == 200, accepted.text
    final = api(platform, "GET", "/main").json()
    names = {p["iri"].rsplit("/", 1)[1] for p in final["datatype_properties"]}
    assert {"amount", "channel"} <= names and not {"total", "coupon"} & names
    assert "channel" in columns(platform, "order") and "coupon" not in columns(platform, "order")
    history = api(platform, "GET", "/main/versions").json()["items"]
    assert [(v["version"], v["status"]) for v in history] == [
        (4, "accepted"),
        (3, "accepted"),
        (2, "accepted"),
        (1, "accepted"),
    ]

    # 6. extraction on request: nothing new to propose after the partial accept but coupon,
    # which the open decision already covers; the run completes and adds no duplicate
    started = api(platform, "POST", "/main/extractions", json={})
    assert started.status_code == 201, started.text
    prefect = platform.env["PREFECT_API_URL"]
    run_id = started.json()["flow_run_id"]
    state = wait_for(
        lambda: (
            (s := httpx.get(f"{prefect}/flow_runs/{run_id}").json()["state"]["type"])
            in {"COMPLETED", "FAILED", "CRASHED"}
            and s
        ),
        timeout=180,
    )
    assert state == "COMPLETED"
    open_now = api(platform, "GET", "/main/proposals").json()["items"]
    assert [len(p["changes"]) for p in open_now] == [1]  # coupon, proposed again once
