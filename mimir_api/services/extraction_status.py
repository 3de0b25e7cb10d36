"""The latest ontology extraction of a project, as `list_ontologies` and `get_ontology` show it.

Extractions run as `extract-ontology` flow runs, started by an ingestion run or on request;
Prefect keeps them (Mimir keeps no run history). A user who just ingested should not need the
run id, nor the Prefect UI, to see whether extraction is queued, running, failed (and why), or
ended as `no-data`, `unchanged`, `proposed` or `accepted`: the ontology listing carries the
newest run with its state, timings, outcome and error. Reading it never makes the listing
fail: when Prefect cannot be reached the listing says so in `extraction_unavailable`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from flows.runs import STARTED_BY_TAG, latest_project_run
from mimir_api.db.models import as_utc

FAILED_STATES = ("FAILED", "CRASHED", "CANCELLED")


class ExtractionStatus(BaseModel):
    """The newest extraction run: where it is, and how it ended."""

    run_id: str = Field(description="Flow-run id (get_project_run has the full record).")
    ontology: str | None = Field(description="The ontology it extracts into.")
    state: str = Field(description="Prefect state type (SCHEDULED, RUNNING, COMPLETED, FAILED …).")
    final: bool = Field(description="True once the run has ended.")
    outcome: str | None = Field(
        description="How it ended: no-data, unchanged, proposed or accepted (None while it "
        "runs or when it failed)."
    )
    message: str | None = Field(
        description="The no-data explanation, or the state's message (for a failure, its error)."
    )
    error: str | None = Field(description="Why it failed, crashed or was cancelled.")
    version: int | None = Field(description="The version it saved or proposed, or compared with.")
    superseded: list[int] = Field(description="Older open proposals its proposal closed.")
    load_run_id: str | None = Field(
        description="The table-load run an automatic accept started (follow it with "
        "get_project_run)."
    )
    trigger: str | None = Field(
        description="Who started it: pipeline:<name> after an ingestion, api:<user> on request."
    )
    started_by_run: str | None = Field(
        description="The ingestion run that started it, when one did."
    )
    created: datetime | None = Field(description="When it was created (queued).")
    started: datetime | None = Field(description="When it started running.")
    finished: datetime | None = Field(description="When it ended.")

    @field_validator("created", "started", "finished")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


def _tag(tags: list[str], prefix: str) -> str | None:
    return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), None)


def extraction_status(run: dict[str, Any]) -> ExtractionStatus:
    """One extraction run (a `flows.runs` summary with `final` and `result`) as shown."""
    result = run.get("result") or {}
    failed = run["state"] in FAILED_STATES
    version = result.get("version")
    return ExtractionStatus(
        run_id=run["id"],
        ontology=(run.get("parameters") or {}).get("ontology"),
        state=run["state"],
        final=run["final"],
        outcome=result.get("status"),
        message=result.get("message") or run.get("message"),
        error=(run.get("message") or run["state_name"]) if failed else None,
        version=version if isinstance(version, int) else None,
        superseded=[v for v in result.get("superseded") or [] if isinstance(v, int)],
        load_run_id=result.get("load_run_id"),
        trigger=_tag(run["tags"], "via:"),
        started_by_run=_tag(run["tags"], STARTED_BY_TAG),
        created=run.get("created"),
        started=run.get("start_time"),
        finished=run.get("end_time"),
    )


def latest_extraction(
    prefect_api_url: str, project: str, ontology: str | None = None,
    since: datetime | None = None,
) -> tuple[ExtractionStatus | None, str | None]:
    """The project's newest extraction (into `ontology`, if given), or why it is unknown.

    Returns (status, None), (None, None) when there has been no extraction, or
    (None, reason) when Prefect could not be read — the caller still answers."""
    where = {"ontology": ontology} if ontology else None
    try:
        run = latest_project_run(project, "extraction", parameters=where,
                                 api_url=prefect_api_url, since=since)
    except Exception as exc:  # Prefect down must not take the ontology listing with it
        return None, f"could not read extraction runs from Prefect: {exc}"[:500]
    return (extraction_status(run) if run else None), None
