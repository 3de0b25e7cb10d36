"""`mimir demo` against the real `mimir up`: the platform's end-to-end test.

It runs the CLI as a user would (from another folder, with a token), then checks every
product-level outcome through the API: the uploaded sources, the ingestion, the ontology drawn
from messy exports (classes and relationships), the class tables, and the report the output
pipeline wrote. A second run must reuse what exists; `--remove` deletes it all.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.demo.data import generate
from flows.demo.run import mean_by_kind_query
from tests.conftest import Platform
from tests.utils.http_server import HTTPFixture, http_test_server
from tests.utils.servers import VENV_BIN

PROJECT = "windfarm"
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def demo(platform: Platform, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in platform.env.items() if k not in ("MIMIR_HOME", "MIMIR_PORT")}
    env["MIMIR_TOKEN"] = platform.token
    return subprocess.run(
        [str(VENV_BIN / "mimir"), "demo", "--url", platform.base_url, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def get(platform: Platform, tail: str, **params: Any) -> Any:
    response = httpx.get(
        f"{platform.api}/projects/{PROJECT}{tail}",
        params=params,
        headers=platform.headers(),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def hooks() -> Iterator[HTTPFixture]:
    """A local webhook receiver the demo's alert report is announced to."""
    with http_test_server() as server:
        yield server


@pytest.fixture(scope="module")
def built(
    platform: Platform, hooks: HTTPFixture, tmp_path_factory: pytest.TempPathFactory
) -> str:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    done = demo(platform, elsewhere, "--notify-url", f"{hooks.url}/demo-alerts")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (elsewhere / ".mimir").exists()  # a client never creates a home
    return done.stdout


def test_demo_prints_each_step(built: str) -> None:
    steps = ("[project]", "[files]", "[pipelines]", "[ingest]", "[ontology]", "[twin]", "[model]",
             "[what-if]")
    for step in (*steps, "[report]", "[trigger]", "[rule]", "[anomalies]", "[commission]",
                 "[monitor]", "[export]"):
        assert step in built
    assert "Where to look next" in built


def test_sources_and_ingestion(platform: Platform, built: str) -> None:
    sample = generate()
    files = {f["path"]: f["size"] for f in get(platform, "/files", prefix="sources")["items"]}
    assert files == {f"sources/{n}": len(b) for n, b in sample.files.items()}
    runs = get(platform, "/pipelines/ingest-windfarm/runs")["items"]
    assert [r["state"] for r in runs] == ["COMPLETED"]


def test_ontology_from_the_messy_exports(platform: Platform, built: str) -> None:
    ontology = get(platform, "/ontologies/main")
    labels = {c["label"] for c in ontology["classes"]}
    assert {"Site", "Turbine", "Sensor", "Reading"} <= labels
    label_of = {c["iri"]: c["label"] for c in ontology["classes"]}
    links = {
        (label_of[p["domain"][0]], label_of[p["range"][0]]) for p in ontology["object_properties"]
    }
    assert {("Reading", "Sensor"), ("Sensor", "Turbine"), ("Turbine", "Site")} <= links
    tables = {t["name"]: t["rows"] for t in get(platform, "/tables")["items"]}
    sample = generate()
    # the commissioned site's turbines and sensors were written straight into the class tables
    assert tables["turbine"] == sample.counts["turbines"] + sample.commissioned["turbines"]
    assert tables["sensor"] == sample.counts["sensors"] + sample.commissioned["sensors"]
    assert tables["reading"] == sample.counts["readings"]


def test_a_persons_edit_on_the_extracted_ontology_is_a_version_with_a_diff(
    platform: Platform, built: str
) -> None:
    ontology = get(platform, "/ontologies/main")
    turbine = next(c for c in ontology["classes"] if c["label"] == "Turbine")
    assert turbine["comment"] == "A wind turbine: one generator on one tower, at one site."
    assert ontology["version"] == 2
    diff = get(platform, "/ontologies/main/diff", from_version=1, to_version=2)
    changed = [(c["name"], c["change"]) for c in diff["diff"]["classes"]]
    assert changed == [("Turbine", "changed")]
    assert "~ Turbine: comment None" in built  # the demo printed it


