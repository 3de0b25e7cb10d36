"""The flow runs Mimir starts on someone's behalf: start them, find them, describe them.

Every run Mimir starts for a project (pipeline runs, extraction, loading tables after an
accept, exports, and later training, detection …) carries the tags `mimir`,
`project:<name>` and `kind:<kind>`, so one query finds them all and the API follows any of
them the same way (`list_project_runs` / `get_project_run`). A flow that has a result worth
showing records it with `record_result`: a `mimir-result` artifact holding JSON, stored by
Prefect's API (a worker pod's local result storage is not readable by the API).
Mimir keeps no run history of its own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from prefect.artifacts import Artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterType,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterId,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from prefect.concurrency.sync import concurrency
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectAlreadyExists
from prefect.settings import PREFECT_API_URL, temporary_settings

RESULT_ARTIFACT = "mimir-result"
MIMIR_DEPLOYMENT = "mimir"  # the deployment name of each of Mimir's own flows
MAX_TAG = 100
STARTED_BY_TAG = "started-by:"  # + the id of the run whose outcome started this one


def project_tags(project: str, kind: str, via: str) -> list[str]:
    """The tags that make a run findable as one of the project's runs."""
    return ["mimir", f"project:{project}", f"kind:{kind}", f"via:{via}"[:MAX_TAG]]


_RUN_CREATION = threading.BoundedSemaphore(4)
"""At most four run creations at once per process (the API's threads): the embedded Prefect
server runs on SQLite, where a burst of concurrent writes ends in 'database is locked' (503)
and Prefect's client then backs off 2+4+8+16+32 s. Queued here, a burst of twenty starts
costs the server only as much concurrency as SQLite can use."""


def start_deployment(
    name: str | UUID, parameters: dict[str, Any], tags: list[str], *, timeout: float = 0
) -> FlowRun:
    """Create a run of a deployment (`flow/deployment` or id); returns at once unless a
    `timeout` asks to wait for it (then it is returned in the state it reached).

    Starts that return at once queue for `_RUN_CREATION` (a waiting start never holds it)."""
    with _RUN_CREATION if timeout == 0 else nullcontext():
        flow_run = run_deployment(
            name=name,
            parameters=parameters,
            timeout=timeout,
            poll_interval=0.5,
            as_subflow=False,
            tags=tags,
        )
    return cast(FlowRun, flow_run)


