"""Anomaly detection on the real platform: the sample wind farm ingested through `mimir up`,
`detect-anomalies` run through the API on the worker, its alerts raised once.

The project is built with the demo's own steps (upload, ingestion, extraction, report), then
detection runs through REST like a user would start it, and the alerts are checked against the
generator's ground truth (the injected readings), run after run.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from flows.demo.data import generate
from flows.demo.run import PROJECT, STEPS, Api, DemoResult, remove_demo
from tests.conftest import Platform
from tests.utils.runs import completed_result, wait_for_run

DATA_STEPS = {"project", "files", "pipelines", "ingest", "ontology", "report"}


def call(platform: Platform, method: str, tail: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method,
        f"{platform.api}/projects/{PROJECT}{tail}",
        headers=platform.headers(),
        timeout=120,
        **kwargs,
    )


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def get(platform: Platform, url: str) -> httpx.Response:
    return httpx.get(url, headers=platform.headers(), timeout=60)


def all_alerts(platform: Platform) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = ok(call(platform, "GET", "/alerts", params=params))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def detect(platform: Platform) -> dict[str, Any]:
    started = ok(call(platform, "POST", "/anomalies/runs", json={}), 201)
    assert started["deployment"] == "detect-anomalies/mimir"
    return completed_result(
        lambda url: get(platform, url), platform.api, PROJECT, started["flow_run_id"]
    )


@pytest.fixture(scope="module")
def windfarm(platform: Platform) -> Iterator[None]:
    """The sample project's data, ontology and tables (the demo's own steps; not its model,
    what-ifs, trigger, rule or detection, which would change what these tests count)."""
    api = Api(platform.base_url, platform.token)
    result = DemoResult()
    for name, step in STEPS:
        if name in DATA_STEPS:
            step(api, result, lambda _line: None)
    yield
    remove_demo(platform.base_url, platform.token, lambda _line: None)


def test_detection_raises_each_alert_once(platform: Platform, windfarm: None) -> None:
    sample = generate()
    truth = sample.anomalous_readings | sample.drifted_readings

    first = detect(platform)
    assert first["classes"]["Reading"]["rows"] == sample.counts["readings"]
    assert first["classes"]["Reading"]["by_method"].get("mad", 0) > 0
    raised = first["alerts"]["alerts_raised"]
    alerts = all_alerts(platform)
    assert len(alerts) == raised > 0
    readings = [a for a in alerts if a["class_name"] == "Reading"]
    flagged = {unquote(a["entity"].rsplit("/", 1)[1]) for a in readings}
    hits = flagged & truth
    print(f"truth {len(truth)}, reading alerts {len(flagged)}, hits {len(hits)}")
    assert len(hits) >= 0.9 * len(truth) and len(hits) >= 0.8 * len(flagged)

    # The same data again: the same conditions, no new alert.
    second = detect(platform)
    assert second["alerts"]["alerts_raised"] == 0
    assert second["alerts"]["alerts_updated"] == raised
    again = all_alerts(platform)
    assert {a["id"] for a in again} == {a["id"] for a in alerts}
    assert all(a["occurrences"] == 2 for a in again)

    # Resolved within its cooldown: a rerun does not reopen it; acknowledged stays live.
    resolved, acked = readings[0], readings[1]
    ok(call(platform, "POST", f"/alerts/{resolved['id']}/resolve", json={}))
    ok(call(platform, "POST", f"/alerts/{acked['id']}/acknowledge", json={}))
    third = detect(platform)
    assert third["alerts"]["alerts_raised"] == 0 and third["alerts"]["alerts_suppressed"] == 1
    assert ok(call(platform, "GET", f"/alerts/{resolved['id']}"))["state"] == "resolved"
    live = ok(call(platform, "GET", f"/alerts/{acked['id']}"))
    assert live["state"] == "acknowledged" and live["occurrences"] == 3
    assert len(all_alerts(platform)) == raised

    # Each alert was announced once to Prefect's event system.
    events = ok(call(platform, "GET", "/events", params={"limit": 50}))["items"]
    announced = {e["resource"]["prefect.resource.id"] for e in events}
    assert announced <= {f"mimir.entity.{a['entity']}" for a in alerts}
    assert len([e for e in events if e["event"] == "mimir.alert.raised"]) <= raised


def test_bad_settings_and_failed_runs_are_clear(platform: Platform, windfarm: None) -> None:
    bad = call(platform, "PUT", "/anomalies/settings", json={"groupings": {"Reading": "colour"}})
    assert bad.status_code == 422 and bad.json()["field"].endswith("groupings.Reading")
    assert "unknown grouping 'colour'" in bad.json()["detail"]
    unknown = call(platform, "PUT", "/anomalies/settings", json={"classes": ["Windmill"]})
    assert unknown.status_code == 422 and unknown.json()["field"].endswith("classes")
    reader = httpx.post(
        f"{platform.api}/projects/{PROJECT}/anomalies/runs",
        headers=platform.headers(platform.read_token),
        json={},
    )
    assert reader.status_code == 403
    # Nothing was saved: detection still runs with the defaults.
    settings = ok(call(platform, "GET", "/anomalies/settings"))
    assert settings["classes"] is None and settings["groupings"] == {}
    run = wait_for_run(
        lambda url: get(platform, url),
        platform.api,
        PROJECT,
        ok(call(platform, "POST", "/anomalies/runs", json={}), 201)["flow_run_id"],
    )
    assert run["state"] == "COMPLETED" and run["kind"] == "anomalies"


def test_rules_raise_alerts_once_through_the_worker(platform: Platform, windfarm: None) -> None:
    """Last in the module: it saves rules. A threshold rule and an ASK rule, evaluated by the
    detect-anomalies flow on the worker, raise their alerts once over two detections."""
    text = generate().files["readings.csv"].decode("utf-8-sig")
    values = {r["reading_id"]: float(r["value"]) for r in csv.DictReader(io.StringIO(text))}
    bound = sorted(values.values())[-11]
    expected = {rid for rid, v in values.items() if v > bound}
    rules = [
        {"kind": "threshold", "name": "hot", "class_name": "Reading", "attribute": "value",
         "op": ">", "value": bound},
        {"kind": "sparql", "name": "has-data", "query": "ASK { ?s ?p ?o }"},
    ]
    ok(call(platform, "PUT", "/anomalies/settings",
            json={"classes": ["Reading"], "methods": ["mad"], "rules": rules}))
    for _ in range(2):
        result = detect(platform)
        assert result["rules"] == {"rule:hot": len(expected), "rule:has-data": 1}
    alerts = all_alerts(platform)
    hot = [a for a in alerts if a["rule"] == "rule:hot"]
    assert {unquote(a["entity"].rsplit("/", 1)[1]) for a in hot} == expected
    assert len(hot) == len(expected) and all(a["occurrences"] == 2 for a in hot)
    ask = [a for a in alerts if a["rule"] == "rule:has-data"]
    assert len(ask) == 1 and ask[0]["entity"] == f"urn:mimir:project:{PROJECT}"
    bad = call(platform, "PUT", "/anomalies/settings",
               json={"rules": [{"kind": "sparql", "name": "x", "query": "ASK {"}]})
    assert bad.status_code == 422 and bad.json()["field"].endswith("rules.0.query")


def _automatic_runs(prefect: str, deployment_id: str, after: str) -> list[dict[str, Any]]:
    """Flow runs of the project's automatic-detection deployment that an automation created
    after `after` (ISO time), newest first."""
    found = httpx.post(f"{prefect}/flow_runs/filter", json={
        "deployments": {"id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_DESC",
        "limit": 50}, timeout=60).json()
    return [r for r in found if (r.get("created_by") or {}).get("type") == "AUTOMATION"
            and r["created"] > after]


def _wait_automatic_run(platform: Platform, deployment_id: str, after: str) -> dict[str, Any]:
    prefect = platform.env["PREFECT_API_URL"]
    deadline = time.monotonic() + 300
    while not (runs := _automatic_runs(prefect, deployment_id, after)):
        assert time.monotonic() < deadline, "no detection run followed"
        time.sleep(1)
    run = wait_for_run(lambda url: get(platform, url), platform.api, PROJECT, runs[0]["id"])
    assert run["state"] == "COMPLETED", run
    assert "via:automatic" in run["tags"] and "kind:anomalies" in run["tags"]
    return run


def test_detection_runs_by_itself_after_syncs_ingestion_and_on_a_schedule(
    platform: Platform, windfarm: None
) -> None:
    """Last in the module (it replaces the settings). The project's own detection deployment
    carries its schedule and the automations that start it after a twin sync or a completed
    ingestion run; turning both off removes it all."""
    prefect = platform.env["PREFECT_API_URL"]
    by_name = f"{prefect}/deployments/name/detect-anomalies/auto-{PROJECT}"
    base = {"classes": ["Reading"], "methods": ["mad"]}
    ok(call(platform, "PUT", "/anomalies/settings", json={**base, "every_minutes": 60}))
    deployment = httpx.get(by_name, timeout=60).json()
    [schedule] = deployment["schedules"]
    assert schedule["schedule"]["interval"] == 3600 and schedule["active"]
    assert deployment["parameters"]["settings"]["every_minutes"] == 60

    settings = ok(call(platform, "PUT", "/anomalies/settings",
                       json={**base, "run_after": ["sync", "ingestion"]}))
    assert settings["run_after"] == ["sync", "ingestion"]
    deployment = httpx.get(by_name, timeout=60).json()
    assert deployment["schedules"] == []
    owner = f"prefect.deployment.{deployment['id']}"
    owned = httpx.get(f"{prefect}/automations/related-to/{owner}", timeout=60).json()
    assert sorted(a["trigger"]["expect"][0] for a in owned) == [
        "mimir.twin.synced", "prefect.flow-run.Completed"]

    # a twin sync starts detection
    ok(call(platform, "POST", "/twins", json={"name": "watch", "ontologies": ["main"]}), 201)
    synced = ok(call(platform, "POST", "/twins/watch/syncs", json={}), 201)
    sync = wait_for_run(lambda url: get(platform, url), platform.api, PROJECT,
                        synced["flow_run_id"])
    assert sync["state"] == "COMPLETED", sync
    _wait_automatic_run(platform, deployment["id"], sync["created"][:19])

    # so does a completed ingestion run (here one that rewrites a site as it is)
    site = {"site_id": "S1", "name": "North Sea 1", "region": "North Sea",
            "operator": "Aegir Power"}
    text = ("name: touch-site\ntype: ingestion\nsteps:\n  - name: site\n"
            "    action: storage.write\n"
            f"    with: {{class: Site, rows: [{json.dumps(site)}]}}\n")
    ok(call(platform, "PUT", "/pipelines/touch-site", json={"yaml": text}))
    started = ok(call(platform, "POST", "/pipelines/touch-site/runs", json={}), 201)
    ingested = wait_for_run(lambda url: get(platform, url), platform.api, PROJECT,
                            started["flow_run_id"])
    assert ingested["state"] == "COMPLETED", ingested
    _wait_automatic_run(platform, deployment["id"],
                        ingested["created"][:19])

    # nothing automatic: the deployment and its automations are gone
    ok(call(platform, "PUT", "/anomalies/settings", json=base))
    assert httpx.get(by_name, timeout=60).status_code == 404
    assert httpx.get(f"{prefect}/automations/related-to/{owner}", timeout=60).json() == []
