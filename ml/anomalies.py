"""Anomaly detection in the values themselves, judged against the right peers.

Why peer groups: a project's numbers rarely share one distribution. Readings of temperature
sensors sit near 45 and of vibration sensors near 2; pooled, a temperature reading of 2 looks
ordinary. The ontology says which attributes could separate them (a categorical attribute of
the entity, or of an entity it refers to: a reading's sensor's `kind`); `choose_grouping` keeps
the one that actually separates the distributions, measured, not guessed.

Three methods, each with an explanation a person can check (group, expected range, score):

* ``mad`` — robust z-score ``(x - median) / (1.4826 · MAD)`` within the chosen peer group;
* ``series`` — the same score against the entity's owner's own recent history (a reading
  against the previous readings of its sensor), which finds drifts that stay inside the
  group's range;
* ``isolation-forest`` — scikit-learn's IsolationForest per group over several numeric
  attributes together, where a group has enough rows.

Everything here is plain functions over arrays: no storage, no Prefect.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Method = Literal["mad", "series", "isolation-forest"]
MAD_SCALE = 1.4826  # makes the MAD estimate the standard deviation of a normal distribution
MIN_GROUP_ROWS = 8
MAX_GROUPS = 50
SEPARATION_RATIO = 0.6  # a grouping is used when it shrinks the robust spread this much
SERIES_WINDOW = 20
SERIES_MIN_HISTORY = 8
FOREST_MIN_ROWS = 256


@dataclass(frozen=True)
class DetectionSettings:
    """What a user may tune; the defaults find something useful with no configuration."""

    sensitivity: float = 4.0  # robust z beyond which a value is anomalous
    methods: tuple[Method, ...] = ("mad", "series", "isolation-forest")
    grouping: str | None = None  # force a grouping by name; None: choose automatically
    series_window: int = SERIES_WINDOW
    forest_threshold: float = -0.15  # IsolationForest decision_function below this flags


@dataclass
class Anomaly:
    """One anomalous value, with what it was judged against."""

    entity: str
    attributes: list[str]
    value: float | list[float]
    score: float
    method: Method
    group: str | None
    expected_low: float | None
    expected_high: float | None
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (how the API stores and shows it)."""
        return {
            "entity": self.entity,
            "attributes": self.attributes,
            "value": self.value,
            "score": round(self.score, 4),
            "method": self.method,
            "group": self.group,
            "expected_low": self.expected_low,
            "expected_high": self.expected_high,
            "explanation": self.explanation,
        }


@dataclass
class AttributeData:
    """One numeric attribute of a class, row-aligned with its candidate groupings."""

    name: str
    entities: list[str]
    values: np.ndarray
    groupings: dict[str, list[Any]] = field(default_factory=dict)
    owners: list[str | None] | None = None  # per-entity time series: the owning entity
    times: list[float | None] | None = None  # and the row's timestamp (any sortable number)


