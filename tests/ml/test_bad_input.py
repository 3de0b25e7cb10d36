"""Bad input: a clear error naming what is wrong, and nothing saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.artifacts import MANIFEST, load_model, model_folder
from ml.errors import ArtifactError, MLInputError
from ml.records import records_frame
from ml.spec import ModelSpec
from ml.workflow import explain, train_version
from tests.ml.conftest import Loaded
from tests.utils.ml import load, sqlite_store, table_ontology


def _nothing_saved(storage_url: str, model: str) -> bool:
    fs, folder = model_folder(storage_url, model)
    return not fs.exists(folder)


@pytest.mark.parametrize(("spec", "field", "words"), [
    ({"target": "colour"}, "target", "not a datatype property of class Turbine"),
    ({"target": "turbine_id", "exclude": ["nope"]}, "exclude", "unknown feature 'nope'"),
    ({"target": "failed", "include": ["in.Sensor.turbine.speed.mean"]}, "include",
     "unknown feature"),
    ({"target": "failed", "task": "regression"}, "task", "regression needs a numeric target"),
    ({"target": "failed", "algorithm": "random_forest",
      "hyperparameters": {"n_estimator": 5}}, "hyperparameters.n_estimator", "accepts"),
    ({"target": "failed", "algorithm": "mlp", "hyperparameters": {"epochs": 0}},
     "hyperparameters.epochs", "greater than or equal to 1"),
    ({"target": "failed", "entity_class": "Windmill"}, "entity_class", "Windmill"),
])
def test_bad_specs_name_the_field(turbines: Loaded, spec: dict, field: str, words: str) -> None:
    full = {"entity_class": "Turbine", **spec}
    with pytest.raises(MLInputError) as caught:
        train_version(turbines.store, turbines.mapping, ModelSpec.model_validate(full),
                      storage_url=turbines.storage_url, model="bad", version=1, ontology="main")
    assert caught.value.field == field
    assert words in str(caught.value)
    assert _nothing_saved(turbines.storage_url, "bad")


def _small_store(tmp_path: Path, labels: list[int]) -> Loaded:
    model = table_ontology("Item", ["x"], "label", "integer")
    store, mapping = sqlite_store(tmp_path / "small.sqlite", model)
    load(store, mapping, "Item", [{"sample_id": i, "x": float(i), "label": v}
                                  for i, v in enumerate(labels)])
    return Loaded(store, mapping, "Item", str(tmp_path / "objects"))


@pytest.mark.parametrize(("labels", "words"), [
    ([1] * 60, "target 'label' is constant"),
    ([0, 1] * 5, "too few rows: class Item has 10 row(s)"),
    ([0] * 57 + [1] * 3, "too few rows for stratified 5-fold"),
])
def test_data_that_cannot_be_evaluated_is_refused(tmp_path: Path, labels: list[int],
                                                  words: str) -> None:
    data = _small_store(tmp_path, labels)
    try:
        with pytest.raises(MLInputError, match=words.replace("(", r"\(").replace(")", r"\)")):
            train_version(data.store, data.mapping,
                          ModelSpec(entity_class="Item", target="label"),
                          storage_url=data.storage_url, model="m", version=1, ontology="main")
        assert _nothing_saved(data.storage_url, "m")
    finally:
        data.store.close()


def test_predict_records_are_checked_against_the_feature_schema(turbines: Loaded) -> None:
    plan = explain(turbines.store, turbines.mapping,
                   ModelSpec(entity_class="Turbine", target="failed"))
    good = records_frame(plan, [{"noise": 0.1, "site": "north",
                                 "in.Sensor.turbine.reading.mean": 71.0}])
    assert good.loc["record:0", "in.Sensor.turbine.reading.mean"] == 71.0
    assert good["in.Sensor.turbine.count"].isna().all()  # missing: imputed like in training
    with pytest.raises(MLInputError, match=r"records\[0\]\.noise: expected a number, got str"):
        records_frame(plan, [{"noise": "loud"}])
    with pytest.raises(MLInputError, match=r"records\[1\]: unknown feature\(s\) 'speed'"):
        records_frame(plan, [{}, {"speed": 3}])
    with pytest.raises(MLInputError, match=r"records\[0\]\.site: expected a text"):
        records_frame(plan, [{"site": [1, 2]}])


def test_tampered_artifact_is_refused(datasets: dict[str, Loaded]) -> None:
    data = datasets["breast_cancer"]
    trained = train_version(data.store, data.mapping,
                            ModelSpec(entity_class=data.cls, target="label", algorithm="linear"),
                            storage_url=data.storage_url, model="tamper", version=1,
                            ontology="main")
    fs, folder = model_folder(data.storage_url, "tamper", 1)
    original = fs.cat_file(f"{folder}/pipeline.skops")
    fs.pipe_file(f"{folder}/pipeline.skops", original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(ArtifactError, match=r"pipeline\.skops .* was altered"):
        load_model(data.storage_url, "tamper", 1, trained.content_hash)
    # rewriting the manifest to match does not help: the recorded hash differs
    import hashlib
    import json

    manifest = json.loads(fs.cat_file(f"{folder}/{MANIFEST}"))
    manifest["files"]["pipeline.skops"] = hashlib.sha256(
        fs.cat_file(f"{folder}/pipeline.skops")).hexdigest()
    fs.pipe_file(f"{folder}/{MANIFEST}", json.dumps(manifest).encode())
    with pytest.raises(ArtifactError, match="does not match its recorded hash"):
        load_model(data.storage_url, "tamper", 1, trained.content_hash)
    fs.pipe_file(f"{folder}/pipeline.skops", original)
    with pytest.raises(ArtifactError):
        load_model(data.storage_url, "tamper", 1, trained.content_hash)


def test_untrusted_types_in_a_skops_file_are_refused() -> None:
    from skops.io import dumps

    from ml.artifacts import load_skops

    class Sneaky:
        pass

    with pytest.raises(ArtifactError, match="types Mimir does not trust"):
        load_skops(dumps({"x": Sneaky()}), "upload")
