"""Detection that runs by itself: after ingestion runs, after twin syncs, on an interval.

Why a deployment per project: Prefect gives runs the tags of their deployment, and Mimir finds
a project's runs by tag (`list_project_runs`), so a run started by a schedule or an automation
must come from a deployment that carries the project's tags. The shared
`detect-anomalies/mimir` deployment serves the API's own starts (`run_anomaly_detection`),
which tag each run; this module keeps one more deployment, `detect-anomalies/auto-<project>`,
holding the project's settings as its default parameters and

* an interval schedule (`every_minutes`),
* a Prefect automation per event kind in `run_after` — `ingestion`: Prefect's own
  `prefect.flow-run.Completed` of a flow run tagged `project:<project>` and `type:ingestion`
  (every pipeline run carries its deployment's tags); `sync`: `mimir.twin.synced` of any of
  the project's twins — whose action runs this deployment.

The automations are owned by the deployment (`owner_resource`), so deleting the deployment
deletes them. Mimir runs no loop of its own; `upsert_auto_detection` replaces everything when
the settings change, `remove_auto_detection` when the project goes or nothing is automatic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.schedules import IntervalSchedule
from prefect.events.actions import RunDeployment
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.exceptions import ObjectNotFound
from prefect.utilities.callables import parameter_schema

from flows.anomaly_flow import DETECT_FLOW_NAME, detect_anomalies
from flows.deploy import PULL_STEPS, SOURCE_ROOT
from flows.twin_flow import SYNCED_EVENT

AutoEvent = Literal["ingestion", "sync"]
ENTRYPOINT = "flows/anomaly_flow.py:detect_anomalies"


@dataclass(frozen=True)
class AutoDetection:
    """What runs detection by itself for one project."""

    project: str
    storage_url: str
    work_pool: str
    settings: dict[str, Any]
    run_after: tuple[AutoEvent, ...]
    every_minutes: int | None

    @property
    def wanted(self) -> bool:
        """Whether anything is automatic at all."""
        return bool(self.run_after) or self.every_minutes is not None


def deployment_name(project: str) -> str:
    """`auto-<project>`: never the shared deployment's name `mimir`."""
    return f"auto-{project}"


def _event_trigger(project: str, event: AutoEvent) -> EventTrigger:
    if event == "sync":
        return EventTrigger(
            expect={SYNCED_EVENT},
            match={"prefect.resource.id": f"mimir.twin.{project}.*", "mimir.project": project},
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        )
    return EventTrigger(
        expect={"prefect.flow-run.Completed"},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related=[  # both tags (every pipeline run carries its deployment's tags)
            {"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{tag}"}
            for tag in (f"project:{project}", "type:ingestion")
        ],
        for_each={"prefect.resource.id"},
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(0),
    )


def _find(client: SyncPrefectClient, project: str) -> UUID | None:
    try:
        found = client.read_deployment_by_name(f"{DETECT_FLOW_NAME}/{deployment_name(project)}")
    except ObjectNotFound:
        return None
    return found.id


def upsert_auto_detection(auto: AutoDetection) -> str | None:
    """Create or replace the project's automatic detection; returns its deployment id (None
    when nothing is automatic, after removing what there was)."""
    if not auto.wanted:
        remove_auto_detection(auto.project)
        return None
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(DETECT_FLOW_NAME)
        deployment_id = client.create_deployment(
            flow_id=flow_id,
            name=deployment_name(auto.project),
            description=f"Anomaly detection of project {auto.project}, started by its schedule "
            "and automations — managed by Mimir (set_detection_settings).",
            work_pool_name=auto.work_pool,
            entrypoint=ENTRYPOINT,
            path=str(SOURCE_ROOT),
            pull_steps=PULL_STEPS,
            parameters={
                "project": auto.project,
                "storage_url": auto.storage_url,
                "settings": auto.settings,
                "trigger": "automatic",
            },
            parameter_openapi_schema=parameter_schema(detect_anomalies).model_dump_for_openapi(),
            enforce_parameter_schema=False,
            job_variables={"mimir_project": auto.project, "mimir_kind": "anomalies"},
            # the tags every run inherits: list_project_runs finds them (kind anomalies)
            tags=["mimir", "mimir-anomalies", f"project:{auto.project}", "kind:anomalies",
                  "via:automatic"],
        )
        for existing in client.read_deployment_schedules(deployment_id):
            client.delete_deployment_schedule(deployment_id, existing.id)
        if auto.every_minutes is not None:
            client.create_deployment_schedules(deployment_id, [DeploymentScheduleCreate(
                schedule=IntervalSchedule(interval=timedelta(minutes=auto.every_minutes)),
                active=True,
            )])
        owner = f"prefect.deployment.{deployment_id}"
        client.delete_resource_owned_automations(owner)
        for event in auto.run_after:
            client.create_automation(AutomationCore(
                name=f"mimir: detect anomalies after {event} ({auto.project})",
                description=f"Runs anomaly detection of project {auto.project} after each "
                f"{'completed ingestion pipeline run' if event == 'ingestion' else 'twin sync'}"
                " — managed by Mimir (set_detection_settings).",
                tags=["mimir", f"project:{auto.project}", "kind:auto-detection"],
                trigger=_event_trigger(auto.project, event),
                actions=[RunDeployment(source="selected", deployment_id=deployment_id,
                                       parameters=None, job_variables=None)],
                owner_resource=owner,
            ))
    return str(deployment_id)


def remove_auto_detection(project: str) -> bool:
    """Delete the project's automatic detection (deployment, schedule, automations); False
    when there was none."""
    with get_client(sync_client=True) as client:
        deployment_id = _find(client, project)
        if deployment_id is None:
            return False
        client.delete_resource_owned_automations(f"prefect.deployment.{deployment_id}")
        try:
            client.delete_deployment(deployment_id)
        except ObjectNotFound:
            return False
    return True
