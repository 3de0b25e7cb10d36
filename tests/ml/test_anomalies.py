"""Anomaly detection on generated data with known ground truth (the sample project's readings).

Injected: values normal for the *other* sensor kind (visible only within the peer group
"sensor's kind") and sensors that drift away from their own history while staying inside the
kind's range (visible only in the sensor's own time series). Default settings must find them:
recall ≥ 0.9 at precision ≥ 0.8, with explanations naming the right group and range.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from domain.ontology_storage import apply_ontology, load_raw, plan_ontology
from domain.raw_area import read_raw_sample, write_raw
from domain.stores import open_store
from flows.demo.data import generate
from ml.anomalies import (
    AttributeData,
    DetectionSettings,
    choose_grouping,
    detect,
    score_groups,
    separation,
)
from ml.anomaly_data import class_attributes, numeric_attribute_names
from ontology.extract import extract
from ontology.r2rml import instance_iri


def readings_attribute(seed: int) -> tuple[AttributeData, set[str]]:
    sample = generate(seed=seed)
    sensors = list(csv.DictReader(io.StringIO(sample.files["sensors.csv"].decode())))
    kind = {s["sensor_id"]: s["kind"] for s in sensors}
    turbine = {s["sensor_id"]: s["turbine_id"] for s in sensors}
    rows = list(csv.DictReader(io.StringIO(sample.files["readings.csv"].decode())))
    data = AttributeData(
        name="value",
        entities=[r["reading_id"] for r in rows],
        values=np.array([float(r["value"]) for r in rows]),
        groupings={
            "sensor.kind": [kind[r["sensor_id"]] for r in rows],
            "sensor.turbine": [turbine[r["sensor_id"]] for r in rows],
        },
        owners=[r["sensor_id"] for r in rows],
        times=[datetime.fromisoformat(r["ts"]).timestamp() for r in rows],
    )
    return data, sample.anomalous_readings | sample.drifted_readings


@pytest.mark.parametrize("seed", [20261202, 7, 99])
def test_default_settings_find_the_injected_anomalies(seed: int) -> None:
    data, truth = readings_attribute(seed)
    found = {a.entity for a in detect([data])}
    hits = found & truth
    recall, precision = len(hits) / len(truth), len(hits) / max(len(found), 1)
    print(
        f"seed {seed}: truth {len(truth)}, found {len(found)}, "
        f"recall {recall:.3f}, precision {precision:.3f}"
    )
    assert recall >= 0.9 and precision >= 0.8


def test_the_grouping_is_chosen_because_it_separates() -> None:
    data, _ = readings_attribute(20261202)
    by_kind = separation(data.values, data.groupings["sensor.kind"])
    by_turbine = separation(data.values, data.groupings["sensor.turbine"])
    assert by_kind is not None and by_kind < 0.2  # kinds explain the spread
    assert by_turbine is None or by_turbine > 0.9  # turbines do not (or are too many groups)
    assert choose_grouping(data) == ("sensor.kind", pytest.approx(by_kind))
    # Pooled, the peer anomalies vanish into the two-humped distribution; grouped, they show.
    peer = generate().anomalous_readings
    pooled = {a.entity for a in score_groups(data, None, 4.0)}
    grouped = {a.entity for a in score_groups(data, "sensor.kind", 4.0)}
    assert len(peer & grouped) == len(peer)
    assert len(peer & pooled) <= len(peer) // 2


def test_explanations_name_group_and_range() -> None:
    data, _ = readings_attribute(20261202)
    sample = generate()
    kind_of = dict(zip(data.entities, data.groupings["sensor.kind"], strict=True))
    for anomaly in detect([data], DetectionSettings(methods=("mad",))):
        assert anomaly.group == f"sensor.kind={kind_of[anomaly.entity]}"
        assert anomaly.expected_low is not None and anomaly.expected_high is not None
        assert not anomaly.expected_low <= anomaly.value <= anomaly.expected_high
        assert anomaly.group in anomaly.explanation
    drifts = [
        a
        for a in detect([data], DetectionSettings(methods=("series",)))
        if a.entity in sample.drifted_readings
    ]
    assert drifts and all(a.group and a.group.startswith("owner=") for a in drifts)
    assert all(a.entity.startswith(a.group.removeprefix("owner=")) for a in drifts)


def test_forced_unknown_grouping_is_refused() -> None:
    data, _ = readings_attribute(1)
    with pytest.raises(ValueError, match=r"unknown grouping .sensor\.colour."):
        detect([data], DetectionSettings(grouping="sensor.colour"))


def test_isolation_forest_finds_a_combination_no_single_attribute_shows() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 2000)
    y = x + rng.normal(0, 0.05, 2000)  # y follows x closely
    x[:5], y[:5] = 1.5, -1.5  # each value ordinary alone, the pair is not
    entities = [f"e{i}" for i in range(2000)]
    attributes = [
        AttributeData(name="x", entities=entities, values=x),
        AttributeData(name="y", entities=entities, values=y),
    ]
    found = detect(attributes, DetectionSettings(methods=("mad", "isolation-forest")))
    forest = {a.entity for a in found if a.method == "isolation-forest"}
    single = {a.entity for a in found if a.method == "mad"}
    assert {f"e{i}" for i in range(5)} <= forest
    assert not {f"e{i}" for i in range(5)} & single


def test_detection_reads_groupings_and_series_through_the_ontology(tmp_path: Path) -> None:
    """The sample sources → raw area → extracted ontology → class tables (SQLite), then the
    Reading class's attributes come back with the sensor's kind as a grouping and per-sensor
    series, and detection finds the same anomalies as on the arrays."""
    sample = generate()
    store = open_store(tmp_path.as_uri())
    try:
        for name in ("turbines", "sensors", "readings"):
            text = sample.files[f"{name}.csv"].decode("utf-8-sig")
            write_raw(store, name, list(csv.DictReader(io.StringIO(text))), "run-1")
        model = extract(read_raw_sample(store, 50_000)).model
        plan = plan_ontology(store, model)
        apply_ontology(store, plan)
        load_raw(store, model, plan.mapping, set(plan.mapping.tabular.table_names))

        assert numeric_attribute_names(plan.mapping, "Reading") == ["value"]
        (value,) = class_attributes(store, plan.mapping, "Reading")
        assert "sensor_id.kind" in value.groupings
        assert value.owners is not None and value.times is not None
        found = detect([value])
        truth = {
            instance_iri(plan.mapping, "Reading", [r])
            for r in sample.anomalous_readings | sample.drifted_readings
        }
        flagged = {a.entity for a in found}  # one entity may be flagged by two methods
        hits = flagged & truth
        assert len(hits) >= 0.9 * len(truth) and len(hits) >= 0.8 * len(flagged)
        assert {a.group for a in found if a.method == "mad"} <= {
            "sensor_id.kind=temperature",
            "sensor_id.kind=vibration",
        }
        with pytest.raises(ValueError, match="no numeric attribute colour"):
            class_attributes(store, plan.mapping, "Reading", ["colour"])
    finally:
        store.close()
