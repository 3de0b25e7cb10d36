"""Anomalies and alerts through the in-process REST API, on the sample wind-farm data.

The project's storage gets the sample sources, the extracted ontology, its class tables and
the published mapping (what ingestion + extraction + accept leave behind); the flow's work is
done in-process with the same function the `detect-anomalies` flow runs (`detect_project`) and
handed to `submit_anomalies` as the flow would. The flow itself, through a worker, runs in
tests/test_anomalies_platform.py. Events go to the session's real Prefect server.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from prefect.settings import PREFECT_API_URL, temporary_settings

from domain.ontology_storage import apply_ontology, load_raw, plan_ontology
from domain.published import publish, published
from domain.raw_area import read_raw_sample, write_raw
from domain.stores import open_store
from flows.anomaly_flow import DetectionConfig, detect_project
from flows.demo.data import generate
from ml.artifacts import load_model
from ml.spec import ModelSpec
from ml.workflow import entity_frame, prediction_rows, train_version, write_predictions
from ontology import extract, to_turtle
from tests.utils.servers import PrefectServer

API = "/api/v1"
PROJECT = "turbines"


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


@pytest.fixture
def client(make_client: Any, session_prefect: PrefectServer) -> Iterator[TestClient]:
    """An app whose events go to the session's Prefect server."""
    with temporary_settings({PREFECT_API_URL: session_prefect.api_url}):
        yield make_client(prefect_api_url=session_prefect.api_url)


@pytest.fixture
def windfarm(client: TestClient) -> dict[str, Any]:
    """A project whose storage holds the sample data as ingestion + extraction leave it."""
    project = ok(client.post(f"{API}/projects", json={"name": PROJECT}), 201)
    sample = generate()
    store = open_store(project["storage_url"])
    try:
        for name in ("turbines", "sensors", "readings"):
            text = sample.files[f"{name}.csv"].decode("utf-8-sig")
            write_raw(store, name, list(csv.DictReader(io.StringIO(text))), "run-1")
        model = extract(read_raw_sample(store, 50_000)).model
        plan = plan_ontology(store, model)
        apply_ontology(store, plan)
        load_raw(store, model, plan.mapping, set(plan.mapping.tabular.table_names))
    finally:
        store.close()
    publish(project["storage_url"], "main", 1, to_turtle(model), plan.mapping)
    return project


def submit(client: TestClient, run_id: str, anomalies: list[dict[str, Any]]) -> dict[str, Any]:
    body = {"run_id": run_id, "anomalies": anomalies}
    return ok(client.post(f"{API}/projects/{PROJECT}/anomalies/submissions", json=body), 201)


def alerts(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 50, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get(f"{API}/projects/{PROJECT}/alerts", params=query))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def found_now(project: dict[str, Any], client: TestClient) -> list[dict[str, Any]]:
    settings = ok(client.get(f"{API}/projects/{PROJECT}/anomalies/settings"))
    found, _ = detect_project(PROJECT, project["storage_url"], DetectionConfig(**settings))
    return found


