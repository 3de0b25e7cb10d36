"""Train and evaluate a model on a feature table, honestly and reproducibly.

1. Checks: enough labelled rows, a target that varies, every class present often enough for
   stratified folds (`MLInputError` otherwise, before anything is fitted).
2. A seeded, stratified (classification) holdout split.
3. Shuffled (stratified) k-fold cross-validation on the rest — every metric beside the same
   metric of a trivial baseline (majority class / mean) on the same folds.
4. Fit on the rest, score the holdout, permutation importance on the holdout.
5. Refit on every labelled row: that is the model that gets saved.

`splits` gives the exact holdout and folds, so anyone can reproduce the numbers with plain
scikit-learn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate, train_test_split
from sklearn.pipeline import Pipeline

from ml.errors import MLInputError
from ml.estimators import baseline, build_pipeline
from ml.features import FeaturePlan
from ml.spec import ModelSpec, Task
from ml.threads import limited_threads

MIN_ROWS = 20
CLASSIFICATION_SCORING = {
    "accuracy": "accuracy", "balanced_accuracy": "balanced_accuracy", "f1_macro": "f1_macro"}
REGRESSION_SCORING = {
    "rmse": "neg_root_mean_squared_error", "mae": "neg_mean_absolute_error", "r2": "r2"}
PRIMARY = {"classification": "accuracy", "regression": "r2"}


@dataclass
class TrainResult:
    """A fitted model and everything its card reports."""

    pipeline: Pipeline
    task: Task
    rows: int
    cv: dict[str, dict[str, float]]
    cv_baseline: dict[str, dict[str, float]]
    holdout: dict[str, float]
    holdout_baseline: dict[str, float]
    confusion: dict[str, Any] | None
    importance: list[dict[str, Any]]
    target_summary: dict[str, Any]
    training_seconds: float
    classes: list[str] = field(default_factory=list)

    @property
    def primary_metric(self) -> str:
        """The metric shown first (accuracy or R²)."""
        return PRIMARY[self.task]


def labelled(frame: pd.DataFrame, plan: FeaturePlan) -> tuple[pd.DataFrame, pd.Series]:
    """Feature matrix and target of the rows whose target is known."""
    known = frame[frame[plan.target].notna()]
    return known[plan.feature_names], known[plan.target]


def check_data(plan: FeaturePlan, spec: ModelSpec, y: pd.Series) -> None:
    """Refuse data that cannot give an honest evaluation, naming what is missing."""
    needed = max(MIN_ROWS, 2 * spec.cv_folds)
    if len(y) < needed:
        raise MLInputError(
            f"too few rows: class {plan.class_name} has {len(y)} row(s) with a value of "
            f"{plan.target!r}; training needs at least {needed}", field="target")
    if y.nunique() < 2:
        raise MLInputError(
            f"target {plan.target!r} is constant ({y.iloc[0]!r} in all {len(y)} rows); "
            "there is nothing to learn", field="target")
    if plan.task == "classification":
        counts = y.value_counts()
        train_share = 1 - spec.holdout
        needed_per_class = int(np.ceil(spec.cv_folds / train_share)) + 1
        rare = counts[counts < needed_per_class]
        if len(rare):
            shown = ", ".join(f"{k!r}: {v}" for k, v in rare.items())
            raise MLInputError(
                f"target {plan.target!r} has classes with too few rows for stratified "
                f"{spec.cv_folds}-fold cross-validation plus a holdout (need "
                f"{needed_per_class} each): {shown}", field="target")


def splits(task: Task, spec: ModelSpec, x: pd.DataFrame, y: pd.Series
           ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, Any]:
    """The holdout split and the cross-validation splitter, as training uses them."""
    stratify = y if task == "classification" else None
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=spec.holdout, random_state=spec.seed, stratify=stratify)
    splitter: Any = (
        StratifiedKFold(n_splits=spec.cv_folds, shuffle=True, random_state=spec.seed)
        if task == "classification"
        else KFold(n_splits=spec.cv_folds, shuffle=True, random_state=spec.seed))
    return x_train, x_test, y_train, y_test, splitter


def _scoring(task: Task, n_classes: int) -> dict[str, str]:
    if task == "regression":
        return dict(REGRESSION_SCORING)
    auc = "roc_auc" if n_classes == 2 else "roc_auc_ovr"
    return {**CLASSIFICATION_SCORING, "roc_auc": auc}


def _cv(model: Any, x: pd.DataFrame, y: pd.Series, splitter: Any,
        scoring: dict[str, str]) -> dict[str, dict[str, float]]:
    scores = cross_validate(model, x, y, cv=splitter, scoring=scoring, n_jobs=1,
                            error_score="raise")
    out = {}
    for name in scoring:
        values = np.asarray(scores[f"test_{name}"], dtype=float)
        if scoring[name].startswith("neg_"):
            values = -values
        out[name] = {"mean": float(values.mean()), "std": float(values.std())}
    return out


def holdout_metrics(task: Task, model: Any, x: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    """Every metric of a fitted model on (x, y)."""
    predicted = model.predict(x)
    if task == "regression":
        return {"rmse": float(root_mean_squared_error(y, predicted)),
                "mae": float(mean_absolute_error(y, predicted)),
                "r2": float(r2_score(y, predicted))}
    out = {"accuracy": float(accuracy_score(y, predicted)),
           "balanced_accuracy": float(balanced_accuracy_score(y, predicted)),
           "f1_macro": float(f1_score(y, predicted, average="macro"))}
    classes = list(model.classes_)
    if set(y.unique()) == set(classes):
        proba = model.predict_proba(x)
        if len(classes) == 2:
            out["roc_auc"] = float(roc_auc_score(y, proba[:, 1], labels=classes))
        else:
            out["roc_auc"] = float(roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    return out


def train(frame: pd.DataFrame, plan: FeaturePlan, spec: ModelSpec) -> TrainResult:
    """Evaluate and fit the model `spec` describes on `frame` (see the module docstring)."""
    with limited_threads():
        return _train(frame, plan, spec)


def _train(frame: pd.DataFrame, plan: FeaturePlan, spec: ModelSpec) -> TrainResult:
    params = spec.resolved_hyperparameters()
    x, y = labelled(frame, plan)
    check_data(plan, spec, y)
    started = time.perf_counter()
    task = plan.task
    x_train, x_test, y_train, y_test, splitter = splits(task, spec, x, y)
    scoring = _scoring(task, int(y.nunique()))
    model = build_pipeline(plan, spec.algorithm, params, spec.seed)
    cv = _cv(model, x_train, y_train, splitter, scoring)
    cv_base = _cv(Pipeline([("model", baseline(task))]), x_train, y_train, splitter, scoring)
    model.fit(x_train, y_train)
    held = holdout_metrics(task, model, x_test, y_test)
    held_base = holdout_metrics(task, baseline(task).fit(x_train, y_train), x_test, y_test)
    confusion = None
    if task == "classification":
        labels = sorted(str(c) for c in y.unique())
        matrix = confusion_matrix(y_test.astype(str), np.asarray(model.predict(x_test)).astype(str),
                                  labels=labels)
        confusion = {"labels": labels, "matrix": matrix.tolist()}
    importance = _importance(model, x_test, y_test, scoring[PRIMARY[task]], spec)
    final = build_pipeline(plan, spec.algorithm, params, spec.seed).fit(x, y)
    elapsed = time.perf_counter() - started
    return TrainResult(
        pipeline=final, task=task, rows=len(y), cv=cv, cv_baseline=cv_base, holdout=held,
        holdout_baseline=held_base, confusion=confusion, importance=importance,
        target_summary=_target_summary(task, y), training_seconds=elapsed,
        classes=[str(c) for c in getattr(final, "classes_", [])])


def _importance(model: Pipeline, x: pd.DataFrame, y: pd.Series, scoring: str,
                spec: ModelSpec) -> list[dict[str, Any]]:
    result = permutation_importance(model, x, y, scoring=scoring, n_repeats=spec.importance_repeats,
                                    random_state=spec.seed, n_jobs=1)
    rows = [{"feature": name, "mean": float(result.importances_mean[i]),
             "std": float(result.importances_std[i])} for i, name in enumerate(x.columns)]
    return sorted(rows, key=lambda r: -r["mean"])


def _target_summary(task: Task, y: pd.Series) -> dict[str, Any]:
    if task == "classification":
        return {"classes": {str(k): int(v) for k, v in y.value_counts().sort_index().items()}}
    return {"mean": float(y.mean()), "std": float(y.std()), "min": float(y.min()),
            "max": float(y.max())}
