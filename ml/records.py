"""Ad-hoc records for `predict`, validated against a model's feature schema.

A record maps feature names to values. Unknown names and values of the wrong type are
refused with the feature's name and what was expected; a missing feature is imputed like a
missing value in training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ml.errors import MLInputError
from ml.features import FeaturePlan

MAX_RECORDS = 10_000


def records_frame(plan: FeaturePlan, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A feature table from records, or `MLInputError` naming the record and feature."""
    if len(records) > MAX_RECORDS:
        raise MLInputError(f"at most {MAX_RECORDS} records per call, got {len(records)}",
                           field="records")
    kinds = {f.name: f.kind for f in plan.features}
    rows: list[dict[str, Any]] = []
    for i, record in enumerate(records):
        unknown = sorted(set(record) - set(kinds))
        if unknown:
            raise MLInputError(
                f"records[{i}]: unknown feature(s) {', '.join(map(repr, unknown))}; the model's "
                f"features are: {', '.join(plan.feature_names)}", field=f"records.{i}.{unknown[0]}")
        row: dict[str, Any] = {}
        for name, kind in kinds.items():
            value = record.get(name)
            if value is None:
                row[name] = np.nan
            elif kind == "numeric":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise MLInputError(
                        f"records[{i}].{name}: expected a number, got {type(value).__name__} "
                        f"{value!r}", field=f"records.{i}.{name}")
                row[name] = float(value)
            else:
                if not isinstance(value, str | bool | int):
                    raise MLInputError(
                        f"records[{i}].{name}: expected a text (category) value, got "
                        f"{type(value).__name__}", field=f"records.{i}.{name}")
                row[name] = str(value)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=plan.feature_names,
                         index=pd.Index([f"record:{i}" for i in range(len(rows))], name="entity"))
    for name, kind in kinds.items():
        frame[name] = frame[name].astype("float64" if kind == "numeric" else object)
    return frame
