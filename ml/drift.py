"""Drift between a model's training data and current data: PSI and a two-sample KS test per
feature and of the predictions, plus the metric on newly labelled rows.

PSI (population stability index) bins numeric values at the reference's deciles and
compares shares per category for categorical ones; 0.1 is commonly read as "some shift",
0.25 as "major shift" (the default threshold). KS (scipy's ``ks_2samp``) is reported for
numeric values with its p-value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

PSI_THRESHOLD = 0.25
KS_P_THRESHOLD = 0.01
METRIC_DROP = 0.1
_EPS = 1e-4


def psi_numeric(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of numeric values, bins at the reference's quantiles."""
    ref = reference[~np.isnan(reference)]
    cur = current[~np.isnan(current)]
    if len(ref) == 0 or len(cur) == 0:
        return 0.0
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([ref[0] - 0.5, ref[0] + 0.5])
    edges[0], edges[-1] = -np.inf, np.inf
    ref_share = np.histogram(ref, edges)[0] / len(ref)
    cur_share = np.histogram(cur, edges)[0] / len(cur)
    return _psi(ref_share, cur_share)


def psi_categorical(reference: pd.Series, current: pd.Series) -> float:
    """PSI of categorical values (missing counts as a category)."""
    ref = reference.fillna("(missing)").astype(str).value_counts(normalize=True)
    cur = current.fillna("(missing)").astype(str).value_counts(normalize=True)
    labels = sorted(set(ref.index) | set(cur.index))
    return _psi(ref.reindex(labels).fillna(0).to_numpy(), cur.reindex(labels).fillna(0).to_numpy())


def _psi(ref_share: np.ndarray, cur_share: np.ndarray) -> float:
    ref_share = np.clip(ref_share, _EPS, None)
    cur_share = np.clip(cur_share, _EPS, None)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def column_drift(reference: pd.Series, current: pd.Series, kind: str) -> dict[str, Any]:
    """PSI (and KS for numeric values) of one column."""
    if kind == "numeric":
        ref = pd.to_numeric(reference, errors="coerce").to_numpy(dtype=float)
        cur = pd.to_numeric(current, errors="coerce").to_numpy(dtype=float)
        psi = psi_numeric(ref, cur)
        ref_ok, cur_ok = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
        if len(ref_ok) and len(cur_ok):
            ks = ks_2samp(ref_ok, cur_ok)
            stat, p = float(ks.statistic), float(ks.pvalue)
        else:
            stat, p = 0.0, 1.0
        return {"psi": psi, "ks": stat, "ks_p": p,
                "drifted": psi > PSI_THRESHOLD or (p < KS_P_THRESHOLD and psi > 0.1)}
    psi = psi_categorical(reference, current)
    return {"psi": psi, "ks": None, "ks_p": None, "drifted": psi > PSI_THRESHOLD}


def drift_report(reference: pd.DataFrame, current: pd.DataFrame, kinds: Mapping[str, str],
                 prediction_kind: str, *, metric_name: str | None = None,
                 trained_metric: float | None = None, current_metric: float | None = None,
                 labelled_rows: int = 0, psi_threshold: float = PSI_THRESHOLD,
                 metric_drop: float = METRIC_DROP) -> dict[str, Any]:
    """Per-feature and prediction drift, the metric on new labels, and the verdict."""
    features = {name: column_drift(reference[name], current[name], kind)
                for name, kind in kinds.items() if name in reference and name in current}
    prediction = column_drift(reference["prediction"], current["prediction"], prediction_kind)
    reasons = [f"feature {n}: PSI {d['psi']:.3f}" for n, d in features.items()
               if d["psi"] > psi_threshold]
    if prediction["psi"] > psi_threshold:
        reasons.append(f"predictions: PSI {prediction['psi']:.3f}")
    if trained_metric is not None and current_metric is not None and (
            trained_metric - current_metric > metric_drop):
        reasons.append(f"{metric_name} fell from {trained_metric:.3f} to {current_metric:.3f}")
    return {
        "features": features,
        "prediction": prediction,
        "metric": {"name": metric_name, "trained": trained_metric, "current": current_metric,
                   "labelled_rows": labelled_rows},
        "rows": {"reference": len(reference), "current": len(current)},
        "psi_threshold": psi_threshold,
        "degraded": bool(reasons),
        "reasons": reasons,
    }
