"""Drift: unchanged data is stable; shifted related readings degrade the model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.artifacts import load_model
from ml.drift import psi_categorical, psi_numeric
from ml.spec import ModelSpec
from ml.workflow import monitor, train_version
from tests.ml.conftest import Loaded
from tests.utils.ml import load


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    ref = rng.normal(size=5000)
    assert psi_numeric(ref, rng.normal(size=5000)) < 0.02
    assert psi_numeric(ref, rng.normal(loc=1.5, size=5000)) > 0.5
    a = pd.Series(["x"] * 50 + ["y"] * 50)
    assert psi_categorical(a, a) == 0
    assert psi_categorical(a, pd.Series(["x"] * 95 + ["y"] * 5)) > 0.25


def test_monitor_flags_drift_and_the_metric_drop(turbines: Loaded) -> None:
    spec = ModelSpec(entity_class="Turbine", target="failed")
    trained = train_version(turbines.store, turbines.mapping, spec,
                            storage_url=turbines.storage_url, model="drift", version=1,
                            ontology="main")
    model = load_model(turbines.storage_url, "drift", 1, trained.content_hash)
    kwargs = {"storage_url": turbines.storage_url, "name": "drift", "version": 1,
              "content_hash": trained.content_hash, "psi_threshold": 0.25, "metric_drop": 0.1}
    stable = monitor(turbines.store, turbines.mapping, model, **kwargs)
    assert not stable["degraded"], stable["reasons"]
    assert stable["metric"]["labelled_rows"] == 300
    sensors = turbines.store.read("sensor").rows
    shifted = [{"sensor_id": s["sensor_id"], "turbine": s["turbine"], "kind": s["kind"],
                "reading": s["reading"] + 25} for s in sensors]
    load(turbines.store, turbines.mapping, "Sensor", shifted)
    try:
        drifted = monitor(turbines.store, turbines.mapping, model, **kwargs)
    finally:
        load(turbines.store, turbines.mapping, "Sensor", sensors)
    assert drifted["degraded"]
    assert drifted["features"]["in.Sensor.turbine.reading.mean"]["psi"] > 0.25
    assert drifted["features"]["in.Sensor.turbine.reading.mean"]["ks_p"] < 0.01
    assert drifted["features"]["noise"]["psi"] < 0.1
    assert drifted["metric"]["current"] < drifted["metric"]["trained"] - 0.1
    assert any(r.startswith("accuracy fell") for r in drifted["reasons"])