def test_anomalies_become_alerts_once(client: TestClient, windfarm: dict[str, Any]) -> None:
    sample = generate()
    truth = sample.anomalous_readings | sample.drifted_readings
    found, summary = detect_project(PROJECT, windfarm["storage_url"], DetectionConfig())
    assert summary["Reading"]["anomalies"] == len(
        [f for f in found if f["class_name"] == "Reading"]
    )

    first = submit(client, "run-1", found)
    assert first["stored"] == len(found) and first["alerts_suppressed"] == 0
    assert len(alerts(client)) == first["alerts_raised"] > 0
    readings = alerts(client, class_name="Reading")
    flagged = {unquote(a["entity"].rsplit("/", 1)[1]) for a in readings}
    hits = flagged & truth
    assert len(hits) >= 0.9 * len(truth) and len(hits) >= 0.8 * len(flagged)
    assert all(a["state"] == "open" and a["occurrences"] == 1 for a in readings)
    assert {a["severity"] for a in readings} <= {"low", "medium", "high", "critical"}

    # The same condition in two more runs: no new alert, two more occurrences.
    for run in ("run-2", "run-3"):
        again = submit(client, run, found)
        assert again["alerts_raised"] == 0 and again["alerts_updated"] == first["alerts_raised"]
    assert len(alerts(client)) == first["alerts_raised"]
    assert all(a["occurrences"] == 3 for a in alerts(client))
    # A retried hand-off of the same run replaces its rows and counts once.
    submit(client, "run-3", found)
    assert all(a["occurrences"] == 3 for a in alerts(client))

    # Acknowledged stays live; resolved stays resolved within its cooldown.
    acked, resolved = readings[0], readings[1]
    one = f"{API}/projects/{PROJECT}/alerts"
    assert ok(client.post(f"{one}/{acked['id']}/acknowledge", json={}))["state"] == "acknowledged"
    assert ok(client.post(f"{one}/{resolved['id']}/resolve", json={}))["state"] == "resolved"
    later = submit(client, "run-4", found)
    assert later["alerts_raised"] == 0 and later["alerts_suppressed"] == 1
    assert ok(client.get(f"{one}/{acked['id']}"))["state"] == "acknowledged"
    assert ok(client.get(f"{one}/{acked['id']}"))["occurrences"] == 4
    assert ok(client.get(f"{one}/{resolved['id']}"))["state"] == "resolved"
    assert len(alerts(client)) == first["alerts_raised"]
    reopen = client.post(f"{one}/{resolved['id']}/acknowledge", json={})
    assert reopen.status_code == 422 and reopen.json()["field"].endswith("alert_id")
    missing = client.get(f"{one}/{'0' * 32}")
    assert missing.status_code == 404 and missing.json()["field"].endswith("alert_id")

    # A new alert emits mimir.alert.raised with the entity as resource (Prefect stores it).
    ids = {a["id"]: a for a in alerts(client)}
    expected = min(len(ids), 50)
    deadline = time.monotonic() + 60
    while True:
        events = ok(client.get(f"{API}/projects/{PROJECT}/events", params={"limit": 50}))
        raised = [
            e
            for e in events["items"]
            if e["event"] == "mimir.alert.raised" and e["payload"].get("alert_id") in ids
        ]
        if len(raised) >= expected or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(raised) == expected
    for event in raised:
        alert = ids[event["payload"]["alert_id"]]
        assert event["resource"]["prefect.resource.id"] == f"mimir.entity.{alert['entity']}"
        assert event["resource"]["mimir.project"] == PROJECT


def test_after_the_cooldown_a_new_occurrence_raises_a_new_alert(
    client: TestClient, windfarm: dict[str, Any]
) -> None:
    settings = f"{API}/projects/{PROJECT}/anomalies/settings"
    ok(client.put(settings, json={"classes": ["Reading"], "methods": ["mad"], "cooldown_s": 0}))
    found = found_now(windfarm, client)
    assert found and {f["class_name"] for f in found} == {"Reading"}
    assert {f["method"] for f in found} == {"mad"}
    first = submit(client, "run-1", found)
    old = alerts(client)[0]
    ok(client.post(f"{API}/projects/{PROJECT}/alerts/{old['id']}/resolve", json={}))
    again = submit(client, "run-2", found)
    assert again["alerts_raised"] == 1 and again["alerts_updated"] == first["alerts_raised"] - 1
    same = [a for a in alerts(client) if a["dedup_key"] == old["dedup_key"]]
    assert sorted(a["state"] for a in same) == ["open", "resolved"]


