"""The model card: what a model was trained on and how good it is, as JSON and Markdown."""

from __future__ import annotations

import datetime as dt
import platform
from importlib import metadata
from typing import Any

from ml.features import FeaturePlan
from ml.spec import ModelSpec
from ml.train import TrainResult

LIBRARIES = ("scikit-learn", "skops", "numpy", "pandas", "scipy")


def library_versions(torch_used: bool) -> dict[str, str]:
    """Versions of the libraries that trained (and must load) the model."""
    names = (*LIBRARIES, "torch") if torch_used else LIBRARIES
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def build_card(*, model: str, version: int, spec: ModelSpec, plan: FeaturePlan,
               result: TrainResult, data_read_at: dt.datetime, ontology: str,
               ontology_version: int | None) -> dict[str, Any]:
    """The card as JSON-ready data."""
    return {
        "model": model,
        "version": version,
        "ontology": ontology,
        "ontology_version": ontology_version,
        "class": plan.class_name,
        "class_iri": plan.class_iri,
        "target": plan.target,
        "task": result.task,
        "algorithm": spec.algorithm,
        "hyperparameters": spec.resolved_hyperparameters(),
        "seed": spec.seed,
        "cv_folds": spec.cv_folds,
        "holdout": spec.holdout,
        "data": {"rows": result.rows, "read_at": data_read_at.isoformat(),
                 "target": result.target_summary},
        "features": [f.model_dump(exclude_none=True) for f in plan.features],
        "primary_metric": result.primary_metric,
        "metrics": {"cv": result.cv, "cv_baseline": result.cv_baseline,
                    "holdout": result.holdout, "holdout_baseline": result.holdout_baseline},
        "confusion_matrix": result.confusion,
        "importance": result.importance,
        "classes": result.classes,
        "libraries": library_versions(spec.algorithm == "mlp"),
        "training_seconds": round(result.training_seconds, 3),
        "notes": plan.notes,
    }


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown (shown by get_model and published as a Prefect artifact)."""
    metrics = card["metrics"]
    lines = [
        f"# Model `{card['model']}` v{card['version']}",
        "",
        f"Predicts **{card['target']}** of **{card['class']}** ({card['task']}, "
        f"{card['algorithm']}), trained on {card['data']['rows']} rows read at "
        f"{card['data']['read_at']} in {card['training_seconds']} s.",
        "",
        f"## Metrics ({card['cv_folds']}-fold CV on {1 - card['holdout']:.0%}, "
        f"holdout {card['holdout']:.0%}, seed {card['seed']})",
        "",
        "| metric | CV mean ± std | baseline CV | holdout | baseline holdout |",
        "|---|---|---|---|---|",
    ]
    for name, cv in metrics["cv"].items():
        base = metrics["cv_baseline"].get(name, {})
        lines.append(
            f"| {name} | {_fmt(cv['mean'])} ± {_fmt(cv['std'])} | {_fmt(base.get('mean', ''))} "
            f"| {_fmt(metrics['holdout'].get(name, ''))} "
            f"| {_fmt(metrics['holdout_baseline'].get(name, ''))} |")
    if card.get("confusion_matrix"):
        cm = card["confusion_matrix"]
        lines += ["", "## Confusion matrix (holdout; rows: true, columns: predicted)", "",
                  "| | " + " | ".join(cm["labels"]) + " |",
                  "|---" * (len(cm["labels"]) + 1) + "|"]
        lines += [f"| {label} | " + " | ".join(str(v) for v in row) + " |"
                  for label, row in zip(cm["labels"], cm["matrix"], strict=True)]
    lines += ["", "## Permutation importance (holdout, top 15)", "",
              "| feature | mean | std |", "|---|---|---|"]
    lines += [f"| {r['feature']} | {_fmt(r['mean'])} | {_fmt(r['std'])} |"
              for r in card["importance"][:15]]
    lines += ["", "## Features", "", "| name | kind | source |", "|---|---|---|"]
    lines += [f"| {f['name']} | {f['kind']} | {f['description']} |" for f in card["features"]]
    lines += ["", "## Libraries", ""]
    lines += [f"- {k} {v}" for k, v in card["libraries"].items()]
    return "\n".join(lines) + "\n"
