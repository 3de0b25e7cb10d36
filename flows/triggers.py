"""Triggers as Prefect automations: a condition on an event, an output pipeline's run as action.

Mimir has no loop of its own that watches for conditions. An automatic trigger is one Prefect
automation: its `EventTrigger` matches the event the condition describes — `mimir.alert.raised`
(emitted by the API when an alert is raised, with the project, class, attribute and severity as
resource labels), `mimir.model.degraded` (emitted by the monitor-model flow, with the model as
resource) or Prefect's own `prefect.flow-run.Completed` / `Failed` of a pipeline's
deployment — and its `RunDeployment` action starts the output pipeline's deployment with the
event under the pipeline parameter `trigger` (`params.trigger` in the YAML). Prefect renders
that parameter from the event (Jinja in its hydration format), so the run carries the alert
that caused it. The automation shows in the Prefect UI like any other.

`trigger_parameters` builds the same `trigger` value for a run Mimir starts itself (a manual
trigger's action, once a person approves it), so an output pipeline cannot tell the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.events.actions import RunDeployment
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.exceptions import ObjectNotFound

EVENT_ALERT_RAISED = "mimir.alert.raised"
EVENT_MODEL_DEGRADED = "mimir.model.degraded"
SEVERITIES = ("low", "medium", "high", "critical")
TRIGGER_PARAMETER = "trigger"
FLOW_RUN_EVENTS = {"completed": "prefect.flow-run.Completed", "failed": "prefect.flow-run.Failed"}


@dataclass(frozen=True)
class AlertMatch:
    """Which raised alerts a trigger reacts to."""

    project: str
    class_name: str | None
    attribute: str | None
    min_severity: str

    def severities(self) -> list[str]:
        """The severities at or above the minimum."""
        return list(SEVERITIES[SEVERITIES.index(self.min_severity) :])

    def matches(self, class_name: str, attribute: str | None, severity: str) -> bool:
        """The same test the automation's resource filter makes (for manual triggers)."""
        return (
            (self.class_name is None or self.class_name == class_name)
            and (self.attribute is None or self.attribute == attribute)
            and severity in self.severities()
        )


@dataclass(frozen=True)
class RunMatch:
    """Which pipeline runs a trigger reacts to: the ends of one deployment's runs."""

    deployment_id: str
    outcome: Literal["completed", "failed"]


@dataclass(frozen=True)
class DriftMatch:
    """Which models' degradation a trigger reacts to: one model, or any of the project's."""

    project: str
    model: str | None

    def resource(self) -> str:
        """The resource id `monitor-model` gives the model (`mimir.model.<project>.<model>`)."""
        return f"mimir.model.{self.project}.{self.model or '*'}"


Match = AlertMatch | RunMatch | DriftMatch


@dataclass(frozen=True)
class AutomationSpec:
    """What one trigger's automation needs."""

    trigger_id: str
    name: str
    project: str
    description: str
    condition: Match
    deployment_id: str


def _event_trigger(condition: Match) -> EventTrigger:
    if isinstance(condition, AlertMatch):
        match: dict[str, str | list[str]] = {
            "prefect.resource.id": "mimir.entity.*",
            "mimir.project": condition.project,
            "mimir.severity": condition.severities(),
        }
        if condition.class_name is not None:
            match["mimir.class"] = condition.class_name
        if condition.attribute is not None:
            match["mimir.attribute"] = condition.attribute
        return EventTrigger(
            expect={EVENT_ALERT_RAISED},
            match=match,
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        )
    if isinstance(condition, DriftMatch):
        # every degraded report fires: monitoring runs are what the user schedules, so each
        # one that finds drift is a new occurrence (a report per check, not per event burst)
        return EventTrigger(
            expect={EVENT_MODEL_DEGRADED},
            match={"prefect.resource.id": condition.resource(), "mimir.project": condition.project},
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        )
    return EventTrigger(
        expect={FLOW_RUN_EVENTS[condition.outcome]},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={
            "prefect.resource.role": "deployment",
            "prefect.resource.id": f"prefect.deployment.{condition.deployment_id}",
        },
        for_each={"prefect.resource.id"},
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(0),
    )


def _jinja(template: str) -> dict[str, str]:
    return {"__prefect_kind": "jinja", "template": template}


def _templated_trigger(name: str) -> dict[str, Any]:
    """`params.trigger`, rendered by Prefect from the event that fired the automation."""
    return {
        "name": name,
        "event": _jinja("{{ event.event }}"),
        "event_id": _jinja("{{ event.id }}"),
        "occurred": _jinja("{{ event.occurred }}"),
        "resource": _jinja("{{ event.resource.id }}"),
        "payload": {"__prefect_kind": "json", "value": _jinja("{{ event.payload | tojson }}")},
    }


def trigger_parameters(
    name: str, event: str, resource: str, payload: dict[str, Any], occurred: str
) -> dict[str, Any]:
    """`params.trigger` for a run Mimir starts itself (an approved manual action)."""
    return {
        "name": name,
        "event": event,
        "event_id": "",
        "occurred": occurred,
        "resource": resource,
        "payload": payload,
    }


def create_trigger_automation(spec: AutomationSpec) -> str:
    """Create the trigger's automation in Prefect; returns its id."""
    automation = AutomationCore(
        name=f"mimir: trigger {spec.name} ({spec.project})",
        description=(spec.description or f"Mimir trigger {spec.name} of project {spec.project}")
        + " — managed by Mimir; delete it with delete_trigger.",
        tags=["mimir", f"project:{spec.project}", "kind:trigger"],
        trigger=_event_trigger(spec.condition),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=UUID(spec.deployment_id),
                parameters={"parameters": {TRIGGER_PARAMETER: _templated_trigger(spec.name)}},
                job_variables=None,
            )
        ],
        owner_resource=f"mimir.trigger.{spec.trigger_id}",
    )
    with get_client(sync_client=True) as client:
        return str(client.create_automation(automation))


def delete_trigger_automation(automation_id: str) -> None:
    """Remove the trigger's automation (gone already is fine)."""
    with get_client(sync_client=True) as client:
        try:
            client.delete_automation(UUID(automation_id))
        except ObjectNotFound:
            return