def test_list_anomalies_filters_and_pages(client: TestClient, windfarm: dict[str, Any]) -> None:
    found, _ = detect_project(PROJECT, windfarm["storage_url"], DetectionConfig())
    submit(client, "run-a", found[:10])
    submit(client, "run-b", found)
    url = f"{API}/projects/{PROJECT}/anomalies"
    assert len(ok(client.get(url, params={"run_id": "run-a", "limit": 1000}))["items"]) == 10
    series = ok(client.get(url, params={"method": "series", "limit": 1000}))["items"]
    assert series and all(a["method"] == "series" for a in series)
    assert all(a["group"].startswith("owner=") for a in series)
    mad = ok(client.get(url, params={"method": "mad", "class_name": "Reading", "limit": 1000}))
    assert mad["items"]
    assert all(
        a["expected_low"] is not None and a["group"] in a["explanation"] for a in mad["items"]
    )
    ids, cursor = [], None
    while True:
        params = {"run_id": "run-b", "limit": 7, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get(url, params=params))
        ids += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(ids) == len(set(ids)) == len(found)
    bad = client.get(url, params={"cursor": "nope"})
    assert bad.status_code == 422 and bad.json()["field"].endswith("cursor")


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"classes": ["Windmill"]}, "classes", "unknown class 'Windmill'"),
        ({"attributes": {"Reading": ["colour"]}}, "attributes.Reading", "no numeric attribute"),
        ({"attributes": {"Windmill": ["value"]}}, "attributes.Windmill", "unknown class"),
        ({"groupings": {"Reading": "sensor_id.colour"}}, "groupings.Reading", "unknown grouping"),
        ({"sensitivity": 0}, "sensitivity", ""),
        ({"methods": ["astrology"]}, "methods", ""),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    client: TestClient, windfarm: dict[str, Any], body: dict[str, Any], field: str, words: str
) -> None:
    url = f"{API}/projects/{PROJECT}/anomalies/settings"
    before = ok(client.get(url))
    response = client.put(url, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert any(field in e["field"] for e in problem["errors"]), problem
    assert words in problem["detail"]
    assert ok(client.get(url)) == before  # nothing saved


def test_settings_round_trip_and_defaults(client: TestClient, windfarm: dict[str, Any]) -> None:
    url = f"{API}/projects/{PROJECT}/anomalies/settings"
    default = ok(client.get(url))
    assert default["classes"] is None and default["sensitivity"] == 4.0
    assert default["methods"] == ["mad", "series", "isolation-forest"]
    wanted = {
        "classes": ["Reading"],
        "attributes": {"Reading": ["value"]},
        "groupings": {"Reading": "sensor_id.kind"},
        "sensitivity": 5.0,
    }
    saved = ok(client.put(url, json=wanted))
    assert ok(client.get(url)) == saved and saved["groupings"] == {"Reading": "sensor_id.kind"}
    found = found_now(windfarm, client)
    assert found and {f["group"] for f in found if f["method"] == "mad"} <= {
        "sensor_id.kind=temperature",
        "sensor_id.kind=vibration",
    }
    assert all(f["score"] > 5.0 for f in found if f["method"] == "mad")


def test_unknown_project(client: TestClient) -> None:
    missing = client.get(f"{API}/projects/nowhere/alerts")
    assert missing.status_code == 404


def _readings_above(bound: float) -> set[str]:
    """The sample readings whose value is above `bound` (the threshold rule's ground truth)."""
    text = generate().files["readings.csv"].decode("utf-8-sig")
    return {r["reading_id"] for r in csv.DictReader(io.StringIO(text)) if float(r["value"]) > bound}


def test_rules_become_alerts_once(client: TestClient, windfarm: dict[str, Any]) -> None:
    text = generate().files["readings.csv"].decode("utf-8-sig")
    values = sorted(float(r["value"]) for r in csv.DictReader(io.StringIO(text)))
    bound = values[-25]  # the 24 largest readings cross it
    expected = _readings_above(bound)
    assert 0 < len(expected) <= 24
    url = f"{API}/projects/{PROJECT}/anomalies/settings"
    rules = [
        {"kind": "threshold", "name": "hot", "class_name": "Reading", "attribute": "value",
         "op": ">", "value": bound, "severity": "high"},
        {"kind": "sparql", "name": "has-data", "query": "ASK { ?s ?p ?o }",
         "severity": "critical"},
        {"kind": "sparql", "name": "never", "query": "ASK { ?s <urn:no:such> ?o }"},
    ]
    saved = ok(client.put(url, json={"classes": ["Reading"], "methods": ["mad"], "rules": rules}))
    assert [r["name"] for r in saved["rules"]] == ["hot", "has-data", "never"]

    # Two detections of the same data: one alert per offending entity, seen twice.
    for run in ("run-1", "run-2"):
        found = found_now(windfarm, client)
        assert {f["method"] for f in found} == {"mad", "rule:hot", "rule:has-data"}
        submit(client, run, found)
    hot = [a for a in alerts(client) if a["rule"] == "rule:hot"]
    assert {unquote(a["entity"].rsplit("/", 1)[1]) for a in hot} == expected
    assert len(hot) == len(expected)
    assert all(a["occurrences"] == 2 and a["severity"] == "high" for a in hot)
    assert all(a["dedup_key"] == f"rule:hot|{a['entity']}" for a in hot)
    ask = [a for a in alerts(client) if a["rule"] == "rule:has-data"]
    assert len(ask) == 1 and ask[0]["entity"] == f"urn:mimir:project:{PROJECT}"
    assert ask[0]["severity"] == "critical" and ask[0]["occurrences"] == 2
    assert not [a for a in alerts(client) if a["rule"] == "rule:never"]

    # Resolved within its cooldown: the rule still holds, but no new alert.
    one = f"{API}/projects/{PROJECT}/alerts"
    ok(client.post(f"{one}/{ask[0]['id']}/resolve", json={}))
    later = submit(client, "run-3", found_now(windfarm, client))
    assert later["alerts_raised"] == 0 and later["alerts_suppressed"] == 1
    rule_hits = ok(client.get(f"{API}/projects/{PROJECT}/anomalies",
                              params={"run_id": "run-3", "limit": 1000}))["items"]
    assert len([a for a in rule_hits if a["method"] == "rule:hot"]) == len(expected)


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ({"kind": "threshold", "name": "r", "class_name": "Windmill", "attribute": "value",
          "value": 1}, "rules.0.class_name", "unknown class 'Windmill'"),
        ({"kind": "threshold", "name": "r", "class_name": "Reading", "attribute": "colour",
          "value": 1}, "rules.0.attribute", "no numeric attribute 'colour'"),
        ({"kind": "sparql", "name": "r", "query": "SELECT ?entity WHERE {\n  ?entity ?p }"},
         "rules.0.query", "line 2"),
        ({"kind": "sparql", "name": "r", "query": "SELECT ?s WHERE { ?s ?p ?o }"},
         "rules.0.query", "must select ?entity"),
        ({"kind": "sparql", "name": "r", "query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"},
         "rules.0.query", "SELECT or ASK"),
        ({"kind": "sparql", "name": "no spaces", "query": "ASK {}"}, "rules.0.sparql.name", ""),
        ({"kind": "astrology", "name": "r"}, "rules.0", ""),
    ],
)
def test_bad_rules_are_refused_naming_the_field(
    client: TestClient, windfarm: dict[str, Any], rule: dict[str, Any], field: str, words: str
) -> None:
    url = f"{API}/projects/{PROJECT}/anomalies/settings"
    before = ok(client.get(url))
    response = client.put(url, json={"rules": [rule]})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert any(field in e["field"] for e in problem["errors"]), problem
    assert words in problem["detail"], problem
    assert ok(client.get(url)) == before  # nothing saved


