"""The scikit-learn Pipeline of a model: preprocessing (imputation, one-hot encoding, scaling
where the algorithm needs it) followed by the estimator the spec names.

torch is imported only when the algorithm is ``mlp`` (in `ml.torch_mlp`).
"""

from __future__ import annotations

from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ml.features import FeaturePlan
from ml.spec import Task

SCALED = ("linear", "mlp")


def preprocessor(plan: FeaturePlan, *, scale: bool) -> ColumnTransformer:
    """Median imputation (+ scaling) of numeric features; most-frequent imputation and
    one-hot encoding (unknown values ignored) of categorical ones."""
    numeric = [f.name for f in plan.features if f.kind == "numeric"]
    categorical = [f.name for f in plan.features if f.kind == "categorical"]
    numeric_steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), numeric))
    if categorical:
        transformers.append(("categorical", Pipeline([
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                                     max_categories=50)),
        ]), categorical))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def estimator(algorithm: str, task: Task, params: dict[str, Any], seed: int) -> Any:
    """The final estimator for `algorithm` with validated `params`."""
    classification = task == "classification"
    if algorithm == "auto":
        cls = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
        return cls(random_state=seed, **params)
    if algorithm == "random_forest":
        rf = RandomForestClassifier if classification else RandomForestRegressor
        return rf(random_state=seed, n_jobs=1, **params)
    if algorithm == "linear":
        if classification:
            return LogisticRegression(C=params["c"], max_iter=params["max_iter"])
        return Ridge(alpha=params["alpha"], max_iter=params["max_iter"])
    if algorithm == "mlp":
        from ml.torch_mlp import TorchMLPClassifier, TorchMLPRegressor

        mlp = TorchMLPClassifier if classification else TorchMLPRegressor
        return mlp(seed=seed, **params)
    raise ValueError(f"unknown algorithm {algorithm!r}")


def build_pipeline(plan: FeaturePlan, algorithm: str, params: dict[str, Any],
                   seed: int) -> Pipeline:
    """Preprocessing + estimator, unfitted."""
    return Pipeline([
        ("preprocess", preprocessor(plan, scale=algorithm in SCALED)),
        ("model", estimator(algorithm, plan.task, params, seed)),
    ])


def baseline(task: Task) -> Any:
    """The trivial model every metric is compared with: majority class or mean."""
    if task == "classification":
        return DummyClassifier(strategy="most_frequent")
    return DummyRegressor(strategy="mean")