def test_a_pipeline_run_trigger_reran_the_report_for_the_new_site(
    platform: Platform, built: str
) -> None:
    """'fleet-on-commission' is a Prefect automation on commission-site's Completed event; the
    fleet report it ran lists every turbine, the new site's too, and the twin sync saw them."""
    sample = generate()
    everyone = sample.counts["turbines"] + sample.commissioned["turbines"]
    report = get(platform, "/files/content", path="reports/fleet.md")["text"]
    assert report.startswith(f"# Fleet report\n{everyone} turbines.")
    assert report.count("\n- S") == everyone and "- S5-T20 (SG 14-222, site S5)" in report
    trigger = get(platform, "/triggers/fleet-on-commission")
    assert trigger["approval"] == "automatic" and trigger["automation_id"]
    [commission] = get(platform, "/pipelines/commission-site/runs")["items"]
    fired = [r for r in get(platform, "/pipelines/fleet-report/runs")["items"]
             if (r["parameters"].get("trigger") or {}).get("resource")
             == f"prefect.flow-run.{commission['id']}"]
    assert len(fired) == 1 and fired[0]["state"] == "COMPLETED"
    assert fired[0]["parameters"]["trigger"]["event"] == "prefect.flow-run.Completed"
    synced = next(ln for ln in built.splitlines() if "synced: rows per class" in ln)
    assert f"'Turbine': {everyone}" in synced
    assert "via:webhook" in commission["tags"]  # started as an outside system would
    # history: the table names the run behind the change; the twin answers as of before it
    changes = get(platform, "/tables/turbine/history")["items"]
    assert any(c["run_id"] == commission["id"] and c["rows"] == sample.commissioned["turbines"]
               for c in changes)
    assert f"SPARQL: {everyone} turbines now, {sample.counts['turbines']} as of" in built
    # the sync started detection by itself (settings run_after: [sync]), on the project's own
    # deployment, tagged so Mimir lists it among the project's runs
    line = next(ln for ln in built.splitlines() if "detection ran by itself after the sync" in ln)
    run_id = line.split("(run ")[1].split(")")[0]
    automatic = get(platform, f"/runs/{run_id}")
    assert automatic["state"] == "COMPLETED" and "via:automatic" in automatic["tags"]
    assert automatic["created"] > synced_run_created(platform)


def test_model_drift_fired_its_trigger_and_the_report_names_the_reasons(
    platform: Platform, built: str
) -> None:
    """Monitoring saw the new site's unseen turbine model; the `model_drift` trigger's
    automation ran drift-report with the monitoring result as params.trigger."""
    drift = get(platform, "/models/turbine-failure/drift")
    assert drift["degraded"] is True
    reasons = drift["items"][0]["reasons"]
    assert any(r.startswith("feature model: PSI") for r in reasons)
    report = get(platform, "/files/content", path="reports/drift-turbine-failure.md")["text"]
    assert report.startswith("# Model turbine-failure v1 degraded")
    assert all(f"- {r}" in report for r in reasons)
    [run] = [r for r in get(platform, "/pipelines/drift-report/runs")["items"]
             if r["parameters"]["trigger"]["payload"]["checked_at"]
             == drift["items"][0]["checked_at"]]
    assert run["parameters"]["trigger"]["event"] == "mimir.model.degraded"
    assert run["parameters"]["trigger"]["resource"] == "mimir.model.windfarm.turbine-failure"
    # the trigger keeps its model: deleting the model first is refused, naming the trigger
    refused = httpx.delete(f"{platform.api}/projects/{PROJECT}/models/turbine-failure",
                           headers=platform.headers(), timeout=60)
    assert refused.status_code == 409 and "drift-report" in refused.json()["detail"]


def test_the_twin_export_is_turtle_of_every_entity(platform: Platform, built: str) -> None:
    from rdflib import Graph, URIRef
    from rdflib.namespace import RDF

    text = get(platform, "/files/content", path="exports/windfarm.ttl")["text"]
    graph = Graph().parse(data=text, format="turtle")
    ontology = get(platform, "/ontologies/main")
    turbine = next(c["iri"] for c in ontology["classes"] if c["label"] == "Turbine")
    sample = generate()
    turbines = set(graph.subjects(RDF.type, URIRef(turbine)))
    assert len(turbines) == sample.counts["turbines"] + sample.commissioned["turbines"]


