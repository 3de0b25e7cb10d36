"""Model artifacts in the project's storage object, safe to load.

Layout: ``<storage>/_mimir/models/<model>/v<version>/`` with

* ``pipeline.skops`` — the fitted scikit-learn Pipeline (skops: no arbitrary pickle; loading
  accepts only the types in `TRUSTED_TYPES`), or, for the PyTorch MLP,
  ``preprocess.skops`` + ``network.pt`` (a ``state_dict``, loaded with ``weights_only``) +
  ``architecture.json``;
* ``plan.json`` (feature plan and spec), ``reference.parquet`` (a sample of the training
  features and predictions, for drift), ``card.json`` and ``card.md``;
* ``manifest.json`` — the SHA-256 of every file; the *content hash* is the SHA-256 of that
  list. The API records the hash when training finishes and `load_model` refuses an artifact
  whose hash or any file's digest differs (`ArtifactError`).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import fsspec
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ml.errors import ArtifactError
from ml.features import FeaturePlan
from ml.spec import ModelSpec
from ml.threads import limited_threads

MODELS_DIR = "_mimir/models"
MANIFEST = "manifest.json"
REFERENCE_ROWS = 5000

TRUSTED_TYPES: frozenset[str] = frozenset({
    "numpy.dtype",
    "numpy.ndarray",
    "builtins.object",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
})
"""Types outside skops' default safe set that a Mimir model may contain — nothing else loads."""


def model_folder(storage_url: str, model: str, version: int | None = None) -> tuple[Any, str]:
    """(filesystem, folder) of a model, or of one version of it."""
    fs, root = fsspec.core.url_to_fs(storage_url)
    folder = f"{root.rstrip('/')}/{MODELS_DIR}/{model}"
    return fs, folder if version is None else f"{folder}/v{version}"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(digests: dict[str, str]) -> str:
    """The hash of a whole artifact from its files' digests."""
    listing = "\n".join(f"{name} {digests[name]}" for name in sorted(digests))
    return _sha(listing.encode("utf-8"))


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=True)
    return buffer.getvalue()


