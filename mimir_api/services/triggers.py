"""Triggers: a condition plus an output pipeline to run, automatically or once a person approves.

An **automatic** trigger is a Prefect automation (`flows.triggers`): Prefect's event system
matches the condition's event and starts the output pipeline's deployment with the event as
`params.trigger`; Mimir runs no loop of its own. A **manual** trigger has no automation: when an
alert is raised, `hold_manual_actions` (called by `submit_anomalies` in the same transaction)
records one pending action per matching manual trigger on the alert; `approve_alert` starts
those runs (same `params.trigger` shape) and `reject_alert` drops them. Manual approval is for
alert conditions only: a pipeline-run condition has no alert a person could approve.

Creating a trigger refuses, naming the field: a missing pipeline, a pipeline that is not an
output pipeline or does not declare the `trigger` object parameter, an unknown class or
attribute, and a cycle (pipeline-run triggers whose runs would start each other forever).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, col, select

from domain.published import published
from flows.pipeline.deployments import start_run
from flows.pipeline.loader import load_plain_yaml
from flows.runs import project_tags
from flows.triggers import (
    EVENT_ALERT_RAISED,
    TRIGGER_PARAMETER,
    AlertMatch,
    AutomationSpec,
    DriftMatch,
    Match,
    RunMatch,
    create_trigger_automation,
    delete_trigger_automation,
    trigger_parameters,
)
from mimir_api.core.errors import Conflict, InvalidInput, NotFound, unavailable_on_failure
from mimir_api.core.security import Scope
from mimir_api.db.models import (
    AlertActionRecord,
    AlertRecord,
    MLModel,
    Pipeline,
    PipelineVersion,
    Project,
    TriggerRecord,
    as_utc,
    utcnow,
)
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import ModelName, PipelineName, ProjectName, StrictInput
from mimir_api.services.project_access import project_row
from mimir_api.services.registry import operation
from ml.anomaly_data import numeric_attribute_names

TAGS = ("triggers",)
BASE = "/projects/{project}"
Severity = Literal["low", "medium", "high", "critical"]
TriggerName = Annotated[
    str, Field(pattern=r"^[a-z][a-z0-9-]{0,62}$", description="Trigger name (a-z, 0-9, -).")
]


class AlertRaisedCondition(BaseModel):
    """An alert is raised (a new one: recurrences of a live alert raise nothing)."""

    kind: Literal["alert_raised"] = Field(description="Condition kind.")
    class_name: str | None = Field(
        default=None, max_length=255, description="Only alerts on entities of this class."
    )
    attribute: str | None = Field(
        default=None,
        max_length=255,
        description="Only alerts whose strongest anomaly is on this attribute.",
    )
    min_severity: Severity = Field(default="low", description="Only alerts at least this severe.")


class PipelineRunCondition(BaseModel):
    """A run of one of the project's pipelines ended."""

    kind: Literal["pipeline_run"] = Field(description="Condition kind.")
    pipeline: PipelineName = Field(description="The pipeline whose runs are watched.")
    outcome: Literal["completed", "failed"] = Field(
        default="completed", description="Which ending fires the trigger."
    )


class ModelDriftCondition(BaseModel):
    """A model monitoring run (monitor_model) found the model degraded: drifted inputs or
    predictions, or a metric drop on labelled rows."""

    kind: Literal["model_drift"] = Field(description="Condition kind.")
    model: ModelName | None = Field(
        default=None, description="The model watched; none: every model of the project."
    )


Condition = Annotated[
    AlertRaisedCondition | PipelineRunCondition | ModelDriftCondition,
    Field(discriminator="kind"),
]


class TriggerCreate(StrictInput):
    """Input of create_trigger."""

    project: ProjectName
    name: TriggerName
    description: str = Field(default="", max_length=1000, description="What it is for.")
    condition: Condition = Field(description="When it fires.")
    pipeline: PipelineName = Field(
        description="The output pipeline it runs (it must declare `trigger: {type: object}`)."
    )
    approval: Literal["automatic", "manual"] = Field(
        default="automatic",
        description="automatic: a Prefect automation runs the pipeline; manual: the alert "
        "holds the action until approve_alert.",
    )


class TriggerRef(StrictInput):
    """Input of get_trigger and delete_trigger."""

    project: ProjectName
    name: TriggerName


class TriggerQuery(StrictInput):
    """Input of list_triggers."""

    project: ProjectName