def test_duplicate_rule_names_are_refused(client: TestClient, windfarm: dict[str, Any]) -> None:
    url = f"{API}/projects/{PROJECT}/anomalies/settings"
    twice = [{"kind": "sparql", "name": "same", "query": "ASK { ?s ?p ?o }"}] * 2
    response = client.put(url, json={"rules": twice})
    assert response.status_code == 422 and response.json()["field"].endswith("rules.1.name")


def _class_iri(project: dict[str, Any], name: str) -> str:
    return str(published(project["storage_url"])[0].mapping.class_mapping(name).class_iri)


def test_select_rule_hits_carry_the_entitys_class(
    client: TestClient, windfarm: dict[str, Any]
) -> None:
    sensor = _class_iri(windfarm, "Sensor")
    rules = [
        {"kind": "sparql", "name": "worn", "query": "SELECT ?entity WHERE { ?entity a "
         f"<{sensor}> ; <{sensor}/wear> ?w FILTER(?w > 0.9) }}"},
        {"kind": "sparql", "name": "outside",
         "query": "SELECT ?entity WHERE { BIND(<urn:x:elsewhere> AS ?entity) }"},
    ]
    url = f"{API}/projects/{PROJECT}/anomalies/settings"
    ok(client.put(url, json={"classes": [], "rules": rules}))
    submit(client, "run-1", found_now(windfarm, client))
    worn = [a for a in alerts(client) if a["rule"] == "rule:worn"]
    text = generate().files["sensors.csv"].decode("utf-8-sig")
    expected = {r["sensor_id"] for r in csv.DictReader(io.StringIO(text)) if float(r["wear"]) > 0.9}
    assert expected and {unquote(a["entity"].rsplit("/", 1)[1]) for a in worn} == expected
    assert {a["class_name"] for a in worn} == {"Sensor"}
    # what an alert_raised trigger filtering on class Sensor matches
    assert {a["id"] for a in alerts(client, class_name="Sensor")} == {a["id"] for a in worn}
    outside = [a for a in alerts(client) if a["rule"] == "rule:outside"]
    assert [(a["entity"], a["class_name"]) for a in outside] == [("urn:x:elsewhere", "Entity")]