def reference_sample(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """At most `REFERENCE_ROWS` training rows, the baseline distribution for drift."""
    if len(frame) <= REFERENCE_ROWS:
        return frame
    return frame.sample(n=REFERENCE_ROWS, random_state=seed)


def artifact_files(pipeline: Pipeline, plan: FeaturePlan, spec: ModelSpec, card: dict[str, Any],
                   card_md: str, reference: pd.DataFrame) -> dict[str, bytes]:
    """Every file of an artifact, by name (manifest excluded)."""
    files: dict[str, bytes] = {
        "plan.json": json.dumps({"plan": plan.model_dump(mode="json"),
                                 "spec": spec.model_dump(mode="json")}).encode("utf-8"),
        "card.json": json.dumps(card, indent=1).encode("utf-8"),
        "card.md": card_md.encode("utf-8"),
        "reference.parquet": _parquet(_stringify(reference)),
    }
    from skops.io import dumps  # skops imports every sklearn module (torch too): load late

    if spec.algorithm == "mlp":
        from ml.torch_mlp import state_bytes

        network = pipeline.named_steps["model"]
        files["preprocess.skops"] = dumps(pipeline.named_steps["preprocess"])
        files["network.pt"] = state_bytes(network)
        files["architecture.json"] = json.dumps(network.architecture()).encode("utf-8")
    else:
        files["pipeline.skops"] = dumps(pipeline)
    return files


def _stringify(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns as text so Parquet stores them with one type."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: v if isinstance(v, str) or v is None
                                    or (isinstance(v, float) and np.isnan(v)) else str(v))
    return out


def save_artifact(storage_url: str, model: str, version: int, files: dict[str, bytes]) -> str:
    """Write the files and their manifest; returns the content hash."""
    fs, folder = model_folder(storage_url, model, version)
    fs.makedirs(folder, exist_ok=True)
    digests = {name: _sha(data) for name, data in files.items()}
    for name, data in files.items():
        fs.pipe_file(f"{folder}/{name}", data)
    digest = content_hash(digests)
    manifest = {"files": digests, "hash": digest}
    fs.pipe_file(f"{folder}/{MANIFEST}", json.dumps(manifest, indent=1).encode("utf-8"))
    return digest


def read_manifest(storage_url: str, model: str, version: int) -> dict[str, Any]:
    """The manifest of a saved version; `ArtifactError` when there is none."""
    fs, folder = model_folder(storage_url, model, version)
    path = f"{folder}/{MANIFEST}"
    if not fs.exists(path):
        raise ArtifactError(f"model {model!r} version {version} has no artifact at {folder}")
    return dict(json.loads(fs.cat_file(path)))


def read_verified(storage_url: str, model: str, version: int, expected_hash: str,
                  names: list[str] | None = None) -> dict[str, bytes]:
    """Files of an artifact, each checked against the manifest and the manifest against
    `expected_hash` (recorded when training finished)."""
    manifest = read_manifest(storage_url, model, version)
    digests: dict[str, str] = manifest["files"]
    if content_hash(digests) != expected_hash:
        raise ArtifactError(
            f"artifact of model {model!r} version {version} does not match its recorded hash "
            f"{expected_hash[:12]}… (the manifest was altered); refusing to load it")
    fs, folder = model_folder(storage_url, model, version)
    out = {}
    for name in names or sorted(digests):
        data = fs.cat_file(f"{folder}/{name}")
        if _sha(data) != digests.get(name):
            raise ArtifactError(
                f"artifact file {name} of model {model!r} version {version} was altered "
                f"(hash mismatch: sha256 {_sha(data)[:12]}…, recorded "
                f"{str(digests.get(name))[:12]}…); refusing to load it")
        out[name] = data
    return out


def load_skops(data: bytes, what: str) -> Any:
    """Load a skops file, refusing any type outside `TRUSTED_TYPES`."""
    from skops.io import get_untrusted_types, loads

    untrusted = set(get_untrusted_types(data=data))
    unexpected = sorted(untrusted - TRUSTED_TYPES)
    if unexpected:
        raise ArtifactError(
            f"{what} contains types Mimir does not trust: {', '.join(unexpected)}; refusing "
            "to load it")
    return loads(data, trusted=sorted(untrusted))


@dataclass
class LoadedModel:
    """A verified, loaded model version, ready to predict."""

    pipeline: Pipeline
    plan: FeaturePlan
    spec: ModelSpec
    card: dict[str, Any]

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predictions (and class probabilities ``proba:<class>``) indexed like `frame`."""
        with limited_threads():
            return self._predict(frame)

    def _predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[self.plan.feature_names]
        out = pd.DataFrame(index=frame.index)
        if self.plan.task == "classification":
            # every supported classifier predicts the most probable class: one pass, not two
            proba = self.pipeline.predict_proba(x)
            classes = self.pipeline.classes_
            out["prediction"] = [str(v) for v in classes[np.argmax(proba, axis=1)]]
            for i, label in enumerate(classes):
                out[f"proba:{label}"] = proba[:, i]
        else:
            out["prediction"] = np.asarray(self.pipeline.predict(x), dtype=float)
        return out


def load_model(storage_url: str, model: str, version: int, expected_hash: str) -> LoadedModel:
    """Verify and load a saved version (see the module docstring)."""
    files = read_verified(storage_url, model, version, expected_hash)
    saved = json.loads(files["plan.json"])
    plan = FeaturePlan.model_validate(saved["plan"])
    spec = ModelSpec.model_validate(saved["spec"])
    if "pipeline.skops" in files:
        pipeline = load_skops(files["pipeline.skops"], f"model {model!r} v{version}")
    else:
        from ml.torch_mlp import from_saved

        pre = load_skops(files["preprocess.skops"], f"model {model!r} v{version}")
        network = from_saved(json.loads(files["architecture.json"]), files["network.pt"])
        pipeline = Pipeline([("preprocess", pre), ("model", network)])
    return LoadedModel(pipeline=pipeline, plan=plan, spec=spec,
                       card=json.loads(files["card.json"]))


def load_reference(storage_url: str, model: str, version: int, expected_hash: str
                   ) -> pd.DataFrame:
    """The training sample saved with a version (verified like the model)."""
    files = read_verified(storage_url, model, version, expected_hash, ["reference.parquet"])
    return pd.read_parquet(io.BytesIO(files["reference.parquet"]))


def delete_artifacts(storage_url: str, model: str) -> None:
    """Remove every stored version of a model."""
    fs, folder = model_folder(storage_url, model)
    if fs.exists(folder):
        fs.rm(folder, recursive=True)
