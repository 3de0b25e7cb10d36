"""The ML steps as plain functions over a store and a compiled ontology: what the Prefect
flows (`flows/ml_flow.py`) and the API run, and what tests call in-process.

* `explain` — the feature plan of a spec (no training).
* `train_version` — read, build features, train, evaluate, save a new artifact version.
* `score` — predictions for entities (from storage) or ad-hoc records.
* `write_predictions` — a predictions table keyed by entity and model version.
* `monitor` — drift of current data against the training sample.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ml.artifacts import (
    LoadedModel,
    artifact_files,
    load_reference,
    reference_sample,
    save_artifact,
)
from ml.card import build_card, card_markdown
from ml.drift import drift_report
from ml.errors import MLInputError
from ml.features import FeaturePlan, plan_features
from ml.frame import build_frame
from ml.names import predictions_table_name
from ml.spec import ModelSpec
from ml.train import holdout_metrics, labelled, train
from ontology.compile import SchemaMapping
from storage_plugins.base import StoragePlugin
from storage_plugins.schema import Column, ColumnType, Table, TabularSchema


def explain(store: StoragePlugin, mapping: SchemaMapping, spec: ModelSpec) -> FeaturePlan:
    """The features `spec` would train on, with the task decided from the stored target."""
    plan = plan_features(mapping, spec)
    if spec.task == "auto" and plan.target_type == "integer":
        distinct = {r.get(plan.target) for batch in store.iter_batches(
            plan.table, columns=[plan.target]) for r in batch} - {None}
        plan = plan_features(mapping, spec, distinct_target_values=len(distinct))
    return plan


@dataclass
class TrainedVersion:
    """A saved model version."""

    version: int
    content_hash: str
    card: dict[str, Any]
    card_markdown: str
    plan: FeaturePlan


def train_version(store: StoragePlugin, mapping: SchemaMapping, spec: ModelSpec, *,
                  storage_url: str, model: str, version: int, ontology: str,
                  ontology_version: int | None = None) -> TrainedVersion:
    """Train `spec` on the stored data and save it as `version` of `model`."""
    plan = explain(store, mapping, spec)
    read_at = dt.datetime.now(dt.UTC)
    frame = build_frame(store, mapping, plan)
    result = train(frame, plan, spec)
    card = build_card(model=model, version=version, spec=spec, plan=plan, result=result,
                      data_read_at=read_at, ontology=ontology, ontology_version=ontology_version)
    markdown = card_markdown(card)
    x, _ = labelled(frame, plan)
    reference = reference_sample(x, spec.seed).copy()
    predicted = result.pipeline.predict(reference[plan.feature_names])
    reference["prediction"] = [str(v) for v in predicted] if plan.task == "classification" \
        else pd.to_numeric(pd.Series(predicted, index=reference.index)).to_numpy()
    files = artifact_files(result.pipeline, plan, spec, card, markdown, reference)
    digest = save_artifact(storage_url, model, version, files)
    return TrainedVersion(version=version, content_hash=digest, card=card,
                          card_markdown=markdown, plan=plan)


def entity_frame(store: StoragePlugin, mapping: SchemaMapping, plan: FeaturePlan,
                 entities: list[str] | None = None) -> pd.DataFrame:
    """Features of stored entities (all, or the given ids); `MLInputError` for unknown ids
    or when the model's class is no longer in the ontology."""
    if plan.class_iri not in {cm.class_iri for cm in mapping.classes}:
        raise MLInputError(
            f"class {plan.class_name} of this model is no longer in the ontology; retrain a "
            "model of a current class", field="entity_class")
    frame = build_frame(store, mapping, plan, entities, with_target=False)
    if entities is not None:
        missing = [e for e in entities if e not in frame.index]
        if missing:
            raise MLInputError(
                f"unknown {plan.class_name} entit(y/ies): {', '.join(missing[:10])}",
                field="entities")
        frame = frame.loc[entities]
    return frame


def prediction_rows(model: LoadedModel, frame: pd.DataFrame, version: int) -> list[dict[str, Any]]:
    """One JSON-ready row per entity: prediction and class probabilities."""
    predicted = model.predict(frame)
    proba_cols = [c for c in predicted.columns if c.startswith("proba:")]
    labels = [c.split(":", 1)[1] for c in proba_cols]
    proba = predicted[proba_cols].to_numpy(dtype=float).tolist() if proba_cols else None
    values = predicted["prediction"].tolist()
    rows = []
    for i, entity in enumerate(predicted.index):
        value = values[i]
        rows.append({"entity": str(entity), "model_version": version,
                     "prediction": value if isinstance(value, str) else float(value),
                     "probabilities": dict(zip(labels, proba[i], strict=True)) if proba
                     else None})
    return rows


def predictions_table(model: str) -> Table:
    """Predictions keyed by (entity, model_version)."""
    return Table(
        name=predictions_table_name(model),
        columns=[
            Column(name="entity", type=ColumnType.STRING, nullable=False, max_length=255),
            Column(name="model_version", type=ColumnType.INTEGER, nullable=False),
            Column(name="prediction", type=ColumnType.STRING),
            Column(name="prediction_value", type=ColumnType.DOUBLE),
            Column(name="probabilities", type=ColumnType.JSON),
            Column(name="predicted_at", type=ColumnType.DATETIME),
        ],
        primary_key=["entity", "model_version"], source=f"mimir:model:{model}",
        description=f"Predictions of model {model}",
    )


def write_predictions(store: StoragePlugin, model: str, rows: list[dict[str, Any]]) -> int:
    """Upsert prediction rows into the model's predictions table (created when missing)."""
    table = predictions_table(model)
    if table.name not in store.tables():
        others = list(store.schema().tables)
        store.apply_schema(TabularSchema(tables=[*others, table]))
    now = dt.datetime.now(dt.UTC)
    stored = [{
        "entity": r["entity"], "model_version": r["model_version"],
        "prediction": str(r["prediction"]),
        "prediction_value": r["prediction"] if isinstance(r["prediction"], float) else None,
        "probabilities": json.loads(json.dumps(r["probabilities"])) if r["probabilities"] else None,
        "predicted_at": now,
    } for r in rows]
    return store.write(table.name, stored, mode="upsert").rows


def monitor(store: StoragePlugin, mapping: SchemaMapping, model: LoadedModel, *,
            storage_url: str, name: str, version: int, content_hash: str,
            psi_threshold: float, metric_drop: float) -> dict[str, Any]:
    """Drift of the current stored data against the version's training sample."""
    plan = model.plan
    reference = load_reference(storage_url, name, version, content_hash)
    frame = build_frame(store, mapping, plan)
    current = frame[plan.feature_names].copy()
    current["prediction"] = model.predict(current)["prediction"].to_numpy()
    kinds = {f.name: f.kind for f in plan.features}
    trained = model.card["metrics"]["holdout"].get(model.card["primary_metric"])
    x, y = labelled(frame, plan)
    current_metric = None
    if len(y) >= 10:
        scored = holdout_metrics(plan.task, model.pipeline, x, y)
        current_metric = scored.get(model.card["primary_metric"])
    report = drift_report(
        reference, current, kinds,
        "categorical" if plan.task == "classification" else "numeric",
        metric_name=model.card["primary_metric"], trained_metric=trained,
        current_metric=current_metric, labelled_rows=len(y), psi_threshold=psi_threshold,
        metric_drop=metric_drop)
    report["model_version"] = version
    return report
