"""ML benchmark: Mimir's training and batch scoring against plain scikit-learn, in one run.

* Training: `ml.train.train` (5-fold CV, baseline CV, holdout, permutation importance, final
  fit) on a feature table, against the same work written as a plain scikit-learn script on the
  same frame (same pipeline, same folds); both single-threaded. The end-to-end
  `train_version` (reading storage, building features, saving the artifact) is reported too.
  Goal: Mimir's training at most 1.2x the plain script (a flow run adds one flow start).
* Batch inference: `LoadedModel.predict` (prediction + class probabilities) against plain
  ``pipeline.predict`` + ``predict_proba`` on the same frame. Goal: at least 0.8x the
  throughput. The full `infer` path (read, features, predict, write the predictions table) is
  reported as rows/s.

Data: generated Turbine (own attributes) ← Sensor (readings) entities in SQLite, the label
depending on the sensors, so the frame includes relationship aggregates.

Run: ``.venv/bin/python bench/ml_train.py [--turbines 5000]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.inspection import permutation_importance
from sklearn.model_selection import cross_validate
from threadpoolctl import threadpool_limits

from ml.artifacts import load_model
from ml.estimators import baseline, build_pipeline
from ml.frame import build_frame
from ml.spec import ModelSpec
from ml.train import _scoring, labelled, splits, train
from ml.workflow import (
    entity_frame,
    explain,
    prediction_rows,
    train_version,
    write_predictions,
)
from tests.utils.ml import load, sqlite_store, turbine_ontology, turbine_records


def best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def plain_training(frame, plan, spec) -> None:
    """The evaluation Mimir does, as a plain scikit-learn script."""
    x, y = labelled(frame, plan)
    x_train, x_test, y_train, y_test, folds = splits(plan.task, spec, x, y)
    scoring = _scoring(plan.task, int(y.nunique()))
    params = spec.resolved_hyperparameters()
    with threadpool_limits(1):
        cross_validate(build_pipeline(plan, spec.algorithm, params, spec.seed), x_train, y_train,
                       cv=folds, scoring=scoring)
        cross_validate(baseline(plan.task), x_train, y_train, cv=folds, scoring=scoring)
        model = build_pipeline(plan, spec.algorithm, params, spec.seed).fit(x_train, y_train)
        model.predict(x_test)
        model.predict_proba(x_test)
        permutation_importance(model, x_test, y_test, scoring="accuracy",
                               n_repeats=spec.importance_repeats, random_state=spec.seed)
        build_pipeline(plan, spec.algorithm, params, spec.seed).fit(x, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turbines", type=int, default=5_000)
    args = parser.parse_args()
    os.environ.setdefault("MIMIR_ML_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        store, mapping = sqlite_store(Path(tmp) / "bench.sqlite", turbine_ontology())
        turbines, sensors = turbine_records(args.turbines)
        load(store, mapping, "Turbine", turbines)
        load(store, mapping, "Sensor", sensors)
        spec = ModelSpec(entity_class="Turbine", target="failed")
        plan = explain(store, mapping, spec)
        frame = build_frame(store, mapping, plan)
        frame_s = best(lambda: build_frame(store, mapping, plan), 1)
        mimir_s = best(lambda: train(frame, plan, spec))
        plain_s = best(lambda: plain_training(frame, plan, spec))
        storage = str(Path(tmp) / "objects")
        end_s = best(lambda: train_version(store, mapping, spec, storage_url=storage,
                                           model="bench", version=1, ontology="main"), 1)
        trained = train_version(store, mapping, spec, storage_url=storage, model="bench",
                                version=2, ontology="main")
        loaded = load_model(storage, "bench", 2, trained.content_hash)
        x = frame[plan.feature_names]

        def plain_predict() -> None:
            with threadpool_limits(1):
                loaded.pipeline.predict(x)
                loaded.pipeline.predict_proba(x)

        mimir_p = best(lambda: loaded.predict(x))
        plain_p = best(plain_predict)
        infer_s = best(lambda: write_predictions(
            store, "bench", prediction_rows(loaded, entity_frame(store, mapping, plan), 2)), 1)
        store.close()
    n = len(frame)
    print(f"entities: {n:,} turbines, {len(sensors):,} sensors, {len(plan.features)} features, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, 1 native thread")
    print(f"feature table from storage          {frame_s:8.2f} s")
    print(f"training  mimir train()             {mimir_s:8.2f} s")
    print(f"training  plain scikit-learn        {plain_s:8.2f} s   ratio {mimir_s / plain_s:.2f}x")
    print(f"training  end to end (train_version){end_s:8.2f} s")
    print(f"predict   mimir  {n / mimir_p:12,.0f} rows/s")
    print(f"predict   plain  {n / plain_p:12,.0f} rows/s   throughput ratio "
          f"{plain_p / mimir_p:.2f}x")
    print(f"infer     end to end (read, predict, write table) {n / infer_s:10,.0f} rows/s")


if __name__ == "__main__":
    main()