class TriggerPublic(BaseModel):
    """A trigger as every surface shows it."""

    name: str = Field(description="Trigger name.")
    description: str = Field(description="What it is for.")
    condition: dict[str, Any] = Field(description="When it fires.")
    pipeline: str = Field(description="The output pipeline it runs.")
    approval: str = Field(description="automatic or manual.")
    automation_id: str | None = Field(
        description="The Prefect automation (automatic triggers only)."
    )
    created_by: str | None = Field(description="Who created it.")
    created_at: datetime = Field(description="Created (UTC).")

    _utc = field_validator("created_at")(as_utc)


class TriggerList(BaseModel):
    """A project's triggers, by name."""

    items: list[TriggerPublic] = Field(description="Triggers.")


class TriggerDeleted(BaseModel):
    """What delete_trigger removed."""

    name: str = Field(description="The trigger.")
    automation_deleted: bool = Field(description="Whether a Prefect automation was removed.")


def _public(row: TriggerRecord) -> TriggerPublic:
    return TriggerPublic(**row.model_dump(exclude={"id", "project_id"}))


def _pipeline(session: Session, project: Project, name: str, field: str) -> Pipeline:
    row = session.exec(
        select(Pipeline).where(Pipeline.project_id == project.id, Pipeline.name == name)
    ).first()
    if row is None:
        raise InvalidInput(f"project '{project.name}' has no pipeline '{name}'", field=field)
    if row.deployment_id is None:
        raise InvalidInput(f"pipeline '{name}' has no Prefect deployment", field=field)
    return row


def _check_output(session: Session, pipeline: Pipeline) -> None:
    """The target must be an output pipeline that accepts `params.trigger`."""
    if pipeline.type != "output":
        raise InvalidInput(
            f"pipeline '{pipeline.name}' is a {pipeline.type} pipeline; a trigger runs output "
            "pipelines only",
            field="pipeline",
        )
    text = session.exec(
        select(PipelineVersion.yaml).where(
            PipelineVersion.pipeline_id == pipeline.id,
            PipelineVersion.version == pipeline.current_version,
        )
    ).first()
    document = load_plain_yaml(text or "") or {}
    declared = (document.get("parameters") or {}).get(TRIGGER_PARAMETER) or {}
    if not isinstance(declared, dict) or declared.get("type") != "object":
        raise InvalidInput(
            f"pipeline '{pipeline.name}' must declare the parameter "
            f"`{TRIGGER_PARAMETER}: {{type: object}}` to receive what fired the trigger "
            f"(params.{TRIGGER_PARAMETER})",
            field="pipeline",
        )


def _check_alert_condition(project: Project, condition: AlertRaisedCondition) -> None:
    """Class and attribute must exist in the accepted ontologies (numeric, for attributes)."""
    if condition.class_name is None:
        if condition.attribute is not None:
            raise InvalidInput("an attribute needs its class_name", field="condition.class_name")
        return
    classes = {cm.name: e for e in published(project.storage_url) for cm in e.mapping.classes}
    holder = classes.get(condition.class_name)
    if holder is None:
        known = ", ".join(sorted(classes)) or "(none: no accepted ontology yet)"
        raise InvalidInput(
            f"unknown class {condition.class_name!r}; known: {known}",
            field="condition.class_name",
        )
    if condition.attribute is not None:
        numeric = numeric_attribute_names(holder.mapping, condition.class_name)
        if condition.attribute not in numeric:
            raise InvalidInput(
                f"{condition.class_name} has no numeric attribute {condition.attribute!r} "
                f"(numeric: {', '.join(numeric) or 'none'})",
                field="condition.attribute",
            )


def _check_model(session: Session, project: Project, model: str | None) -> None:
    """A watched model must exist (a trigger on any model is fine with none yet)."""
    if model is None:
        return
    if session.exec(
        select(MLModel).where(MLModel.project_id == project.id, MLModel.name == model)
    ).first() is None:
        known = session.exec(
            select(MLModel.name).where(MLModel.project_id == project.id).order_by(
                col(MLModel.name))
        ).all()
        raise InvalidInput(
            f"project '{project.name}' has no model {model!r}; models: "
            f"{', '.join(known) or '(none yet: train_model first)'}",
            field="condition.model",
        )


def _check_no_cycle(session: Session, project: Project, source: str, target: str) -> None:
    """Refuse an edge source → target when target's runs already lead back to source."""
    edges: dict[str, set[str]] = {}
    for row in session.exec(select(TriggerRecord).where(TriggerRecord.project_id == project.id)):
        if row.condition.get("kind") == "pipeline_run":
            edges.setdefault(row.condition["pipeline"], set()).add(row.pipeline)
    edges.setdefault(source, set()).add(target)
    path, seen = [target], {target}
    stack: list[tuple[str, list[str]]] = [(target, path)]
    while stack:
        node, trail = stack.pop()
        if node == source:
            chain = " → ".join([source, *trail])
            raise InvalidInput(
                f"cycle: {chain} (each run would start the next forever)",
                field="condition.pipeline",
            )
        for nxt in edges.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*trail, nxt]))