def test_list_anomalies_filters_rule_hits(client: TestClient, windfarm: dict[str, Any]) -> None:
    text = generate().files["readings.csv"].decode("utf-8-sig")
    bound = sorted(float(r["value"]) for r in csv.DictReader(io.StringIO(text)))[-11]
    rules = [{"kind": "threshold", "name": "hot", "class_name": "Reading", "attribute": "value",
              "value": bound}]
    url = f"{API}/projects/{PROJECT}/anomalies/settings"
    ok(client.put(url, json={"classes": ["Reading"], "methods": ["mad"], "rules": rules}))
    found = found_now(windfarm, client)
    submit(client, "run-1", found)
    url = f"{API}/projects/{PROJECT}/anomalies"

    def listed(**params: Any) -> list[dict[str, Any]]:
        return list(ok(client.get(url, params={**params, "limit": 1000}))["items"])

    hot = listed(method="rule:hot")
    assert len(hot) == len(_readings_above(bound)) == 10
    assert {a["method"] for a in hot} == {"rule:hot"}
    assert listed(kind="rule") == hot
    statistical = listed(kind="statistical")
    assert statistical and {a["method"] for a in statistical} == {"mad"}
    assert len(statistical) + len(hot) == len(found)
    assert listed(method="rule:cold") == []
    for bad in ("rule:no spaces", "astrology", "rule:"):
        response = client.get(url, params={"method": bad})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"].endswith("method") for e in response.json()["errors"])
    response = client.get(url, params={"kind": "sometimes"})
    assert response.status_code == 422
    assert any(e["field"].endswith("kind") for e in response.json()["errors"])


FAILURE = {"name": "turbine-failure", "spec": {"entity_class": "Turbine", "target": "failed",
                                               "task": "classification", "algorithm": "linear"}}
POWER = {"name": "rated-power", "spec": {"entity_class": "Turbine", "target": "rated_power",
                                         "task": "regression", "algorithm": "linear"}}


@pytest.fixture
def models(client: TestClient, windfarm: dict[str, Any]) -> dict[str, Any]:
    """The wind farm with a classifier and a regressor of turbines (created, not trained)."""
    for body in (FAILURE, POWER):
        ok(client.post(f"{API}/projects/{PROJECT}/models", json=body), 201)
    return windfarm


