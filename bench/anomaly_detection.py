"""Detection throughput: Mimir's scoring against plain pandas doing the group MAD alone.

Data: `--rows` readings (default 1,000,000) of sensors of two kinds whose values sit far apart
(temperature near 45, vibration near 2), each sensor with its own baseline, in time order;
0.1 % of the readings carry a value normal for the *other* kind (invisible when pooled).

  mimir     `ml.anomalies.detect` with the default settings: the grouping chosen by measuring
            which candidate separates the distributions, the robust z within the group
            (`mad`) and against each sensor's own recent history (`series`), explanations.
  baseline  pandas: median and MAD per kind and the robust z — the group score alone, with
            the grouping given.

Prints rows/s of each, their ratio, and the recall of the injected anomalies (the detection
flow's storage read is not included). Times, never assertions.

    .venv/bin/python bench/anomaly_detection.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.anomalies import MAD_SCALE, AttributeData, DetectionSettings, detect

KINDS = {"temperature": (45.0, 5.0, 1.0), "vibration": (2.0, 0.3, 0.1)}
READINGS_PER_SENSOR = 50


def generate(rows: int, seed: int = 7) -> tuple[AttributeData, set[str]]:
    """Readings in time order per sensor, with injected cross-kind values."""
    rng = random.Random(seed)
    sensors = max(2, rows // READINGS_PER_SENSOR)
    entities, values, kinds, owners, times = [], [], [], [], []
    injected: set[str] = set()
    for s in range(sensors):
        kind = "temperature" if s % 2 == 0 else "vibration"
        other = "vibration" if kind == "temperature" else "temperature"
        mean, between, noise = KINDS[kind]
        baseline = rng.gauss(mean, between)
        for r in range(READINGS_PER_SENSOR):
            entity = f"s{s}-r{r}"
            value = rng.gauss(baseline, noise)
            if r >= 10 and rng.random() < 0.001:
                value = rng.gauss(KINDS[other][0], KINDS[other][1])
                injected.add(entity)
            entities.append(entity)
            values.append(value)
            kinds.append(kind)
            owners.append(f"s{s}")
            times.append(float(r))
    data = AttributeData(
        name="value",
        entities=entities,
        values=np.asarray(values, dtype=float),
        groupings={"sensor.kind": kinds, "sensor.site": [o[-1] for o in owners]},
        owners=owners,
        times=times,
    )
    return data, injected


def pandas_baseline(data: AttributeData, sensitivity: float) -> set[str]:
    frame = pd.DataFrame({"entity": data.entities, "value": data.values,
                          "kind": data.groupings["sensor.kind"]})
    grouped = frame.groupby("kind")["value"]
    median = grouped.transform("median")
    mad = (frame["value"] - median).abs().groupby(frame["kind"]).transform("median")
    z = (frame["value"] - median).abs() / (MAD_SCALE * mad)
    return set(frame.loc[z > sensitivity, "entity"])


def timed(fn, repeat: int):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    data, injected = generate(args.rows)
    print(f"{len(data.entities):,} readings ({len(injected)} injected) generated in "
          f"{time.perf_counter() - started:.1f} s")
    settings = DetectionSettings()
    t_base, flagged_base = timed(lambda: pandas_baseline(data, settings.sensitivity),
                                 args.repeat)
    t_mimir, found = timed(lambda: detect([data], settings), args.repeat)
    flagged = {a.entity for a in found}
    rows = len(data.entities)
    print("\n| path | time (s) | rows/s | recall of injected | flagged |")
    print("|---|---|---|---|---|")
    for label, seconds, hits in (("baseline: pandas group MAD", t_base, flagged_base),
                                 ("mimir: detect (mad + series)", t_mimir, flagged)):
        recall = len(hits & injected) / max(1, len(injected))
        print(f"| {label} | {seconds:.2f} | {rows / seconds:,.0f} | {recall:.2f} | "
              f"{len(hits):,} |")
    print(f"\nratio mimir / baseline: {t_mimir / t_base:.1f}x")


if __name__ == "__main__":
    main()