@operation(method="POST", path=BASE + "/triggers", scope=Scope.WRITE, status_code=201, tags=TAGS)
def create_trigger(ctx: ServiceContext, params: TriggerCreate) -> TriggerPublic:
    """Create a trigger: when the condition holds, run the output pipeline (automatic: through
    a Prefect automation; manual: after approve_alert)."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        if session.exec(
            select(TriggerRecord).where(
                TriggerRecord.project_id == project.id, TriggerRecord.name == params.name
            )
        ).first():
            raise Conflict(f"trigger '{params.name}' already exists", field="name")
        target = _pipeline(session, project, params.pipeline, "pipeline")
        _check_output(session, target)
        condition = params.condition
        match: Match
        if isinstance(condition, AlertRaisedCondition):
            _check_alert_condition(project, condition)
            match = AlertMatch(
                project=params.project,
                class_name=condition.class_name,
                attribute=condition.attribute,
                min_severity=condition.min_severity,
            )
        elif params.approval == "manual":
            raise InvalidInput(
                "manual approval needs an alert to approve; "
                f"{condition.kind} conditions are automatic only",
                field="approval",
            )
        elif isinstance(condition, ModelDriftCondition):
            _check_model(session, project, condition.model)
            match = DriftMatch(project=params.project, model=condition.model)
        else:
            source = _pipeline(session, project, condition.pipeline, "condition.pipeline")
            _check_no_cycle(session, project, source.name, target.name)
            match = RunMatch(deployment_id=str(source.deployment_id), outcome=condition.outcome)
        row = TriggerRecord(
            id=uuid.uuid4().hex,
            project_id=project.id,
            name=params.name,
            description=params.description,
            condition=condition.model_dump(mode="json"),
            pipeline=target.name,
            approval=params.approval,
            created_by=ctx.actor.name[:128],
        )
        if params.approval == "automatic":
            with unavailable_on_failure("Prefect could not create the trigger's automation"):
                row.automation_id = create_trigger_automation(
                    AutomationSpec(
                        trigger_id=row.id,
                        name=params.name,
                        project=params.project,
                        description=params.description,
                        condition=match,
                        deployment_id=str(target.deployment_id),
                    )
                )
        session.add(row)
        try:
            session.commit()
        except Exception:
            if row.automation_id:
                delete_trigger_automation(row.automation_id)
            raise
        session.refresh(row)
        return _public(row)


def _trigger(session: Session, params: TriggerRef) -> TriggerRecord:
    project = project_row(session, params.project)
    row = session.exec(
        select(TriggerRecord).where(
            TriggerRecord.project_id == project.id, TriggerRecord.name == params.name
        )
    ).first()
    if row is None:
        raise NotFound(f"project '{params.project}' has no trigger '{params.name}'", field="name")
    return row


@operation(method="GET", path=BASE + "/triggers", scope=Scope.READ, tags=TAGS)
def list_triggers(ctx: ServiceContext, params: TriggerQuery) -> TriggerList:
    """The project's triggers, by name."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        rows = session.exec(
            select(TriggerRecord)
            .where(TriggerRecord.project_id == project.id)
            .order_by(col(TriggerRecord.name))
        ).all()
        return TriggerList(items=[_public(row) for row in rows])


@operation(method="GET", path=BASE + "/triggers/{name}", scope=Scope.READ, tags=TAGS)
def get_trigger(ctx: ServiceContext, params: TriggerRef) -> TriggerPublic:
    """One trigger."""
    with ctx.session() as session:
        return _public(_trigger(session, params))


@operation(
    method="DELETE",
    path=BASE + "/triggers/{name}",
    scope=Scope.WRITE,
    destructive=True,
    idempotent=True,
    tags=TAGS,
)
def delete_trigger(ctx: ServiceContext, params: TriggerRef) -> TriggerDeleted:
    """Delete a trigger and its Prefect automation (pending manual actions go with it)."""
    with ctx.session() as session:
        row = _trigger(session, params)
        if row.automation_id:
            with unavailable_on_failure("Prefect could not delete the trigger's automation"):
                delete_trigger_automation(row.automation_id)
        for action in session.exec(
            select(AlertActionRecord).where(AlertActionRecord.trigger_id == row.id)
        ).all():
            session.delete(action)
        session.delete(row)
        session.commit()
        return TriggerDeleted(name=params.name, automation_deleted=row.automation_id is not None)


