"""Real data in, end to end on the running platform (`mimir up`, auth on, real worker), through
the REST API and the MCP SDK's own client together (issue 11, items 1-4):

an empty project's extraction says "no data" → automatic extraction is held → several messy
exports (CSV from a spreadsheet, JSON from an API, about the same wind farms) are uploaded
and ingested by pipelines (`file.read` + `csv.parse`, `storage.load`) without starting
extraction → one extraction over everything, followed in `list_ontologies`, gives the
ontology a careful person would draw and loads its tables → hold released, two more sources
land one after the other, each ingestion starts an extraction that links back to it, the
second proposal supersedes the first, and accepting it loads the new tables.

The journey goes through `call(operation, arguments)`: changes are MCP tool calls, reads are
REST requests built from the operation's method and path in the registry (as the generated
routes do).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from mimir_api.services.catalog import build_registry
from tests.conftest import Platform
from tests.ontology.messy import WIND_TRUTH, wind
from tests.test_platform import mcp_http_client

Call = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
REGISTRY = build_registry()
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
HOLD_REASON = "waiting for every export"

CSV_PIPELINE = """\
name: ingest-exports
type: ingestion
steps:
  - name: operators_file
    action: file.read
    with: {path: exports/operators.csv}
  - name: operators
    action: csv.parse
    with: {text: "{{ steps.operators_file.content }}"}
  - name: save_operators
    action: storage.write
    with: {source: operators, rows: "{{ steps.operators.rows }}"}
  - name: assignments_file
    action: file.read
    with: {path: exports/assignments.csv}
  - name: assignments
    action: csv.parse
    with: {text: "{{ steps.assignments_file.content }}"}
  - name: save_assignments
    action: storage.write
    with: {source: assignments, rows: "{{ steps.assignments.rows }}"}
  - name: turbines
    action: storage.load
    with: {path: exports/turbines.csv, source: turbines}
  - name: inspections
    action: storage.load
    with: {path: exports/inspections.csv, source: inspections, batch_size: 150}
"""

API_PIPELINE = """\
name: ingest-api
type: ingestion
steps:
  - name: sites
    action: file.read
    with: {path: api/sites.json, format: json}
  - name: save_sites
    action: storage.write
    with: {source: sites, rows: "{{ steps.sites.content }}"}
  - name: engineers
    action: file.read
    with: {path: api/engineers.json, format: json}
  - name: save_engineers
    action: storage.write
    with: {source: engineers, rows: "{{ steps.engineers.content }}"}
"""

WORK_ORDERS_PIPELINE = """\
name: ingest-work-orders
type: ingestion
steps:
  - name: load
    action: storage.load
    with: {path: exports/work_orders.csv, source: work_orders}
"""

ALARMS_PIPELINE = """\
name: ingest-alarms
type: ingestion
steps:
  - name: alarms
    action: file.read
    with: {path: api/alarms.json, format: json}
  - name: save
    action: storage.write
    with: {source: alarms, rows: "{{ steps.alarms.content }}"}
"""


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Rows back to the export they came from (a BOM in the first header stays a BOM)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def exports() -> dict[str, str]:
    """The user's folder: messy CSV exports and JSON from an API, about the same things."""
    data = wind(seed=3, n_sites=30, n_turbines=90, n_inspections=200)
    files = {
        f"exports/{name}.csv": csv_text(data[name])
        for name in ("operators", "assignments", "turbines", "inspections")
    }
    files["api/sites.json"] = json.dumps(data["sites"])
    files["api/engineers.json"] = json.dumps(data["engineers"])
    return files


def later_sources() -> dict[str, str]:
    """Two sources that land after the ontology exists (both refer to turbines by serial)."""
    work_orders = [
        {
            "Order No": f"WO-{i:04d}",
            "Turbine": f" T{5000 + (i * 7) % 90} ",
            "Opened": f"{1 + i % 28:02d}/{1 + i % 12:02d}/2024"
            if i % 2
            else f"2024-03-{1 + i % 28:02d}",
            "Urgent": "yes" if i % 3 else "no",
        }
        for i in range(30)
    ]
    alarms = [
        {
            "alarm_id": 900 + i,
            "turbine": f"T{5000 + (i * 11) % 90}",
            "severity": ["low", "high"][i % 2],
            "code": f"E{i % 5}",
        }
        for i in range(25)
    ]
    return {
        "exports/work_orders.csv": "\ufeff" + csv_text(work_orders),
        "api/alarms.json": json.dumps(alarms),
    }