def test_detection_raised_alerts_for_the_injected_anomalies(platform: Platform, built: str) -> None:
    line = next(ln for ln in built.splitlines() if "open alerts" in ln)
    open_alerts = int(line.split(";")[1].split()[0])
    sample = generate()
    injected = len(sample.anomalous_readings | sample.drifted_readings)
    assert open_alerts >= 0.9 * injected  # the platform test checks them one by one


def test_an_approved_alert_produced_a_report_and_a_notification(
    platform: Platform, built: str, hooks: HTTPFixture
) -> None:
    """The trigger held the alert's report for approval; the demo approved the strongest
    alert, and the output pipeline wrote the report and called the webhook — once."""
    trigger = get(platform, "/triggers/alert-report")
    assert (trigger["approval"], trigger["pipeline"]) == ("manual", "alert-report")
    line = next(ln for ln in built.splitlines() if ln.startswith("alert report written to"))
    path = line.split()[4]
    alert_id = path.removeprefix("reports/alert-").removesuffix(".md")
    alert = get(platform, f"/alerts/{alert_id}")
    assert alert["class_name"] == "Reading" or alert["class_name"].endswith("Reading")
    actions = get(platform, f"/alerts/{alert_id}/actions")
    assert actions["state"] == "approved" and len(actions["items"]) == 1
    report = get(platform, "/files/content", path=path)["text"]
    assert report.startswith(f"# Alert on {alert['entity']}\n")
    assert f"Severity {alert['severity']}" in report
    assert [h["path"] for h in hooks.received] == ["/demo-alerts"]
    assert path in hooks.received[0]["body"]["message"]
    open_alerts = get(platform, "/alerts", state="open", limit=1000)["items"]
    others = [a for a in open_alerts if a["id"] != alert_id and a["class_name"] == "Reading"]
    assert others and all(a["pending_actions"] == 1 for a in others)  # still waiting
    rule_alerts = [a for a in open_alerts if a["rule"] == "rule:worn-sensor"]
    assert rule_alerts and all(a["pending_actions"] == 0 for a in rule_alerts)  # no trigger


def test_batch_predictions_feed_the_likely_failure_rule(platform: Platform, built: str) -> None:
    """The demo stored batch predictions; the rule 'likely-failure' raised one alert per
    turbine whose predicted failure probability is at least 0.8 — the same turbines `predict`
    names now, none more, none fewer."""
    alerts = [a for a in get(platform, "/alerts", limit=1000)["items"]
              if a["rule"] == "rule:likely-failure"]
    assert alerts and {a["class_name"] for a in alerts} == {"Turbine"}
    assert {a["severity"] for a in alerts} == {"high"}
    alerted = {a["entity"].rsplit("/", 1)[1] for a in alerts}
    original = sorted({line.split(",")[0] for line in generate().files["turbines.csv"].decode(
        "utf-8-sig").splitlines()[1:]})
    answer = httpx.post(f"{platform.api}/projects/{PROJECT}/models/turbine-failure/predict",
                        json={"entities": original}, headers=platform.headers(), timeout=120)
    assert answer.status_code == 200, answer.text
    likely = {p["entity"] for p in answer.json()["items"]
              if (p["probabilities"] or {}).get("True", 0) >= 0.8}
    assert alerted == likely
    hits = get(platform, "/anomalies", method="rule:likely-failure", limit=1000)["items"]
    assert {h["entity"] for h in hits} == {a["entity"] for a in alerts}


def test_twin_answers_sparql_and_the_scenario_changes_only_its_view(
    platform: Platform, built: str
) -> None:
    ontology = get(platform, "/ontologies/main")
    query = mean_by_kind_query(ontology)
    base = {row["kind"]: row for row in twin_query(platform, query)}
    sample = generate()
    per_kind = sample.counts["readings"] // 2
    assert {k: int(v["readings"]) for k, v in base.items()} == {
        "temperature": per_kind,
        "vibration": per_kind,
    }
    assert "SPARQL as of" in built and "(the project's creation): 0 rows" in built  # history
    hot = {row["kind"]: row for row in twin_query(platform, query, "hot-sensor")}
    assert float(hot["temperature"]["mean"]) > float(base["temperature"]["mean"])
    assert hot["vibration"] == base["vibration"]
    diff = get(platform, "/twins/windfarm/scenarios/hot-sensor/diff")
    assert diff["added"] and diff["removed"]