# ---- manual triggers: actions held on alerts ----------------------------------------------


def alert_payload(project: str, alert: AlertRecord, attribute: str | None) -> dict[str, Any]:
    """What `mimir.alert.raised` carries (and `params.trigger.payload` therefore holds)."""
    return {
        "project": project,
        "alert_id": alert.id,
        "rule": alert.rule,
        "entity": alert.entity,
        "class_name": alert.class_name,
        "attribute": attribute,
        "severity": alert.severity,
        "score": alert.score,
        "summary": alert.summary[:1000],
    }


def hold_manual_actions(
    session: Session, project: Project, raised: list[tuple[AlertRecord, str | None]]
) -> int:
    """Record a pending action on each new alert for every manual trigger it matches (in the
    caller's transaction); returns how many were held."""
    if not raised:
        return 0
    manual = session.exec(
        select(TriggerRecord).where(
            TriggerRecord.project_id == project.id, TriggerRecord.approval == "manual"
        )
    ).all()
    held = 0
    for trigger in manual:
        condition = AlertRaisedCondition.model_validate(trigger.condition)
        match = AlertMatch(
            project=project.name,
            class_name=condition.class_name,
            attribute=condition.attribute,
            min_severity=condition.min_severity,
        )
        for alert, attribute in raised:
            if not match.matches(alert.class_name, attribute, alert.severity):
                continue
            parameters = {
                TRIGGER_PARAMETER: trigger_parameters(
                    trigger.name,
                    EVENT_ALERT_RAISED,
                    f"mimir.entity.{alert.entity}",
                    alert_payload(project.name, alert, attribute),
                    as_utc(alert.first_seen).isoformat(),
                )
            }
            session.add(
                AlertActionRecord(
                    id=uuid.uuid4().hex,
                    alert_id=alert.id,
                    trigger_id=trigger.id,
                    pipeline=trigger.pipeline,
                    parameters=parameters,
                    state="pending",
                )
            )
            held += 1
    return held


class AlertDecisionRef(StrictInput):
    """Input of approve_alert, reject_alert and list_alert_actions."""

    project: ProjectName
    alert_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="The alert's id.")