def rest_caller(platform: Platform) -> Call:
    """Call an operation over REST: path placeholders from the arguments, the rest in the
    query (GET, DELETE) or a JSON body (the generated routes' rules)."""

    async def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        op = REGISTRY.get(name)
        assert op is not None, name
        rest = dict(arguments)
        path = op.path.format(**{p: rest.pop(p) for p in op.path_params})
        url = f"{platform.api}{path}"
        async with httpx.AsyncClient(headers=platform.headers(), timeout=120) as client:
            if op.method in ("GET", "DELETE"):
                response = await client.request(op.method, url, params=rest)
            else:
                response = await client.request(op.method, url, json=rest)
        assert response.status_code < 300, (name, response.status_code, response.text)
        return dict(response.json())

    return call


def local(iri: str) -> str:
    """The last segment of an IRI (after '#' or '/')."""
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


async def follow_extraction(
    call: Call, project: str, match: Callable[[dict[str, Any]], bool], deadline_s: float = 300
) -> dict[str, Any]:
    """Watch `list_ontologies` until the newest extraction is the one `match` picks and it has
    ended; returns it (a bound on waiting, not an assertion on speed)."""
    stop = time.monotonic() + deadline_s
    seen: list[str] = []
    while True:
        listing = await call("list_ontologies", {"project": project})
        assert listing["extraction_unavailable"] is None, listing
        latest = listing["latest_extraction"]
        if latest is not None:
            seen.append(latest["state"])
            if match(latest) and latest["final"]:
                return dict(latest)
        if time.monotonic() > stop:
            raise AssertionError(
                f"extraction not finished after {deadline_s}s: {latest}, {seen[-5:]}"
            )
        await anyio.sleep(0.5)


async def run_pipeline(call: Call, project: str, name: str) -> dict[str, Any]:
    """Start a pipeline and follow it through get_project_run; returns its final record."""
    started = await call("run_pipeline", {"project": project, "name": name})
    stop = time.monotonic() + 300
    while True:
        run = await call("get_project_run", {"project": project, "run_id": started["flow_run_id"]})
        if run["final"]:
            assert run["state"] == "COMPLETED", run
            return run
        assert time.monotonic() < stop, run
        await anyio.sleep(0.5)


async def wait_run(call: Call, project: str, run_id: str) -> dict[str, Any]:
    stop = time.monotonic() + 300
    while True:
        run = await call("get_project_run", {"project": project, "run_id": run_id})
        if run["final"]:
            return run
        assert time.monotonic() < stop, run
        await anyio.sleep(0.5)


async def table_rows(call: Call, project: str) -> dict[str, int]:
    """Rows per class table, by class name."""
    tables = (await call("list_project_tables", {"project": project}))["items"]
    return {local(t["source"]): t["rows"] for t in tables if t["source"] and "#" in t["source"]}


