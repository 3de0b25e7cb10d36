"""ML models end to end on the running platform (`mimir up`, auth on, real process worker):

a user ingests scikit-learn's breast-cancer data through a pipeline into an ontology class,
explains and creates a model, trains it (a `train-model` flow run), reads its card, checks
the CV accuracy against plain scikit-learn on the same frame and folds, predicts through the
API (identical to loading the artifact in this process), scores the class in batch (`infer`),
monitors drift, uses `model.predict` in a pipeline, and sees failures: a run that fails shows
its error on the version; bad specs and records are refused with nothing saved; a model of a
class deleted from the ontology cannot be trained.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from ml.artifacts import load_model
from ml.features import FeaturePlan
from ml.frame import build_frame
from ml.workflow import prediction_rows
from ontology import to_turtle
from ontology.model import XSD, DatatypeProperty, OntologyClass
from storage_plugins.sql import SQLStoragePlugin
from tests.conftest import Platform
from tests.test_pipelines_platform import FINAL, run_until_final, save, wait_for
from tests.test_platform import mcp_http_client
from tests.utils.ml import NS, sklearn_records

PROJECT = "ml-e2e"
pytestmark = pytest.mark.timeout(1800)  # flow runs start slowly on a shared machine


def call(platform: Platform, method: str, tail: str, **kwargs: Any) -> httpx.Response:
    # State changes are JSON, even without a body (the API refuses others: CSRF guard).
    if method in ("POST", "PUT", "PATCH") and "json" not in kwargs and "content" not in kwargs:
        kwargs["json"] = {}
    return httpx.request(method, f"{platform.api}/projects/{PROJECT}{tail}",
                         headers=platform.headers(), timeout=300, **kwargs)


def run_pipeline(platform: Platform, name: str, text: str) -> dict[str, Any]:
    saved = save(platform, PROJECT, name, text)
    assert saved.status_code == 200, saved.text
    started = call(platform, "POST", f"/pipelines/{name}/runs", json={})
    assert started.status_code == 201, started.text
    return run_until_final(platform, PROJECT, name, started.json()["flow_run_id"])


def wait_version(platform: Platform, model: str, version: int) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        detail = call(platform, "GET", f"/models/{model}").json()
        [found] = [v for v in detail["versions"] if v["version"] == version]
        return detail if found["state"] in FINAL else None

    return wait_for(done, timeout=600, every=1)


def wait_run(platform: Platform, run_id: str) -> dict[str, Any]:
    prefect = platform.env["PREFECT_API_URL"]
    return wait_for(lambda: (r := httpx.get(f"{prefect}/flow_runs/{run_id}").json())
                    ["state_type"] in FINAL and r, timeout=600, every=1)


def ontology_turtle() -> str:
    model, _, _ = sklearn_records("breast_cancer")
    tiny = OntologyClass(iri=NS + "Tiny", key=[NS + "tiny_id"])
    props = [DatatypeProperty(iri=NS + n, domain=[NS + "Tiny"], range=XSD + t, functional=True)
             for n, t in (("tiny_id", "integer"), ("size", "double"), ("kind", "string"))]
    return to_turtle(model.model_copy(update={
        "classes": [*model.classes, tiny],
        "datatype_properties": [*model.datatype_properties, *props]}))


@pytest.fixture(scope="module")
def project(platform: Platform) -> str:
    created = httpx.post(f"{platform.api}/projects", json={"name": PROJECT},
                         headers=platform.headers())
    assert created.status_code == 201, created.text
    accepted = call(platform, "POST", "/ontologies",
                    json={"name": "main", "content": ontology_turtle(), "format": "turtle"})
    assert accepted.status_code == 201, accepted.text
    _, _, records = sklearn_records("breast_cancer")
    folder = platform.home / "projects" / PROJECT / "data"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cancer.json").write_text(json.dumps(records))
    (folder / "tiny.json").write_text(json.dumps(
        [{"tiny_id": i, "size": float(i), "kind": "ab"[i % 2]} for i in range(6)]))
    steps = ""
    for cls, file in (("Sample", "cancer"), ("Tiny", "tiny")):
        steps += (f"  - name: read_{file}\n    action: file.read\n"
                  f"    with: {{path: data/{file}.json, format: json}}\n"
                  f"  - name: write_{file}\n    action: storage.write\n"
                  f"    with: {{class: {cls}, rows: \"{{{{ steps.read_{file}.content }}}}\"}}\n")
    done = run_pipeline(platform, "load-data", f"name: load-data\ntype: ingestion\nsteps:\n{steps}")
    assert done["state"] == "COMPLETED", done
    return PROJECT


def _frame(platform: Platform, plan: FeaturePlan) -> Any:
    from domain.published import published

    storage = str(platform.home / "projects" / PROJECT)
    mapping = published(storage, "main")[0].mapping
    store = SQLStoragePlugin({"url": f"sqlite:///{storage}/tables.sqlite"})
    try:
        return build_frame(store, mapping, plan)
    finally:
        store.close()


def test_train_inspect_predict_infer_monitor(platform: Platform, project: str) -> None:
    spec = {"entity_class": "Sample", "target": "label"}
    explained = call(platform, "POST", "/models/explain", json={"spec": spec})
    assert explained.status_code == 200, explained.text
    plan = FeaturePlan.model_validate(explained.json()["plan"])
    assert plan.task == "classification" and len(plan.features) == 30

    created = call(platform, "POST", "/models", json={"name": "cancer", "spec": spec})
    assert created.status_code == 201, created.text
    started = call(platform, "POST", "/models/cancer/versions")
    assert started.status_code == 202, started.text
    assert started.json()["version"] == 1 and started.json()["flow_run_id"]
    detail = wait_version(platform, "cancer", 1)
    latest = detail["latest"]
    assert latest["state"] == "COMPLETED", latest
    card = detail["card"]
    assert card["data"]["rows"] == 569 and "## Metrics" in detail["card_markdown"]

    # the reported CV accuracy is what plain scikit-learn gets on the same frame and folds
    frame = _frame(platform, plan)
    x, y = frame[plan.feature_names], frame[plan.target]
    x_train, _, y_train, _ = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    plain = Pipeline([("impute", SimpleImputer(strategy="median")),
                      ("model", HistGradientBoostingClassifier(random_state=0))])
    with threadpool_limits(1):
        expected = cross_val_score(plain, x_train, y_train, scoring="accuracy",
                                   cv=StratifiedKFold(5, shuffle=True, random_state=0)).mean()
    assert abs(latest["metrics"]["cv"]["accuracy"]["mean"] - expected) <= 0.02

    # predictions through the API equal the artifact loaded in this (another) process
    answer = call(platform, "POST", "/models/cancer/predict", json={"entities": ["0", "7", "19"]})
    assert answer.status_code == 200, answer.text
    storage = str(platform.home / "projects" / PROJECT)
    loaded = load_model(storage, "cancer", 1, latest["content_hash"])
    here = prediction_rows(loaded, frame.loc[["0", "7", "19"]], 1)
    assert answer.json()["items"] == here

    # ad-hoc records are checked against the feature schema
    record = {name: float(x.iloc[0][name]) for name in plan.feature_names}
    good = call(platform, "POST", "/models/cancer/predict", json={"records": [record]})
    assert good.status_code == 200 and good.json()["items"][0]["entity"] == "record:0"
    bad = call(platform, "POST", "/models/cancer/predict",
               json={"records": [{**record, "f3": "large"}]})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json")
    assert "records[0].f3: expected a number" in bad.json()["detail"]

    # batch inference into the predictions table, keyed by entity and model version
    inferred = call(platform, "POST", "/models/cancer/inferences", json={})
    assert inferred.status_code == 202, inferred.text
    assert wait_run(platform, inferred.json()["flow_run_id"])["state_type"] == "COMPLETED"
    import sqlite3

    with sqlite3.connect(f"{storage}/tables.sqlite") as db:
        rows = db.execute("SELECT entity, model_version, prediction FROM "
                          "mimir_predictions_cancer").fetchall()
    assert len(rows) == 569 and {r[1] for r in rows} == {1}
    assert dict((r[0], r[2]) for r in rows)["7"] == here[1]["prediction"]

    # drift: the same data is stable; the report is listed
    monitored = call(platform, "POST", "/models/cancer/monitoring", json={})
    assert monitored.status_code == 202, monitored.text
    assert wait_run(platform, monitored.json()["flow_run_id"])["state_type"] == "COMPLETED"
    history = call(platform, "GET", "/models/cancer/drift").json()
    assert len(history["items"]) == 1 and history["degraded"] is False
    assert set(history["items"][0]["features"]) == set(plan.feature_names)

    # model.predict in a pipeline, and the MCP tool of the same operation
    pipeline = ("name: score\ntype: processing\nsteps:\n  - name: predict\n"
                "    action: model.predict\n"
                "    with: {model: cancer, entities: ['0', '7']}\n"
                "  - name: keep\n    action: file.write\n"
                "    with: {path: out/scores.json, content: \"{{ steps.predict.predictions }}\","
                " format: json}\n")
    assert run_pipeline(platform, "score", pipeline)["state"] == "COMPLETED"
    scores = json.loads((platform.home / "projects" / PROJECT / "out/scores.json").read_text())
    assert scores == here[:2]

    async def over_mcp() -> Any:
        async with mcp_http_client(platform, platform.token) as client:
            return await client.call_tool("get_model", {"project": PROJECT, "name": "cancer"})

    result = anyio.run(over_mcp)
    assert result.structured_content["latest"]["content_hash"] == latest["content_hash"]


def test_failures_are_visible_and_bad_input_saves_nothing(platform: Platform,
                                                          project: str) -> None:
    # a spec naming a property the class does not have: refused, nothing saved
    bad = call(platform, "POST", "/models",
               json={"name": "nope", "spec": {"entity_class": "Sample", "target": "colour"}})
    assert bad.status_code == 422 and "not a datatype property of class Sample" in bad.text
    assert "nope" not in [m["name"] for m in call(platform, "GET", "/models").json()["items"]]
    unknown = call(platform, "POST", "/models/explain",
                   json={"spec": {"entity_class": "Sample", "target": "label",
                                  "exclude": ["f99"]}})
    assert unknown.status_code == 422 and "unknown feature 'f99'" in unknown.text

    # a run that fails (6 rows): the version shows the state and the error from the flow
    created = call(platform, "POST", "/models",
                   json={"name": "tiny", "spec": {"entity_class": "Tiny", "target": "kind"}})
    assert created.status_code == 201, created.text
    assert call(platform, "POST", "/models/tiny/versions").status_code == 202
    version = wait_version(platform, "tiny", 1)["latest"]
    assert version["state"] == "FAILED" and "too few rows" in version["error"]
    assert version["content_hash"] is None
    refused = call(platform, "POST", "/models/tiny/predict", json={"records": [{}]})
    assert refused.status_code == 409 and "train it first" in refused.text

    # the class is deleted from the ontology: training the model is refused up front
    model, _, _ = sklearn_records("breast_cancer")
    replaced = call(platform, "POST", "/ontologies/main/versions",
                    json={"content": to_turtle(model), "format": "turtle"})
    assert replaced.status_code == 201, replaced.text
    gone = call(platform, "POST", "/models/tiny/versions")
    assert gone.status_code == 422 and "Tiny" in gone.json()["detail"]
    assert len(call(platform, "GET", "/models/tiny").json()["versions"]) == 1

    deleted = call(platform, "DELETE", "/models/tiny")
    assert deleted.status_code == 200 and deleted.json()["versions_removed"] == 1
    assert call(platform, "GET", "/models/tiny").status_code == 404
    assert not (platform.home / "projects" / PROJECT / "_mimir/models/tiny").exists()