class AlertActionPublic(BaseModel):
    """An action a manual trigger holds on an alert."""

    id: str = Field(description="Action id.")
    trigger: str = Field(description="The manual trigger.")
    pipeline: str = Field(description="The output pipeline it runs.")
    state: Literal["pending", "approved", "rejected"] = Field(description="Where it stands.")
    flow_run_id: str | None = Field(description="The pipeline run, once approved.")
    created_at: datetime = Field(description="When the alert was raised (UTC).")
    decided_at: datetime | None = Field(description="When approved or rejected (UTC).")
    decided_by: str | None = Field(description="Who decided.")

    @field_validator("created_at", "decided_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class AlertActions(BaseModel):
    """The actions held on one alert."""

    alert_id: str = Field(description="The alert.")
    state: Literal["pending", "approved", "rejected", "none"] = Field(
        description="pending while any action waits; else the latest decision (none: no action)."
    )
    items: list[AlertActionPublic] = Field(description="Its actions, oldest first.")


def _actions(session: Session, params: AlertDecisionRef) -> list[AlertActionRecord]:
    project = project_row(session, params.project)
    alert = session.get(AlertRecord, params.alert_id)
    if alert is None or alert.project_id != project.id:
        raise NotFound(
            f"project '{params.project}' has no alert {params.alert_id}", field="alert_id"
        )
    return list(
        session.exec(
            select(AlertActionRecord)
            .where(AlertActionRecord.alert_id == alert.id)
            .order_by(col(AlertActionRecord.created_at))
        ).all()
    )


def _listing(session: Session, alert_id: str, rows: list[AlertActionRecord]) -> AlertActions:
    names = {
        t.id: t.name
        for t in session.exec(
            select(TriggerRecord).where(col(TriggerRecord.id).in_({r.trigger_id for r in rows}))
        )
    }
    decided = [r for r in rows if r.decided_at is not None]
    state = (
        "pending"
        if any(r.state == "pending" for r in rows)
        else max(decided, key=lambda r: as_utc(r.decided_at)).state  # type: ignore[arg-type]
        if decided
        else "none"
    )
    return AlertActions(
        alert_id=alert_id,
        state=state,  # type: ignore[arg-type]
        items=[
            AlertActionPublic(
                **row.model_dump(exclude={"alert_id", "trigger_id", "parameters"}),
                trigger=names.get(row.trigger_id, "?"),
            )
            for row in rows
        ],
    )


@operation(method="GET", path=BASE + "/alerts/{alert_id}/actions", scope=Scope.READ, tags=TAGS)
def list_alert_actions(ctx: ServiceContext, params: AlertDecisionRef) -> AlertActions:
    """The actions manual triggers hold on an alert (pending, approved or rejected)."""
    with ctx.session() as session:
        return _listing(session, params.alert_id, _actions(session, params))


def _pending(session: Session, params: AlertDecisionRef) -> list[AlertActionRecord]:
    rows = _actions(session, params)
    pending = [row for row in rows if row.state == "pending"]
    if not pending:
        raise InvalidInput(
            f"alert {params.alert_id} has no pending action (no manual trigger matched it, or "
            "it was decided already)",
            field="alert_id",
        )
    return pending


@operation(method="POST", path=BASE + "/alerts/{alert_id}/approve", scope=Scope.WRITE, tags=TAGS)
def approve_alert(ctx: ServiceContext, params: AlertDecisionRef) -> AlertActions:
    """Run the output pipelines that manual triggers hold on the alert (with the alert as
    `params.trigger`)."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        for action in _pending(session, params):
            target = _pipeline(session, project, action.pipeline, "alert_id")
            tags = [*project_tags(params.project, "pipeline", f"approved:{ctx.actor.name}")]
            with unavailable_on_failure(f"Prefect could not start pipeline {action.pipeline}"):
                flow_run = start_run(
                    str(target.deployment_id), action.parameters, [*tags, "mimir-pipeline"]
                )
            action.state = "approved"
            action.flow_run_id = str(flow_run.id)
            action.decided_at = utcnow()
            action.decided_by = ctx.actor.name[:128]
            session.add(action)
            session.commit()
        return _listing(session, params.alert_id, _actions(session, params))


@operation(
    method="POST",
    path=BASE + "/alerts/{alert_id}/reject",
    scope=Scope.WRITE,
    tags=TAGS,
)
def reject_alert(ctx: ServiceContext, params: AlertDecisionRef) -> AlertActions:
    """Drop the actions manual triggers hold on the alert; nothing runs."""
    with ctx.session() as session:
        for action in _pending(session, params):
            action.state = "rejected"
            action.decided_at = utcnow()
            action.decided_by = ctx.actor.name[:128]
            session.add(action)
        session.commit()
        return _listing(session, params.alert_id, _actions(session, params))


# ---- what other services ask of triggers ----------------------------------------------------


def triggers_naming(session: Session, project_id: str, pipeline: str) -> list[str]:
    """Names of the project's triggers that run `pipeline` or watch its runs."""
    rows = session.exec(select(TriggerRecord).where(TriggerRecord.project_id == project_id))
    return sorted(
        row.name
        for row in rows
        if row.pipeline == pipeline or row.condition.get("pipeline") == pipeline
    )


def triggers_watching_model(session: Session, project_id: str, model: str) -> list[str]:
    """Names of the project's triggers that watch `model` for drift by name."""
    rows = session.exec(select(TriggerRecord).where(TriggerRecord.project_id == project_id))
    return sorted(
        row.name
        for row in rows
        if row.condition.get("kind") == "model_drift" and row.condition.get("model") == model
    )


def remove_project_automations(session: Session, project: Project) -> None:
    """Delete the Prefect automations of every trigger of `project` (before it is deleted;
    the rows go with the project)."""
    rows = session.exec(select(TriggerRecord).where(TriggerRecord.project_id == project.id))
    for row in rows:
        if row.automation_id:
            with unavailable_on_failure(f"could not remove trigger '{row.name}' from Prefect"):
                delete_trigger_automation(row.automation_id)


def check_trigger_target(
    session: Session, project_id: str, pipeline: str, kind: str, parameters: dict[str, Any]
) -> None:
    """Refuse a new version of a pipeline that triggers run unless it still is an output
    pipeline taking `params.trigger` (an object)."""
    running = sorted(
        row.name
        for row in session.exec(
            select(TriggerRecord).where(
                TriggerRecord.project_id == project_id, TriggerRecord.pipeline == pipeline
            )
        )
    )
    declared = parameters.get(TRIGGER_PARAMETER)
    if running and (kind != "output" or getattr(declared, "type", None) != "object"):
        raise InvalidInput(
            f"trigger(s) {', '.join(running)} run pipeline '{pipeline}': it must stay an output "
            f"pipeline declaring `{TRIGGER_PARAMETER}: {{type: object}}` (delete the triggers "
            "first to change that)",
            field="yaml",
        )
