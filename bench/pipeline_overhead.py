"""Per-step overhead of a Mimir pipeline against bare Prefect tasks doing the same work.

Both sides run in this process, against the same Prefect server, in the same run:
  baseline  a @flow calling one @task per step (jmespath query on a small document);
  mimir     a 50-step pipeline of `json.query` steps, compiled and run by Mimir's flow.
Prints the median wall time per run, per step, and the ratio. Times, never assertions.

    .venv/bin/python bench/pipeline_overhead.py [--steps 50] [--repeat 3]

Uses PREFECT_API_URL when set; otherwise starts a throw-away Prefect server (SQLite).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from throwaway_prefect import prefect_api

DOC = {"items": [{"id": i, "total": i * 1.5} for i in range(20)]}
PATH = "items[?total > `10`].id"


def pipeline_yaml(steps: int) -> str:
    import yaml

    document = {
        "name": "overhead-bench",
        "type": "processing",
        "context_limit": "64MiB",
        "steps": [
            {"name": f"q{index}", "action": "json.query", "with": {"data": DOC, "path": PATH}}
            for index in range(steps)
        ],
    }
    return yaml.safe_dump(document, sort_keys=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with prefect_api() as url:
        import jmespath
        from prefect import flow, task
        from prefect.cache_policies import NO_CACHE

        from flows.pipeline.flow import run_pipeline

        @task(cache_policy=NO_CACHE, persist_result=False)
        def query(data: dict, path: str) -> dict:
            return {"result": jmespath.search(path, data)}

        @flow(name="bare-prefect-bench", persist_result=False)
        def baseline(steps: int) -> None:
            for _ in range(steps):
                query(DOC, PATH)

        text = pipeline_yaml(args.steps)
        storage = Path(tempfile.mkdtemp()).as_uri()
        baseline(2)  # warm both paths (imports, client, server caches)
        run_pipeline(pipeline_yaml(2), {}, project="bench", storage_url=storage)

        bare: list[float] = []
        mimir: list[float] = []
        for _ in range(args.repeat):  # interleaved, so load changes hit both sides alike
            start = time.perf_counter()
            baseline(args.steps)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            summary = run_pipeline(text, {}, project="bench", storage_url=storage)
            mimir.append(time.perf_counter() - start)
            if summary["status"] != "completed":
                raise SystemExit(f"benchmark pipeline did not complete: {summary['error']}")
        b, m = statistics.median(bare), statistics.median(mimir)
        print(f"Prefect API: {url}; {args.steps} steps; median of {args.repeat} runs")
        print(f"{'variant':28} {'run (s)':>9} {'per step (ms)':>14} {'ratio':>7}")
        print(f"{'bare Prefect tasks':28} {b:9.2f} {1000 * b / args.steps:14.1f} {1.0:7.2f}")
        print(
            f"{'Mimir pipeline':28} {m:9.2f} {1000 * m / args.steps:14.1f} {m / b:7.2f}"
        )
        print(f"Mimir's own overhead per step: {1000 * (m - b) / args.steps:.1f} ms")


if __name__ == "__main__":
    main()
