"""What a user asks for when creating a model: `ModelSpec`, with hyperparameters validated
per algorithm (each algorithm has its own `extra="forbid"` pydantic model, so a typo such as
``n_estimator`` is refused with its name instead of being silently ignored).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ml.errors import MLInputError

Task = Literal["classification", "regression"]
TaskChoice = Literal["auto", "classification", "regression"]
Algorithm = Literal["auto", "random_forest", "linear", "mlp"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class GradientBoostingParams(BaseModel):
    """Hyperparameters of `auto` (scikit-learn's histogram gradient boosting)."""

    model_config = _STRICT

    learning_rate: float = Field(default=0.1, gt=0, le=1, description="Shrinkage per tree.")
    max_iter: int = Field(default=100, ge=1, le=5000, description="Number of boosting rounds.")
    max_leaf_nodes: int | None = Field(
        default=31, ge=2, le=4096, description="Leaves per tree (None: unlimited)."
    )
    max_depth: int | None = Field(default=None, ge=1, le=64, description="Depth limit per tree.")
    min_samples_leaf: int = Field(default=20, ge=1, le=100_000, description="Rows per leaf.")
    l2_regularization: float = Field(default=0.0, ge=0, description="L2 penalty on leaves.")


class RandomForestParams(BaseModel):
    """Hyperparameters of `random_forest`."""

    model_config = _STRICT

    n_estimators: int = Field(default=200, ge=1, le=5000, description="Number of trees.")
    max_depth: int | None = Field(default=None, ge=1, le=128, description="Depth limit per tree.")
    min_samples_leaf: int = Field(default=1, ge=1, le=100_000, description="Rows per leaf.")
    max_features: Literal["sqrt", "log2"] | float | None = Field(
        default="sqrt", description="Features tried per split ('sqrt', 'log2', a fraction, None)."
    )


class LinearParams(BaseModel):
    """Hyperparameters of `linear` (logistic regression or ridge regression)."""

    model_config = _STRICT

    c: float = Field(default=1.0, gt=0, description="Inverse L2 strength (classification).")
    alpha: float = Field(default=1.0, ge=0, description="L2 strength (regression).")
    max_iter: int = Field(default=1000, ge=10, le=100_000, description="Solver iterations.")


class MLPParams(BaseModel):
    """Hyperparameters of `mlp` (a PyTorch multilayer perceptron for tabular data)."""

    model_config = _STRICT

    hidden_layers: list[int] = Field(
        default_factory=lambda: [64, 64], min_length=1, max_length=8,
        description="Units per hidden layer.",
    )
    epochs: int = Field(default=100, ge=1, le=5000, description="Passes over the data.")
    learning_rate: float = Field(default=1e-3, gt=0, le=1, description="Adam's step size.")
    batch_size: int = Field(default=64, ge=1, le=65_536, description="Rows per step.")
    weight_decay: float = Field(default=0.0, ge=0, le=1, description="Adam's L2 penalty.")
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Dropout after hidden layers.")
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="Where to train ('auto': CUDA when available)."
    )


HYPERPARAMETERS: dict[str, type[BaseModel]] = {
    "auto": GradientBoostingParams,
    "random_forest": RandomForestParams,
    "linear": LinearParams,
    "mlp": MLPParams,
}


def validate_hyperparameters(algorithm: str, values: dict[str, Any]) -> dict[str, Any]:
    """The full hyperparameters of `algorithm` (defaults filled in), or `MLInputError`."""
    model = HYPERPARAMETERS.get(algorithm)
    if model is None:
        raise MLInputError(
            f"unknown algorithm {algorithm!r}; expected one of {', '.join(HYPERPARAMETERS)}",
            field="algorithm",
        )
    try:
        return model.model_validate(values).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "hyperparameters"
        raise MLInputError(
            f"hyperparameters.{where}: {first['msg']} (algorithm {algorithm!r} accepts "
            f"{', '.join(model.model_fields)})",
            field=f"hyperparameters.{where}",
        ) from None


class ModelSpec(BaseModel):
    """A model to train: which class, what to predict, from which features, how."""

    model_config = _STRICT

    entity_class: str = Field(
        min_length=1, max_length=500, description="The ontology class (IRI or name) to predict for."
    )
    target: str = Field(
        min_length=1, max_length=500, description="Datatype property of the class to predict."
    )
    task: TaskChoice = Field(
        default="auto",
        description="classification, regression, or auto (inferred from the target).",
    )
    algorithm: Algorithm = Field(
        default="auto",
        description="auto (histogram gradient boosting), random_forest, linear, or mlp (PyTorch).",
    )
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict, description="Algorithm settings; validated per algorithm."
    )
    include: list[str] | None = Field(
        default=None, max_length=2000, description="Only these features (names from explain)."
    )
    exclude: list[str] = Field(
        default_factory=list, max_length=2000, description="Features to leave out."
    )
    relationships: bool = Field(
        default=True, description="Add one-hop aggregates over the class's relationships."
    )
    cv_folds: int = Field(default=5, ge=2, le=20, description="Folds of cross-validation.")
    holdout: float = Field(
        default=0.2, ge=0.05, le=0.5, description="Share of rows held out for a final check."
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed of every random step.")
    importance_repeats: int = Field(
        default=5, ge=1, le=50, description="Shuffles per feature for permutation importance."
    )

    def resolved_hyperparameters(self) -> dict[str, Any]:
        """`hyperparameters` validated for `algorithm`, with defaults filled in."""
        return validate_hyperparameters(self.algorithm, self.hyperparameters)