def _predict(project: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    """Train version 1 in-process (what the train-model flow runs) and store its batch
    predictions of every turbine (what the infer flow runs)."""
    store = open_store(project["storage_url"])
    try:
        mapping = published(project["storage_url"])[0].mapping
        spec = ModelSpec.model_validate(body["spec"])
        trained = train_version(store, mapping, spec, storage_url=project["storage_url"],
                                model=body["name"], version=1, ontology="main")
        model = load_model(project["storage_url"], body["name"], 1, trained.content_hash)
        rows = prediction_rows(model, entity_frame(store, mapping, model.plan), 1)
        write_predictions(store, body["name"], rows)
    finally:
        store.close()
    return rows


def test_threshold_rules_on_a_models_predictions(
    client: TestClient, models: dict[str, Any]
) -> None:
    url = f"{API}/projects/{PROJECT}/anomalies/settings"
    # before any batch prediction the rules hold nowhere
    rules = [{"kind": "threshold", "name": "power", "class_name": "Turbine",
              "model": "rated-power", "op": ">=", "value": 1.0}]
    ok(client.put(url, json={"classes": [], "rules": rules}))
    assert found_now(models, client) == []

    failure = _predict(models, FAILURE)
    power = _predict(models, POWER)
    label = sorted(failure[0]["probabilities"])[-1]
    chances = sorted(r["probabilities"][label] for r in failure)
    p_bound = chances[len(chances) // 2]
    values = sorted(r["prediction"] for r in power)
    v_bound = values[len(values) // 2]
    # a newer version's prediction of one entity is the one judged
    likely = next(r for r in failure if r["probabilities"][label] > p_bound)
    store = open_store(models["storage_url"])
    try:
        write_predictions(store, FAILURE["name"], [{
            "entity": likely["entity"], "model_version": 2, "prediction": "x",
            "probabilities": {label: 0.0}}])
    finally:
        store.close()
    rules = [
        {"kind": "threshold", "name": "failing", "class_name": "Turbine",
         "model": "turbine-failure", "label": label, "op": ">", "value": p_bound,
         "severity": "high"},
        {"kind": "threshold", "name": "power", "class_name": "Turbine",
         "model": "rated-power", "op": ">=", "value": v_bound},
    ]
    saved = ok(client.put(url, json={"classes": [], "rules": rules}))
    assert saved["rules"][0]["model"] == "turbine-failure"
    found = found_now(models, client)
    submit(client, "run-1", found)

    def ids(rule: str) -> set[str]:
        return {unquote(a["entity"].rsplit("/", 1)[1]) for a in alerts(client)
                if a["rule"] == f"rule:{rule}"}

    want = {r["entity"] for r in failure if r["probabilities"][label] > p_bound}
    assert likely["entity"] in want
    assert ids("failing") == want - {likely["entity"]} and len(want) > 1
    assert ids("power") == {r["entity"] for r in power if r["prediction"] >= v_bound}
    assert {a["class_name"] for a in alerts(client)} == {"Turbine"}
    hit = next(f for f in found if f["method"] == "rule:failing")
    assert hit["attributes"] == [f"turbine-failure.probability[{label}]"]
    assert "model turbine-failure version 1" in hit["explanation"]
    base = published(models["storage_url"])[0].mapping.instance_base
    assert hit["entity"] == f"{base}Turbine/{unquote(hit['entity'].rsplit('/', 1)[1])}"


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ({"model": "nope"}, "rules.0.model", "unknown model 'nope'"),
        ({"model": "turbine-failure", "class_name": "Sensor", "label": "x"},
         "rules.0.class_name", "predicts for Turbine"),
        ({"model": "turbine-failure"}, "rules.0.label", "is a classifier"),
        ({"model": "rated-power", "label": "x"}, "rules.0.label", "is a regressor"),
        ({"model": "rated-power", "attribute": "hub_height"}, "rules.0.attribute", "not both"),
        ({}, "rules.0.attribute", "name the numeric attribute"),
        ({"attribute": "hub_height", "label": "x"}, "rules.0.label", "goes with model"),
    ],
)
def test_bad_model_rules_are_refused_naming_the_field(
    client: TestClient, models: dict[str, Any], rule: dict[str, Any], field: str, words: str
) -> None:
    url = f"{API}/projects/{PROJECT}/anomalies/settings"
    body = {"kind": "threshold", "name": "r", "class_name": "Turbine", "value": 1, **rule}
    response = client.put(url, json={"rules": [body]})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert any(e["field"].endswith(field) for e in problem["errors"]), problem
    assert words in problem["detail"], problem
