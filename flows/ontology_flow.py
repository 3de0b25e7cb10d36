"""`extract-ontology`: infer an ontology from a project's raw area and hand it to the API.

The flow runs on a worker (a process under `mimir up`, a pod on Kubernetes), which has the
project's storage but not the metadata DB. So it reads the raw tables through `open_store`,
runs `extract`, compares the result with the accepted ontology that the API published into
the storage object (`propose`), and, when there is something new, posts the extracted
ontology to the API (`submit_ontology_proposal`, `MIMIR_API_URL` + `MIMIR_API_TOKEN`). The
API recomputes the proposal against the accepted version in its DB, so an edit saved while
the flow ran is never overwritten: the first extraction is accepted there automatically,
later ones become proposals.

`start_extraction` triggers the deployment (after an ingestion run, or from the API).
"""

from __future__ import annotations

from typing import Any, cast

import httpx
from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import FlowRun
from prefect.context import get_run_context
from prefect.logging import get_run_logger

from domain.published import published, published_turtle
from domain.raw_area import read_raw_sample
from domain.stores import open_project_store
from flows.runs import (
    MIMIR_DEPLOYMENT,
    STARTED_BY_TAG,
    one_per_project,
    project_tags,
    record_result,
    start_deployment,
)
from flows.settings import runtime_settings
from ontology import ExtractOptions, extract, from_turtle, propose, to_turtle

EXTRACT_FLOW_NAME = "extract-ontology"
DEFAULT_ONTOLOGY = "main"
SUBMIT_TIMEOUT_S = 600.0


class ExtractionHandoffFailed(RuntimeError):
    """The API could not be reached or refused the extracted ontology."""


def default_base_iri(project: str) -> str:
    """Namespace of a project's first extracted ontology."""
    return f"https://mimir-aip.dev/projects/{project}/ontology#"


def submit(
    project: str, ontology: str, turtle: str, base_version: int | None, flow_run_id: str
) -> dict[str, Any]:
    """POST the extracted ontology to the API (submit_ontology_proposal) and return its answer."""
    settings = runtime_settings()
    if not settings.api_url:
        raise ExtractionHandoffFailed(
            "MIMIR_API_URL is not set on this worker, so the extracted ontology cannot be "
            "handed to the API (mimir up sets it; on Kubernetes the work pool's env does)"
        )
    headers = {}
    if settings.api_token is not None:
        headers["Authorization"] = f"Bearer {settings.api_token.get_secret_value()}"
    url = (
        f"{settings.api_url.rstrip('/')}/api/v1/projects/{project}/ontologies/{ontology}/proposals"
    )
    body = {"extracted": turtle, "base_version": base_version, "flow_run_id": flow_run_id}
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=SUBMIT_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise ExtractionHandoffFailed(f"could not reach the Mimir API at {url}: {exc}") from exc
    if response.status_code >= 300:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ExtractionHandoffFailed(
            f"the Mimir API answered {response.status_code}: {str(detail)[:2000]}"
        )
    return cast(dict[str, Any], response.json())


@flow(name=EXTRACT_FLOW_NAME, persist_result=False, validate_parameters=True)
def extract_ontology(
    project: str,
    storage_url: str,
    ontology: str = DEFAULT_ONTOLOGY,
    trigger: str = "api",
    sample_rows: int = 50_000,
) -> dict[str, Any]:
    """Extract an ontology from the raw area and hand it to the API as a proposal.

    One extraction per project runs at a time (later ones wait for the slot), so two
    extractions never submit competing proposals built from the same raw area.
    """
    with one_per_project(EXTRACT_FLOW_NAME, project):
        outcome = _extract(project, storage_url, ontology, trigger, sample_rows)
    record_result(_outcome_summary(outcome), f"Ontology extraction: {outcome.get('status')}")
    return outcome


def _outcome_summary(outcome: dict[str, Any]) -> dict[str, Any]:
    """What `get_project_run` shows: the outcome without the saved ontology's full body."""
    summary = {k: v for k, v in outcome.items() if k != "result"}
    storage = ((outcome.get("result") or {}).get("storage")) or {}
    if storage.get("load_run_id"):
        summary["load_run_id"] = storage["load_run_id"]
    return summary


def _extract(
    project: str, storage_url: str, ontology: str, trigger: str, sample_rows: int
) -> dict[str, Any]:
    logger = get_run_logger()
    store = open_project_store(project, storage_url)
    try:
        records = read_raw_sample(store, sample_rows)
    finally:
        store.close()
    if not records:
        logger.info("project %s has no raw records yet; nothing to extract", project)
        return {
            "status": "no-data",
            "project": project,
            "ontology": ontology,
            "message": "the project has no raw records yet: ingest with `storage.write` and "
            "`source:` first",
        }
    current = published(storage_url, ontology)
    base = from_turtle(published_turtle(storage_url, current[0])) if current else None
    base_version = current[0].version if current else None
    base_iri = base.namespace if base is not None and base.iri else default_base_iri(project)
    result = extract(records, base_iri=base_iri, options=ExtractOptions(sample_rows=sample_rows))
    proposal = propose(base, result.model)
    logger.info(
        "extracted %d class(es), %d propert(y/ies) from %s (trigger %s); %d change(s) against "
        "version %s",
        len(result.model.classes),
        len(result.model.properties),
        ", ".join(f"{s}: {len(r)} record(s)" for s, r in records.items()),
        trigger,
        len(proposal.changes),
        base_version,
    )
    if base is not None and not proposal.changes:
        return {
            "status": "unchanged",
            "project": project,
            "ontology": ontology,
            "version": base_version,
        }
    run_context = get_run_context()
    flow_run = getattr(run_context, "flow_run", None)
    answer = submit(
        project,
        ontology,
        to_turtle(result.model),
        base_version,
        str(flow_run.id) if flow_run else "",
    )
    lines = [f"# Ontology extraction for `{project}` / `{ontology}`: {answer.get('status')}", ""]
    lines += [f"- {change.summary}" for change in proposal.changes[:200]]
    try:
        create_markdown_artifact(
            markdown="\n".join(lines),
            key=f"ontology-{project}-{ontology}"[:100],
            description="Changes the extraction found",
        )
    except Exception as exc:  # a summary must never change the run's outcome
        logger.warning("could not publish the extraction summary: %s", exc)
    return answer


def start_extraction(
    project: str,
    storage_url: str,
    ontology: str = DEFAULT_ONTOLOGY,
    trigger: str = "api",
    started_by: str | None = None,
) -> FlowRun:
    """Create a run of the `extract-ontology/mimir` deployment and return at once.

    `started_by` (the id of the ingestion run that triggered it) becomes a tag, so the
    extraction links back to its cause as the ingestion's outcome links forward to it."""
    tags = [*project_tags(project, "extraction", trigger), "mimir-ontology"]
    if started_by:
        tags.append(f"{STARTED_BY_TAG}{started_by}")
    return start_deployment(
        f"{EXTRACT_FLOW_NAME}/{MIMIR_DEPLOYMENT}",
        {"project": project, "storage_url": storage_url, "ontology": ontology, "trigger": trigger},
        tags,
    )
