"""Trigger latency: an event emitted → the output pipeline's run started → finished.

Both sides run against the same Prefect server and the same local process worker, in one run:
  baseline  the API's own path: `run_deployment` of the output pipeline's deployment (what
            `run_pipeline` and `approve_alert` do), timed from the call;
  trigger   a Mimir trigger's Prefect automation (`flows.triggers`): `mimir.alert.raised` is
            emitted with the labels the API sets, Prefect's event system matches it and its
            RunDeployment action creates the run, timed from the emit.
For each: the median of N runs (interleaved) from start to the run's start_time and end_time,
and the trigger/baseline ratio. Times, never assertions.

    .venv/bin/python bench/trigger_latency.py [--repeat 10]

Uses PREFECT_API_URL when set; otherwise starts a throw-away Prefect server (SQLite). Starts
its own process worker on a work pool `trigger-bench` and removes the automation at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from throwaway_prefect import prefect_api

POOL = "trigger-bench"
PROJECT = "bench"
OUTPUT = """\
name: trigger-bench-report
type: output
parameters:
  trigger: {type: object, default: {}}
steps:
  - name: report
    action: report.render
    with:
      path: reports/bench.md
      format: markdown
      data: "{{ params.trigger }}"
      template: "{{ data.event }} {{ data.resource }}"
"""


@contextlib.contextmanager
def worker() -> Iterator[None]:
    """A process worker on the bench pool, polling every second like `mimir up`'s."""
    env = dict(os.environ, PREFECT_WORKER_QUERY_SECONDS="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        if process.poll() is None:
            process.kill()


def wait_run(deployment_id: str, known: set[str], deadline_s: float = 300) -> Any:
    """The deployment's one new flow run, once it has ended."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    stop = time.monotonic() + deadline_s
    with get_client(sync_client=True) as client:
        while time.monotonic() < stop:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(
                    id=DeploymentFilterId(any_=[uuid.UUID(deployment_id)])
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                limit=50,
            )
            new = [r for r in runs if str(r.id) not in known]
            if new and new[0].state is not None and new[0].state.is_final():
                known.add(str(new[0].id))
                if not new[0].state.is_completed():
                    raise SystemExit(f"run ended {new[0].state.type}: {new[0].state.message}")
                return new[0]
            time.sleep(0.2)
    raise SystemExit(f"no run of {deployment_id} ended within {deadline_s}s")


def seconds(since: datetime, at: datetime | None) -> float:
    assert at is not None
    return (at - since).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    with prefect_api() as url:
        from prefect.events import emit_event

        from flows.actions.registry import load_registry
        from flows.deploy import ensure_work_pool
        from flows.pipeline.compiler import compile_pipeline
        from flows.pipeline.deployments import PipelineTarget, start_run, upsert_deployment
        from flows.triggers import (
            EVENT_ALERT_RAISED,
            AlertMatch,
            AutomationSpec,
            create_trigger_automation,
            delete_trigger_automation,
        )

        ensure_work_pool(POOL)
        storage = Path(tempfile.mkdtemp()).as_uri()
        plan = compile_pipeline(OUTPUT, load_registry(), source="bench")
        deployment_id = upsert_deployment(plan, 1, PipelineTarget(PROJECT, storage, POOL))
        automation_id = create_trigger_automation(
            AutomationSpec(
                trigger_id=uuid.uuid4().hex,
                name="bench",
                project=PROJECT,
                description="trigger latency benchmark",
                condition=AlertMatch(PROJECT, None, None, "low"),
                deployment_id=deployment_id,
            )
        )
        known: set[str] = set()
        direct: list[tuple[float, float]] = []
        triggered: list[tuple[float, float]] = []
        try:
            with worker():
                time.sleep(5)  # the server's triggers service loads the new automation
                for index in range(args.repeat + 1):  # the first round warms both paths
                    began = datetime.now(UTC)
                    start_run(deployment_id, {"trigger": {"name": "direct"}}, ["bench"])
                    run = wait_run(deployment_id, known)
                    if index:
                        direct.append(
                            (seconds(began, run.start_time), seconds(began, run.end_time))
                        )
                    began = datetime.now(UTC)
                    emit_event(
                        event=EVENT_ALERT_RAISED,
                        resource={
                            "prefect.resource.id": f"mimir.entity.urn:bench:{index}",
                            "mimir.project": PROJECT,
                            "mimir.class": "Reading",
                            "mimir.attribute": "value",
                            "mimir.severity": "high",
                        },
                        payload={"alert_id": uuid.uuid4().hex, "severity": "high"},
                    )
                    run = wait_run(deployment_id, known)
                    if index:
                        triggered.append(
                            (seconds(began, run.start_time), seconds(began, run.end_time))
                        )
        finally:
            delete_trigger_automation(automation_id)
        print(f"Prefect API: {url}; process worker polling every 1 s; median of {args.repeat}")
        print(f"{'path':44} {'started (s)':>12} {'finished (s)':>13} {'ratio':>7}")
        d_start = statistics.median(s for s, _ in direct)
        d_end = statistics.median(e for _, e in direct)
        t_start = statistics.median(s for s, _ in triggered)
        t_end = statistics.median(e for _, e in triggered)
        print(f"{'baseline: run_deployment (API start)':44} {d_start:12.2f} {d_end:13.2f} {1:7.2f}")
        print(
            f"{'trigger: event → Prefect automation':44} {t_start:12.2f} {t_end:13.2f} "
            f"{t_start / d_start:7.2f}"
        )
        print(f"automation's own cost until the run starts: {t_start - d_start:.2f} s")


if __name__ == "__main__":
    main()
