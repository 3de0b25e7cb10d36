"""`sync-twin`: check a twin's mappings against storage, record a sync point, emit an event.

The flow runs on a worker (no metadata DB): it opens the twin's view from the published
mappings (`twin.binding`), counts every class's rows, writes the sync point beside the
published ontologies and emits the Prefect event ``mimir.twin.synced`` (resource
``mimir.twin.<project>.<twin>``), which automations can react to. `start_sync` triggers the
deployment (from the API's `sync_twin`).
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.client.schemas.objects import FlowRun
from prefect.events import emit_event
from prefect.logging import get_run_logger

from flows.runs import MIMIR_DEPLOYMENT, project_tags, record_result, start_deployment
from twin.binding import open_twin_view, sync_point, write_sync_point

SYNC_FLOW_NAME = "sync-twin"
SYNCED_EVENT = "mimir.twin.synced"


@flow(name=SYNC_FLOW_NAME, log_prints=False)
def sync_twin(project: str, storage_url: str, twin: str, ontologies: list[str]) -> dict[str, Any]:
    """Check a twin's mappings against storage, record a sync point, emit `mimir.twin.synced`."""
    logger = get_run_logger()
    with open_twin_view(project, storage_url, ontologies) as view:
        point = sync_point(view)
    write_sync_point(storage_url, twin, point)
    emit_event(
        event=SYNCED_EVENT,
        resource={"prefect.resource.id": f"mimir.twin.{project}.{twin}",
                  "mimir.project": project, "mimir.twin": twin},
        payload=point,
    )
    logger.info("twin %s/%s synced: %s", project, twin, point["counts"])
    record_result(point, f"Twin {twin} synced")  # get_project_run shows the counts
    return point


def start_sync(project: str, storage_url: str, twin: str, ontologies: list[str],
               trigger: str = "api") -> FlowRun:
    """Create a run of the `sync-twin/mimir` deployment and return at once."""
    return start_deployment(
        f"{SYNC_FLOW_NAME}/{MIMIR_DEPLOYMENT}",
        {"project": project, "storage_url": storage_url, "twin": twin, "ontologies": ontologies},
        [*project_tags(project, "twin-sync", trigger), "mimir-twin"],
    )