def duration(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds between two instants, when both are known."""
    return (end - start).total_seconds() if start and end else None


def _tag_value(tags: list[str], prefix: str) -> str | None:
    return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), None)


def run_summary(flow_run: FlowRun) -> dict[str, Any]:
    """A flow run as Mimir shows it, whoever started it (the one flow-run → dict)."""
    state = flow_run.state
    tags = list(flow_run.tags or [])
    return {
        "id": str(flow_run.id),
        "name": flow_run.name,
        "kind": _tag_value(tags, "kind:"),
        "state": state.type.value if state else "UNKNOWN",
        "state_name": state.name if state else "Unknown",
        "message": state.message if state else None,
        "created": flow_run.created,
        "start_time": flow_run.start_time,
        "end_time": flow_run.end_time,
        "duration_s": duration(flow_run.start_time, flow_run.end_time),
        "parameters": dict(flow_run.parameters or {}),
        "tags": tags,
    }


def is_final(summary: dict[str, Any]) -> bool:
    """Whether the run has ended (completed, failed, crashed or cancelled)."""
    return summary["state"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def read_runs(
    *,
    tags: list[str],
    limit: int,
    ids: list[UUID] | None = None,
    include_upcoming: bool = True,
    since: datetime | None = None,
) -> list[FlowRun]:
    """Flow runs carrying all `tags` (and one of `ids`, if given), newest first.

    `since`: only runs expected to start from then on — a project's runs are tagged with its
    name, so a project deleted and created again under that name would otherwise inherit the
    runs of its predecessor (its failed loads, its extractions)."""
    run_filter = FlowRunFilter(tags=FlowRunFilterTags(all_=tags))
    if ids is not None:
        run_filter.id = FlowRunFilterId(any_=ids)
    if not include_upcoming or since is not None:
        run_filter.expected_start_time = FlowRunFilterExpectedStartTime(
            before_=None if include_upcoming else datetime.now(UTC),  # type: ignore[arg-type]
            after_=since,  # type: ignore[arg-type]
        )
    with get_client(sync_client=True) as client:
        return list(
            client.read_flow_runs(
                flow_run_filter=run_filter, sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=limit
            )
        )


def list_project_runs(
    project: str, kind: str | None, limit: int, since: datetime | None = None
) -> list[dict[str, Any]]:
    """The project's runs (of one kind, if given; from `since`, if given), newest first."""
    tags = ["mimir", f"project:{project}"] + ([f"kind:{kind}"] if kind else [])
    return [run_summary(run) for run in read_runs(tags=tags, limit=limit, since=since)]


def get_project_run(
    project: str, run_id: UUID, since: datetime | None = None
) -> dict[str, Any] | None:
    """One of the project's runs with its recorded result (None if it is not the project's)."""
    runs = read_runs(tags=["mimir", f"project:{project}"], ids=[run_id], limit=1, since=since)
    if not runs:
        return None
    detail = run_summary(runs[0])
    detail["result"] = read_result(run_id)
    return detail


def latest_project_run(
    project: str,
    kind: str,
    *,
    parameters: dict[str, Any] | None = None,
    scan: int = 50,
    api_url: str | None = None,
    since: datetime | None = None,
) -> dict[str, Any] | None:
    """The project's newest run of `kind` (whose parameters include `parameters`, if given),
    with its recorded result once it has ended; None when there is none among the newest
    `scan` runs of that kind.

    This is how a user follows work Mimir started on their behalf without knowing its id,
    e.g. the extraction an ingestion run started (`list_ontologies` shows it).

    `api_url` names the Prefect API to ask (else Prefect's own setting): without one,
    Prefect's client would start a temporary server of its own and wait for it."""
    wanted = parameters or {}
    chosen = temporary_settings({PREFECT_API_URL: api_url}) if api_url else nullcontext()
    with chosen:
        tags = ["mimir", f"project:{project}", f"kind:{kind}"]
        for run in read_runs(tags=tags, limit=scan, since=since):
            given = run.parameters or {}
            if all(given.get(key) == value for key, value in wanted.items()):
                detail = run_summary(run)
                detail["final"] = is_final(detail)
                detail["result"] = read_result(run.id) if detail["final"] else None
                return detail
    return None


def read_result(run_id: UUID) -> dict[str, Any] | None:
    """What the run recorded with `record_result`, or None (not yet, or nothing to record)."""
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
                type=ArtifactFilterType(any_=[RESULT_ARTIFACT]),
            ),
            limit=1,
        )
    if not artifacts:
        return None
    data = artifacts[0].data
    value = json.loads(data) if isinstance(data, str) else data
    return value if isinstance(value, dict) else {"value": value}


def record_result(result: dict[str, Any], description: str) -> None:
    """Inside a flow run: keep `result` (JSON-able) where `get_project_run` finds it."""
    Artifact(type=RESULT_ARTIFACT, description=description, data=result).create()


@contextmanager
def one_per_project(kind: str, project: str) -> Iterator[None]:
    """Inside a flow run: hold the project's only slot for `kind` (one extraction per
    project at a time); a second run waits here, RUNNING, until the first leaves.

    A Prefect global concurrency limit `mimir-<kind>-<project>` of 1, created on first use
    (a deployment's own concurrency limit would count every project's runs together).
    """
    name = f"mimir-{kind}-{project}"
    # another run may create the limit between the upsert's read and its create
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.upsert_global_concurrency_limit_by_name(name, 1)
    with concurrency(name, occupy=1, strict=True):
        yield