def test_a_what_if_changes_a_prediction_and_not_the_base(platform: Platform, built: str) -> None:
    line = next(ln for ln in built.splitlines() if "scenario 'worn-sensors'" in ln)
    turbine = line.split(" sensors of ")[1].split()[0]
    assert turbine not in generate().failed_turbines
    url = f"{platform.api}/projects/{PROJECT}/models/turbine-failure/predict"

    def predicted(**extra: Any) -> str:
        answer = httpx.post(url, json={"entities": [turbine], **extra},
                            headers=platform.headers(), timeout=120)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["items"][0]["prediction"]).lower()

    assert predicted() in {"no", "false"}
    assert predicted(scenario="worn-sensors") in {"yes", "true"}
    diff = get(platform, "/twins/windfarm/scenarios/worn-sensors/diff")
    assert len(diff["added"]) == 4 and len(diff["removed"]) == 4


def test_model_beats_its_baseline(platform: Platform, built: str) -> None:
    model = get(platform, "/models/turbine-failure")
    metrics = model["latest"]["metrics"]
    trained = metrics["cv"]["balanced_accuracy"]["mean"]
    baseline = metrics["cv_baseline"]["balanced_accuracy"]["mean"]
    assert trained > baseline + 0.2, (trained, baseline)


def test_second_run_reuses(platform: Platform, built: str, tmp_path: Path) -> None:
    again = demo(platform, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "exists; reusing it" in again.stdout and "not ingesting twice" in again.stdout
    assert len(get(platform, "/pipelines/ingest-windfarm/runs")["items"]) == 1


@pytest.mark.timeout(900)  # the whole demo again, as a flow run starting a dozen others
def test_the_demo_operation_runs_it_as_a_flow(platform: Platform, built: str) -> None:
    """`run_demo` (REST, MCP, the UI's button) runs the same steps on the work pool."""
    started = httpx.post(f"{platform.api}/demo", json={}, headers=platform.headers(), timeout=60)
    assert started.status_code == 201, started.text
    run_id = started.json()["flow_run_id"]
    assert started.json()["project"] == PROJECT
    deadline = time.monotonic() + 900
    run = get(platform, f"/runs/{run_id}")
    while run["state"] not in FINAL_STATES and time.monotonic() < deadline:
        time.sleep(2)
        run = get(platform, f"/runs/{run_id}")
    assert run["state"] == "COMPLETED", run
    assert run["result"]["steps"][0] == "project" and "anomalies" in run["result"]["steps"]
    assert run["result"]["report_path"] == "reports/fleet.md"
    assert run["result"]["export"]["path"] == "exports/windfarm.ttl"
    assert len(get(platform, "/pipelines/ingest-windfarm/runs")["items"]) == 1  # idempotent
    assert len(get(platform, "/pipelines/commission-site/runs")["items"]) == 1


def test_remove_deletes_everything(platform: Platform, built: str, tmp_path: Path) -> None:
    removed = demo(platform, tmp_path, "--remove")
    assert removed.returncode == 0 and "removed project" in removed.stdout
    gone = httpx.get(f"{platform.api}/projects/{PROJECT}", headers=platform.headers())
    assert gone.status_code == 404


def twin_query(platform: Platform, query: str, scenario: str | None = None) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"query": query}
    if scenario:
        body["scenario"] = scenario
    response = httpx.post(
        f"{platform.api}/projects/{PROJECT}/twins/windfarm/query",
        json=body,
        headers=platform.headers(),
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in row.items()} for row in response.json()["bindings"]]


def synced_run_created(platform: Platform) -> str:
    """When the demo's twin sync was created (the newest twin-sync run of the project)."""
    [newest, *_] = get(platform, "/runs", kind="twin-sync")["items"]
    return str(newest["created"])