def robust_center(values: np.ndarray) -> tuple[float, float]:
    """(median, scaled MAD) of the finite values; the MAD falls back to a scaled mean
    absolute deviation when more than half the values are equal."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan
    median = float(np.median(finite))
    deviations = np.abs(finite - median)
    mad = float(np.median(deviations)) * MAD_SCALE
    if mad == 0.0:
        mad = float(np.mean(deviations)) * 1.2533
    return median, mad


def _groups(labels: Sequence[Any]) -> dict[Any, np.ndarray]:
    index: dict[Any, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        index[label].append(i)
    return {label: np.asarray(rows) for label, rows in index.items()}


def _dispersion(values: np.ndarray) -> float:
    """Mean absolute deviation from the median: unlike the MAD it stays meaningful for a
    pooled distribution with several modes, which is exactly what a grouping should explain."""
    finite = values[np.isfinite(values)]
    return float(np.mean(np.abs(finite - np.median(finite)))) if finite.size else math.nan


def separation(values: np.ndarray, labels: Sequence[Any]) -> float | None:
    """Within-group dispersion over the pooled dispersion (lower separates better); None when
    the grouping is unusable (one group, too many groups, or groups too small)."""
    groups = _groups(labels)
    usable = {k: v for k, v in groups.items() if k is not None and v.size >= MIN_GROUP_ROWS}
    if not 2 <= len(usable) <= MAX_GROUPS:
        return None
    pooled = _dispersion(values)
    if not pooled or not math.isfinite(pooled):
        return None
    total = sum(v.size for v in usable.values())
    within = sum(_dispersion(values[rows]) * rows.size for rows in usable.values()) / total
    return within / pooled


def choose_grouping(data: AttributeData, forced: str | None = None) -> tuple[str | None, float]:
    """The candidate grouping that best separates the values (or the forced one)."""
    if forced is not None:
        if forced not in data.groupings:
            known = ", ".join(sorted(data.groupings)) or "none"
            raise ValueError(f"unknown grouping {forced!r} for {data.name} (known: {known})")
        ratio = separation(data.values, data.groupings[forced])
        return forced, ratio if ratio is not None else 1.0
    best: tuple[str | None, float] = (None, 1.0)
    for name, labels in sorted(data.groupings.items()):
        ratio = separation(data.values, labels)
        if ratio is not None and ratio < best[1]:
            best = (name, ratio)
    if best[1] > SEPARATION_RATIO:
        return None, 1.0
    return best


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def score_groups(data: AttributeData, grouping: str | None, sensitivity: float) -> list[Anomaly]:
    """Robust z within each peer group (or all rows when no grouping separates them)."""
    labels = data.groupings[grouping] if grouping else [None] * len(data.entities)
    found: list[Anomaly] = []
    for label, rows in _groups(labels).items():
        if grouping and (label is None or rows.size < MIN_GROUP_ROWS):
            continue
        values = data.values[rows]
        median, spread = robust_center(values)
        if not spread or not math.isfinite(spread):
            continue
        low, high = median - sensitivity * spread, median + sensitivity * spread
        group = f"{grouping}={label}" if grouping else None
        for row, value in zip(rows, values, strict=True):
            if not math.isfinite(value):
                continue
            z = (value - median) / spread
            if abs(z) > sensitivity:
                peers = f"{group} (n={rows.size})" if group else f"all rows (n={rows.size})"
                found.append(
                    Anomaly(
                        entity=data.entities[row],
                        attributes=[data.name],
                        value=float(value),
                        score=float(abs(z)),
                        method="mad",
                        group=group,
                        expected_low=low,
                        expected_high=high,
                        explanation=(
                            f"{data.name} = {_fmt(value)} is outside {_fmt(low)}..{_fmt(high)}, "
                            f"the usual range of {peers}: robust z {z:+.1f}"
                        ),
                    )
                )
    return found


def _owner_noise(
    data: AttributeData, by_owner: dict[str, list[int]], grouping: str | None
) -> dict[str, float]:
    """Each owner's typical noise: the median, over the owners of its peer group, of their own
    robust spreads. A sensor's twenty readings say little about its noise alone; its peers
    (sensors of the same kind) say it well, and one noisy peer cannot move a median."""
    labels = data.groupings.get(grouping) if grouping else None
    own = {o: robust_center(data.values[rows])[1] for o, rows in by_owner.items()}
    peers: dict[Any, list[float]] = defaultdict(list)
    group_of: dict[str, Any] = {}
    for owner, rows in by_owner.items():
        group_of[owner] = labels[rows[0]] if labels is not None else None
        if math.isfinite(own[owner]) and own[owner] > 0:
            peers[group_of[owner]].append(own[owner])
    return {
        owner: float(np.median(peers[group_of[owner]])) if peers[group_of[owner]] else math.nan
        for owner in by_owner
    }


def score_series(
    data: AttributeData, window: int, sensitivity: float, grouping: str | None = None
) -> list[Anomaly]:
    """Each value against its owner's own recent ordinary values (e.g. a reading against its
    sensor's previous readings), with the noise level of the owner's peer group."""
    if data.owners is None or data.times is None:
        return []
    by_owner: dict[str, list[int]] = defaultdict(list)
    for row, owner in enumerate(data.owners):
        if owner is not None and data.times[row] is not None and math.isfinite(data.values[row]):
            by_owner[owner].append(row)
    noise = _owner_noise(data, by_owner, grouping)
    found: list[Anomaly] = []
    for owner, rows in by_owner.items():
        rows.sort(key=lambda r: data.times[r])  # type: ignore[index]
        spread = noise[owner]
        if not spread or not math.isfinite(spread):
            continue
        normal: list[float] = []  # the owner's history so far, anomalies left out
        for row in rows:
            value = float(data.values[row])
            if len(normal) < SERIES_MIN_HISTORY:
                normal.append(value)
                continue
            # statistics.median: on a window of ~20 floats it is ~30x cheaper than numpy's
            median = float(statistics.median(normal[-window:]))
            z = (value - median) / spread
            if abs(z) <= sensitivity:
                normal.append(value)
                continue
            low, high = median - sensitivity * spread, median + sensitivity * spread
            found.append(
                Anomaly(
                    entity=data.entities[row],
                    attributes=[data.name],
                    value=value,
                    score=float(abs(z)),
                    method="series",
                    group=f"owner={owner}",
                    expected_low=low,
                    expected_high=high,
                    explanation=(
                        f"{data.name} = {_fmt(value)} departs from the previous "
                        f"{min(len(normal), window)} ordinary values of {owner} "
                        f"({_fmt(low)}..{_fmt(high)}): robust z {z:+.1f}"
                    ),
                )
            )
    return found


def score_forest(
    entities: list[str],
    matrix: np.ndarray,
    names: list[str],
    labels: Sequence[Any] | None,
    grouping: str | None,
    threshold: float,
) -> list[Anomaly]:
    """IsolationForest per group over several attributes at once (rows with no gaps)."""
    from sklearn.ensemble import IsolationForest

    found: list[Anomaly] = []
    for label, rows in _groups(labels if labels is not None else [None] * len(entities)).items():
        complete = rows[np.all(np.isfinite(matrix[rows]), axis=1)]
        if complete.size < FOREST_MIN_ROWS:
            continue
        forest = IsolationForest(n_estimators=100, random_state=0).fit(matrix[complete])
        scores = forest.decision_function(matrix[complete])
        group = f"{grouping}={label}" if grouping else None
        for row, score in zip(complete, scores, strict=True):
            if score < threshold:
                found.append(
                    Anomaly(
                        entity=entities[row],
                        attributes=list(names),
                        value=[float(v) for v in matrix[row]],
                        score=float(-score),
                        method="isolation-forest",
                        group=group,
                        expected_low=None,
                        expected_high=None,
                        explanation=(
                            f"the combination of {', '.join(names)} is isolated quickly among "
                            f"{group or 'all rows'} (n={complete.size}): score {score:+.3f}"
                        ),
                    )
                )
    return found


def detect(
    attributes: list[AttributeData], settings: DetectionSettings | None = None
) -> list[Anomaly]:
    """Every anomaly in the class's numeric attributes, strongest first; one record per
    (entity, method, attributes), so the same value is never reported twice by one method."""
    settings = settings or DetectionSettings()
    found: list[Anomaly] = []
    chosen: dict[str, str | None] = {}
    for data in attributes:
        grouping, _ = choose_grouping(data, settings.grouping)
        chosen[data.name] = grouping
        if "mad" in settings.methods:
            found += score_groups(data, grouping, settings.sensitivity)
        if "series" in settings.methods:
            found += score_series(data, settings.series_window, settings.sensitivity, grouping)
    if "isolation-forest" in settings.methods and len(attributes) >= 2:
        first = attributes[0]
        matrix = np.column_stack([a.values for a in attributes])
        grouping = chosen.get(first.name)
        labels = first.groupings.get(grouping) if grouping else None
        found += score_forest(
            first.entities,
            matrix,
            [a.name for a in attributes],
            labels,
            grouping,
            settings.forest_threshold,
        )
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    unique: list[Anomaly] = []
    for anomaly in sorted(found, key=lambda a: -a.score):
        key = (anomaly.entity, anomaly.method, tuple(anomaly.attributes))
        if key not in seen:
            seen.add(key)
            unique.append(anomaly)
    return unique
