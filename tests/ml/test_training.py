"""Training on ontology data: features from attributes and relationships, honest metrics that
plain scikit-learn reproduces, artifacts that load in a fresh process, the PyTorch MLP."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from ml.artifacts import load_model
from ml.frame import build_frame
from ml.spec import ModelSpec
from ml.workflow import entity_frame, explain, prediction_rows, train_version, write_predictions
from tests.ml.conftest import Loaded

ROOT = Path(__file__).resolve().parents[2]


def test_explain_lists_attributes_and_both_directions_of_relationships(turbines: Loaded) -> None:
    plan = explain(turbines.store, turbines.mapping,
                   ModelSpec(entity_class="Turbine", target="failed"))
    by_name = {f.name: f for f in plan.features}
    assert plan.task == "classification"
    assert {"noise", "site"} <= set(by_name) and "failed" not in by_name
    assert "turbine_id" not in by_name
    assert by_name["in.Sensor.turbine.count"].aggregate == "count"
    for agg in ("mean", "min", "max"):
        assert by_name[f"in.Sensor.turbine.reading.{agg}"].kind == "numeric"
    assert by_name["in.Sensor.turbine.kind.mode"].kind == "categorical"
    sensor = explain(turbines.store, turbines.mapping,
                     ModelSpec(entity_class="Sensor", target="reading"))
    assert sensor.task == "regression"
    assert {"out.turbine.count", "out.turbine.noise.mean", "out.turbine.site.mode"} <= set(
        sensor.feature_names)


def test_relationship_aggregates_are_computed_per_entity(turbines: Loaded) -> None:
    plan = explain(turbines.store, turbines.mapping,
                   ModelSpec(entity_class="Turbine", target="failed"))
    frame = build_frame(turbines.store, turbines.mapping, plan)
    sensors = pd.DataFrame(turbines.store.read("sensor").rows)
    expected = sensors.groupby("turbine")["reading"].agg(["count", "mean", "max"])
    some = expected.index[:5]
    for t in some:
        row = frame.loc[str(t)]
        assert row["in.Sensor.turbine.count"] == expected.loc[t, "count"]
        assert row["in.Sensor.turbine.reading.mean"] == pytest.approx(expected.loc[t, "mean"])
        assert row["in.Sensor.turbine.reading.max"] == pytest.approx(expected.loc[t, "max"])


def _plain_cv(frame: pd.DataFrame, features: list[str], target: str, task: str) -> float:
    """The same evaluation written with plain scikit-learn."""
    known = frame[frame[target].notna()]
    x, y = known[features], known[target]
    stratify = y if task == "classification" else None
    x_train, _, y_train, _ = train_test_split(x, y, test_size=0.2, random_state=0,
                                              stratify=stratify)
    if task == "classification":
        model = HistGradientBoostingClassifier(random_state=0)
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        scoring = "accuracy"
    else:
        model = HistGradientBoostingRegressor(random_state=0)
        folds = KFold(n_splits=5, shuffle=True, random_state=0)
        scoring = "r2"
    plain = Pipeline([("impute", SimpleImputer(strategy="median")), ("model", model)])
    with threadpool_limits(1):  # OpenMP on shared cores is slower than one thread
        return float(cross_val_score(plain, x_train, y_train, cv=folds, scoring=scoring).mean())


@pytest.mark.parametrize(("name", "task", "metric"), [
    ("breast_cancer", "classification", "accuracy"),
    ("wine", "classification", "accuracy"),
    ("diabetes", "regression", "r2"),
])
def test_cv_metric_matches_plain_sklearn(datasets: dict[str, Loaded], name: str, task: str,
                                         metric: str) -> None:
    data = datasets[name]
    spec = ModelSpec(entity_class=data.cls, target="label")
    trained = train_version(data.store, data.mapping, spec, storage_url=data.storage_url,
                            model=name, version=1, ontology="main")
    card = trained.card
    assert card["task"] == task and card["primary_metric"] == metric
    reported = card["metrics"]["cv"][metric]["mean"]
    frame = build_frame(data.store, data.mapping, trained.plan)
    assert abs(reported - _plain_cv(frame, trained.plan.feature_names, "label", task)) <= 0.02
    baseline = card["metrics"]["cv_baseline"][metric]["mean"]
    assert reported > baseline + 0.1
    if task == "classification":
        assert {"balanced_accuracy", "f1_macro", "roc_auc"} <= set(card["metrics"]["cv"])
        assert card["metrics"]["cv_baseline"]["roc_auc"]["mean"] == pytest.approx(0.5)
        matrix = np.array(card["confusion_matrix"]["matrix"])
        assert matrix.sum() == round(card["data"]["rows"] * 0.2 + 0.4999)
    else:
        assert {"rmse", "mae"} <= set(card["metrics"]["holdout"])
    assert card["importance"][0]["mean"] >= card["importance"][-1]["mean"]
    assert "scikit-learn" in card["libraries"]


def test_artifact_predicts_identically_in_a_fresh_process(datasets: dict[str, Loaded]) -> None:
    data = datasets["wine"]
    spec = ModelSpec(entity_class=data.cls, target="label", algorithm="random_forest",
                     hyperparameters={"n_estimators": 50})
    trained = train_version(data.store, data.mapping, spec, storage_url=data.storage_url,
                            model="wine-rf", version=3, ontology="main")
    loaded = load_model(data.storage_url, "wine-rf", 3, trained.content_hash)
    frame = entity_frame(data.store, data.mapping, loaded.plan)
    here = prediction_rows(loaded, frame, 3)
    script = textwrap.dedent(f"""
        import json, sys
        from ml.artifacts import load_model
        from ml.frame import build_frame
        from ml.workflow import prediction_rows
        from storage_plugins.sql import SQLStoragePlugin
        from ontology.compile import SchemaMapping
        mapping = SchemaMapping.model_validate_json(sys.stdin.read())
        model = load_model({data.storage_url!r}, "wine-rf", 3, {trained.content_hash!r})
        store = SQLStoragePlugin({{"url": {data.store.config.url!r}}})
        frame = build_frame(store, mapping, model.plan, with_target=False)
        print(json.dumps(prediction_rows(model, frame, 3)))
    """)
    done = subprocess.run([sys.executable, "-c", script], input=data.mapping.model_dump_json(),
                          capture_output=True, text=True, cwd=ROOT, check=True, timeout=240)
    assert json.loads(done.stdout) == here
    assert {r["prediction"] for r in here} == {"0", "1", "2"}
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-9 for r in here)


def test_torch_is_imported_only_by_the_mlp_module() -> None:
    importers = sorted(p.name for p in (ROOT / "ml").glob("*.py")
                       if "import torch" in p.read_text() or "from torch" in p.read_text())
    assert importers == ["torch_mlp.py"]
    script = "import sys, ml.workflow, ml.records, ml.drift; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=True, timeout=240)
    assert done.stdout.strip() == "False"


def test_relationship_aggregates_beat_own_attributes_by_a_wide_margin(turbines: Loaded) -> None:
    scores = {}
    for with_relationships in (True, False):
        spec = ModelSpec(entity_class="Turbine", target="failed",
                         relationships=with_relationships)
        trained = train_version(turbines.store, turbines.mapping, spec,
                                storage_url=turbines.storage_url,
                                model=f"turbines-{with_relationships}", version=1,
                                ontology="main")
        scores[with_relationships] = trained.card["metrics"]["cv"]["balanced_accuracy"]["mean"]
    assert scores[True] - scores[False] > 0.3, scores


@pytest.mark.parametrize(("name", "target_metric"), [("wine", "accuracy"), ("diabetes", "r2")])
def test_torch_mlp_trains_and_predicts_on_cpu(datasets: dict[str, Loaded], name: str,
                                              target_metric: str) -> None:
    data = datasets[name]
    spec = ModelSpec(entity_class=data.cls, target="label", algorithm="mlp", cv_folds=3,
                     importance_repeats=1,
                     hyperparameters={"epochs": 40, "hidden_layers": [32], "device": "cpu",
                                      "learning_rate": 0.01})
    trained = train_version(data.store, data.mapping, spec, storage_url=data.storage_url,
                            model=f"{name}-mlp", version=1, ontology="main")
    metrics = trained.card["metrics"]
    assert metrics["cv"][target_metric]["mean"] > metrics["cv_baseline"][target_metric]["mean"]
    assert "torch" in trained.card["libraries"]
    loaded = load_model(data.storage_url, f"{name}-mlp", 1, trained.content_hash)
    frame = entity_frame(data.store, data.mapping, loaded.plan)
    first = prediction_rows(loaded, frame, 1)
    again = prediction_rows(load_model(data.storage_url, f"{name}-mlp", 1,
                                       trained.content_hash), frame, 1)
    assert first == again and len(first) == len(frame)


def test_batch_predictions_table_is_keyed_by_entity_and_version(
        datasets: dict[str, Loaded]) -> None:
    data = datasets["breast_cancer"]
    spec = ModelSpec(entity_class=data.cls, target="label", algorithm="linear")
    for version in (1, 2):
        trained = train_version(data.store, data.mapping, spec, storage_url=data.storage_url,
                                model="bc-linear", version=version, ontology="main")
        loaded = load_model(data.storage_url, "bc-linear", version, trained.content_hash)
        frame = entity_frame(data.store, data.mapping, loaded.plan, ["0", "1", "2"])
        assert write_predictions(data.store, "bc-linear",
                                 prediction_rows(loaded, frame, version)) == 3
    rows = data.store.read("mimir_predictions_bc_linear").rows
    assert sorted((r["entity"], r["model_version"]) for r in rows) == [
        (e, v) for e in ("0", "1", "2") for v in (1, 2)]
    assert all(set(r["probabilities"]) == {"0", "1"} for r in rows)