async def journey(call: Call, project: str) -> None:
    await call("create_project", {"name": project})

    # 1. an empty project's extraction says so, and the listing shows it
    started = await call("run_ontology_extraction", {"project": project, "name": "main"})
    empty = await follow_extraction(call, project, lambda r: r["run_id"] == started["flow_run_id"])
    assert (empty["state"], empty["outcome"], empty["ontology"]) == ("COMPLETED", "no-data", "main")
    assert "no raw records" in empty["message"]
    assert empty["trigger"].startswith("api:") and empty["started_by_run"] is None
    assert (await call("list_ontologies", {"project": project}))["items"] == []

    # 2. hold automatic extraction while the sources land; upload the user's folder
    held = await call("hold_ontology_extraction", {"project": project, "reason": HOLD_REASON})
    assert held["held"] is True
    files = exports()
    for path, text in files.items():
        stored = await call("upload_project_file", {"project": project, "path": path, "text": text})
        assert stored["size"] == len(text.encode())
    listed = await call("list_project_files", {"project": project})
    assert {f["path"] for f in listed["items"]} >= set(files)

    # 3. ingest them; each ingestion says why it started no extraction
    for name, text in (("ingest-exports", CSV_PIPELINE), ("ingest-api", API_PIPELINE)):
        await call("save_pipeline", {"project": project, "name": name, "yaml": text})
        run = await run_pipeline(call, project, name)
        assert run["result"]["extraction"] == {"skipped": f"on hold: {HOLD_REASON}"}
    latest = (await call("list_ontologies", {"project": project}))["latest_extraction"]
    assert latest["run_id"] == started["flow_run_id"]  # nothing new started

    # 4. extract once over everything; follow it from the listing to its end
    once = await call("run_ontology_extraction", {"project": project, "name": "main"})
    first = await follow_extraction(call, project, lambda r: r["run_id"] == once["flow_run_id"])
    assert (first["state"], first["outcome"], first["version"]) == ("COMPLETED", "accepted", 1)
    assert first["load_run_id"] and first["started"] and first["finished"]
    loaded = await wait_run(call, project, first["load_run_id"])
    assert loaded["state"] == "COMPLETED" and loaded["result"]["rejected"] == 0, loaded
    ontology = await call("get_ontology", {"project": project, "name": "main"})
    assert ontology["latest_extraction"]["run_id"] == once["flow_run_id"]
    classes = {local(c["iri"]) for c in ontology["classes"]}
    assert classes == WIND_TRUTH["classes"]
    by_iri = {c["iri"]: local(c["iri"]) for c in ontology["classes"]}
    relationships = {
        (by_iri[p["domain"][0]], local(p["iri"]), by_iri[p["range"][0]])
        for p in ontology["object_properties"]
        if p["domain"] and p["range"]
    }
    expected = {(d, p, r) for (d, p), (r, _) in WIND_TRUTH["relationships"].items()}
    assert expected <= relationships, expected - relationships
    data = wind(seed=3, n_sites=30, n_turbines=90, n_inspections=200)
    rows = await table_rows(call, project)
    for name, cls in (
        ("operators", "Operator"),
        ("sites", "Site"),
        ("turbines", "Turbine"),
        ("engineers", "Engineer"),
        ("assignments", "Assignment"),
        ("inspections", "Inspection"),
    ):
        assert rows[cls] == len(data[name]), (cls, rows)
    assert rows["Owner"] == len({s["owner"]["owner_code"] for s in data["sites"]})
    assert ontology["open_proposals"] == 0

    # 5. released: two more sources land one after the other; each ingestion starts an
    #    extraction that links back to it, and the newer proposal supersedes the older
    await call("release_ontology_extraction", {"project": project})
    for path, text in later_sources().items():
        await call("upload_project_file", {"project": project, "path": path, "text": text})
    proposals: list[int] = []
    for name, text in (
        ("ingest-work-orders", WORK_ORDERS_PIPELINE),
        ("ingest-alarms", ALARMS_PIPELINE),
    ):
        await call("save_pipeline", {"project": project, "name": name, "yaml": text})
        run = await run_pipeline(call, project, name)
        extraction_id = run["result"]["extraction"]["run_id"]
        followed = await follow_extraction(
            call, project, lambda r, cause=run["id"]: r["started_by_run"] == cause
        )
        assert followed["run_id"] == extraction_id and followed["trigger"] == f"pipeline:{name}"
        assert (followed["state"], followed["outcome"]) == ("COMPLETED", "proposed"), followed
        assert followed["superseded"] == proposals
        proposals.append(followed["version"])
    listing = await call("list_ontologies", {"project": project})
    assert [o["open_proposals"] for o in listing["items"]] == [1]
    closed = await call(
        "list_ontology_proposals", {"project": project, "name": "main", "status": "superseded"}
    )
    assert [p["version"] for p in closed["items"]] == proposals[:1]
    assert f"superseded by proposal {proposals[1]}" in closed["items"][0]["message"]

    # 6. accept the one open proposal: the new classes and their tables arrive
    accepted = await call(
        "accept_ontology_proposal", {"project": project, "name": "main", "version": proposals[1]}
    )
    load_run = accepted["storage"]["load_run_id"]
    assert load_run
    assert (await wait_run(call, project, load_run))["state"] == "COMPLETED"
    final = await call("get_ontology", {"project": project, "name": "main"})
    new = {local(c["iri"]) for c in final["classes"]} - WIND_TRUTH["classes"]
    assert new == {"WorkOrder", "Alarm"}, new
    targets = {
        (local(p["domain"][0]), local(p["range"][0]))
        for p in final["object_properties"]
        if p["domain"] and p["range"]
    }
    assert {("WorkOrder", "Turbine"), ("Alarm", "Turbine")} <= targets
    rows = await table_rows(call, project)
    assert (rows["WorkOrder"], rows["Alarm"]) == (30, 25)
    assert final["open_proposals"] == 0


@pytest.mark.timeout(900)
def test_data_journey_over_rest_and_mcp(platform: Platform) -> None:
    """One journey over both doors: every change goes through an MCP tool call (the SDK's own
    client), every read through REST — so each transport carries its half of the same
    user's work, and the whole journey (its many flow runs) is paid for once."""
    over_rest = rest_caller(platform)

    async def both() -> None:
        async with mcp_http_client(platform, platform.token) as client:

            async def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
                op = REGISTRY.get(name)
                assert op is not None, name
                if op.method == "GET":
                    return await over_rest(name, arguments)
                result = await client.call_tool(name, arguments)
                assert not result.is_error, (name, result.content)
                return dict(result.structured_content or {})

            await journey(call, "data-journey")

    anyio.run(both)
