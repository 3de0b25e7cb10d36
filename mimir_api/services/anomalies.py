"""Anomalies and alerts: start detection, receive its findings, raise each alert once.

`run_anomaly_detection` starts the `detect-anomalies` flow with the project's settings; the
flow runs on a worker without the metadata DB and posts what it found (`submit_anomalies`).
Here every anomaly is stored, and each condition — rule (`anomaly:<class>`) + entity, the
`dedup_key` — becomes at most one live alert: a condition seen again updates its alert
(`occurrences`, `last_seen`, the highest score); a resolved alert's condition raises a new
alert only after the cooldown has passed. A new alert emits the Prefect event
`mimir.alert.raised` with the entity as resource, so Prefect automations can act on it;
`list_events` shows recent `mimir.*` events from Prefect's events API.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.events.filters import (
    EventFilter,
    EventNameFilter,
    EventOccurredFilter,
    EventOrder,
    EventResourceFilter,
)
from prefect.events.schemas.events import ResourceSpecification
from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, col, func, select

from domain.published import published
from flows.anomaly_flow import (
    DETECT_FLOW_NAME,
    DetectionConfig,
    detection_classes,
    start_detection,
)
from flows.auto_detection import AutoDetection, upsert_auto_detection
from flows.rules import ModelFacts, RuleInvalid, check_rules
from flows.triggers import EVENT_ALERT_RAISED
from mimir_api.core.errors import InvalidInput, NotFound, unavailable_on_failure
from mimir_api.core.security import Scope
from mimir_api.db.models import (
    AlertActionRecord,
    AlertRecord,
    AnomalyRecord,
    AnomalySettingsRecord,
    MLModel,
    MLModelVersion,
    Project,
    as_utc,
    utcnow,
)
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import ProjectName, ProjectOnly, StrictInput
from mimir_api.services.project_access import project_row
from mimir_api.services.registry import operation
from mimir_api.services.runs import RunStarted, started
from mimir_api.services.triggers import alert_payload, hold_manual_actions
from ml.anomalies import Method
from ml.anomaly_data import candidate_groupings, numeric_attribute_names

TAGS = ("anomalies",)
BASE = "/projects/{project}"
MAX_SUBMITTED = 50_000
RULE_METHOD = r"^rule:[A-Za-z0-9][A-Za-z0-9_.-]{0,26}$"
METHOD_FILTER = "^(" + "|".join(re.escape(m) for m in get_args(Method)) + \
    "|rule:[A-Za-z0-9][A-Za-z0-9_.-]{0,26})$"  # a statistical method or one rule's hits
AlertState = Literal["open", "acknowledged", "resolved"]
Severity = Literal["low", "medium", "high", "critical"]


# ---- settings -------------------------------------------------------------------------------


class DetectionSettingsPublic(DetectionConfig):
    """A project's detection settings (defaults where nothing was set)."""


class DetectionSettingsSet(DetectionConfig):
    """Input of set_detection_settings: the whole settings document (omitted = default)."""

    project: ProjectName


def _stored_settings(session: Session, project: Project) -> DetectionConfig:
    row = session.get(AnomalySettingsRecord, project.id)
    return DetectionConfig.model_validate(row.settings if row else {})


def _model_facts(session: Session, project: Project) -> dict[str, ModelFacts]:
    """The project's models as rules on their predictions are checked against: the task from
    the spec, or (task auto) from the newest trained version's card, with its labels."""
    facts = {}
    for model in session.exec(select(MLModel).where(MLModel.project_id == project.id)).all():
        card = session.exec(
            select(MLModelVersion.card)
            .where(MLModelVersion.model_id == model.id, col(MLModelVersion.card).is_not(None))
            .order_by(col(MLModelVersion.version).desc())
        ).first() or {}
        task = model.spec.get("task")
        task = task if task in ("classification", "regression") else card.get("task")
        labels = (card.get("classes") or []) if task == "classification" else []
        facts[model.name] = ModelFacts(
            ontology=model.ontology,
            entity_class=str(model.spec.get("entity_class", "")),
            task=task if task in ("classification", "regression") else None,
            labels=tuple(str(label) for label in labels),
        )
    return facts


def _check_settings(
    storage_url: str, config: DetectionConfig, models: dict[str, ModelFacts]
) -> None:
    """Refuse classes, attributes, groupings and models the project does not have."""
    entries = published(storage_url)
    try:
        detection_classes(entries, config)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="classes") from None
    try:
        check_rules(entries, list(config.rules), models)
    except RuleInvalid as exc:
        raise InvalidInput(str(exc), field=exc.field) from None
    by_name = {cm.name: entry for entry in entries for cm in entry.mapping.classes}
    for field, per_class in (("attributes", config.attributes), ("groupings", config.groupings)):
        for class_name, wanted in per_class.items():
            holder = by_name.get(class_name)
            if holder is None:
                known = ", ".join(sorted(by_name)) or "(none)"
                raise InvalidInput(
                    f"unknown class {class_name!r}; known: {known}", field=f"{field}.{class_name}"
                )
            if field == "attributes":
                numeric = numeric_attribute_names(holder.mapping, class_name)
                unknown = sorted(set(wanted) - set(numeric))
                if unknown:
                    raise InvalidInput(
                        f"{class_name} has no numeric attribute {', '.join(unknown)} "
                        f"(numeric: {', '.join(numeric) or 'none'})",
                        field=f"attributes.{class_name}",
                    )
            else:
                groupings = candidate_groupings(holder.mapping, class_name)
                if wanted not in groupings:
                    raise InvalidInput(
                        f"unknown grouping {wanted!r} for {class_name} "
                        f"(known: {', '.join(groupings) or 'none'})",
                        field=f"groupings.{class_name}",
                    )


@operation(method="GET", path=BASE + "/anomalies/settings", scope=Scope.READ, tags=TAGS)
def get_detection_settings(ctx: ServiceContext, params: ProjectOnly) -> DetectionSettingsPublic:
    """The project's anomaly-detection settings (the defaults until some are set)."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        return DetectionSettingsPublic(**_stored_settings(session, project).model_dump())


@operation(
    method="PUT", path=BASE + "/anomalies/settings", scope=Scope.WRITE, idempotent=True, tags=TAGS
)
def set_detection_settings(
    ctx: ServiceContext, params: DetectionSettingsSet
) -> DetectionSettingsPublic:
    """Replace the project's detection settings: classes, attributes, groupings, methods,
    sensitivity, cooldown, rules, and when detection runs by itself (after ingestion runs or
    twin syncs, every N minutes). Names are checked against the accepted ontologies."""
    config = DetectionConfig(**params.model_dump(exclude={"project"}))
    config.run_after = list(dict.fromkeys(config.run_after))
    with ctx.session() as session:
        project = project_row(session, params.project)
        _check_settings(project.storage_url, config, _model_facts(session, project))
        row = session.get(AnomalySettingsRecord, project.id)
        if row is None:
            row = AnomalySettingsRecord(project_id=project.id, settings={})
        row.settings = config.model_dump(mode="json")
        row.updated_at = utcnow()
        session.add(row)
        # Prefect refusing: nothing is saved (the session closes uncommitted)
        with unavailable_on_failure("Prefect could not set up automatic detection"):
            upsert_auto_detection(AutoDetection(
                project=project.name, storage_url=project.storage_url,
                work_pool=ctx.settings.work_pool, settings=row.settings,
                run_after=tuple(config.run_after), every_minutes=config.every_minutes,
            ))
        session.commit()
    return DetectionSettingsPublic(**config.model_dump())


# ---- detection runs and the flow's hand-off -------------------------------------------------


@operation(
    method="POST", path=BASE + "/anomalies/runs", scope=Scope.WRITE, status_code=201, tags=TAGS
)
def run_anomaly_detection(ctx: ServiceContext, params: ProjectOnly) -> RunStarted:
    """Start the detect-anomalies flow with the project's settings; returns the flow-run id
    at once (follow it with get_project_run)."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        config = _stored_settings(session, project)
        storage_url = project.storage_url
    deployment = f"{DETECT_FLOW_NAME}/mimir"
    with unavailable_on_failure(
        f"Prefect could not start {deployment} (is `mimir up` running, or were Mimir's "
        "deployments registered with `mimir deploy`?)"
    ):
        flow_run = start_detection(
            params.project, storage_url, config.model_dump(mode="json"), f"api:{ctx.actor.name}"
        )
    return started(flow_run, deployment)


class AnomalyIn(BaseModel):
    """One anomaly as the flow reports it (`ml.anomalies.Anomaly.as_dict` + its class)."""

    class_name: str = Field(min_length=1, max_length=255)
    entity: str = Field(min_length=1, max_length=2048)
    attributes: list[str] = Field(min_length=1, max_length=200)
    value: float | list[float] | None
    score: float
    method: Method | Annotated[str, Field(pattern=RULE_METHOD)]
    group: str | None = Field(default=None, max_length=1024)
    expected_low: float | None = None
    expected_high: float | None = None
    explanation: str = Field(max_length=4000)


class AnomaliesSubmit(StrictInput):
    """Input of submit_anomalies (what the detect-anomalies flow posts)."""

    project: ProjectName
    run_id: str = Field(min_length=1, max_length=64, description="The detection's flow run.")
    anomalies: list[AnomalyIn] = Field(max_length=MAX_SUBMITTED, description="What it found.")


class AnomaliesSubmitted(BaseModel):
    """What became of a detection's findings."""

    stored: int = Field(description="Anomalies stored for the run.")
    alerts_raised: int = Field(description="New alerts.")
    alerts_updated: int = Field(description="Live alerts the same condition was seen on again.")
    alerts_suppressed: int = Field(description="Conditions of resolved alerts in cooldown.")


def severity_of(score: float, method: str, sensitivity: float) -> Severity:
    """How far past the threshold a score is (IsolationForest scores on their own scale)."""
    ratio = score / 0.15 if method == "isolation-forest" else score / sensitivity
    if ratio >= 3:
        return "critical"
    if ratio >= 2:
        return "high"
    if ratio >= 1.25:
        return "medium"
    return "low"


def _emit_raised(project: str, alert: AlertRecord, attribute: str | None) -> None:
    """Tell Prefect (automatic triggers are automations matching these labels); an unreachable
    event bus never loses the alert, which is already committed."""
    try:
        emit_event(
            event=EVENT_ALERT_RAISED,
            resource={
                "prefect.resource.id": f"mimir.entity.{alert.entity}",
                "prefect.resource.name": alert.entity[-200:],
                "mimir.project": project,
                "mimir.class": alert.class_name,
                "mimir.attribute": attribute or "",
                "mimir.severity": alert.severity,
            },
            related=[
                {
                    "prefect.resource.id": f"mimir.project.{project}",
                    "prefect.resource.role": "project",
                },
                {
                    "prefect.resource.id": f"mimir.alert.{alert.id}",
                    "prefect.resource.role": "alert",
                },
            ],
            payload=alert_payload(project, alert, attribute),
        )
    except Exception:  # the alert stands (list_alerts shows it) even if Prefect is away
        return


def _latest_alerts(session: Session, project_id: str, keys: list[str]) -> dict[str, AlertRecord]:
    latest: dict[str, AlertRecord] = {}
    for start in range(0, len(keys), 500):
        rows = session.exec(
            select(AlertRecord).where(
                AlertRecord.project_id == project_id,
                col(AlertRecord.dedup_key).in_(keys[start : start + 500]),
            )
        ).all()
        for row in rows:
            have = latest.get(row.dedup_key)
            if have is None or as_utc(row.first_seen) > as_utc(have.first_seen):
                latest[row.dedup_key] = row
    return latest


@operation(
    method="POST",
    path=BASE + "/anomalies/submissions",
    scope=Scope.WRITE,
    status_code=201,
    tags=TAGS,
)
def submit_anomalies(ctx: ServiceContext, params: AnomaliesSubmit) -> AnomaliesSubmitted:
    """Hand a detection's anomalies to Mimir (the detect-anomalies flow calls this): they are
    stored and become alerts, one per condition (rule + entity) however often it recurs."""
    now = utcnow()
    raised: list[tuple[AlertRecord, str | None]] = []
    updated = suppressed = 0
    with ctx.session() as session:
        project = project_row(session, params.project)
        config = _stored_settings(session, project)
        for old in session.exec(
            select(AnomalyRecord).where(
                AnomalyRecord.project_id == project.id, AnomalyRecord.run_id == params.run_id
            )
        ).all():
            session.delete(old)  # a retried hand-off replaces the run's rows
        strongest: dict[str, AnomalyIn] = {}
        for item in params.anomalies:
            session.add(
                AnomalyRecord(
                    id=uuid.uuid4().hex,
                    project_id=project.id,
                    run_id=params.run_id,
                    class_name=item.class_name,
                    entity=item.entity,
                    attributes=item.attributes,
                    value=item.value,
                    score=item.score,
                    method=item.method,
                    group_name=item.group,
                    expected_low=item.expected_low,
                    expected_high=item.expected_high,
                    explanation=item.explanation,
                    detected_at=now,
                )
            )
            key = f"{_rule_of(item)}|{item.entity}"
            have = strongest.get(key)
            severity = _severity(item, config)
            if have is None or _rank(severity) > _rank(_severity(have, config)):
                strongest[key] = item
        latest = _latest_alerts(session, project.id, list(strongest))
        for key, item in strongest.items():
            severity = _severity(item, config)
            alert = latest.get(key)
            if alert is not None and alert.state != "resolved":
                if alert.last_run_id != params.run_id:
                    alert.occurrences += 1
                alert.last_run_id = params.run_id
                alert.last_seen = now
                if _rank(severity) > _rank(alert.severity):  # keep the strongest evidence
                    alert.severity = severity
                    alert.score = item.score
                    alert.summary = item.explanation
                session.add(alert)
                updated += 1
                continue
            if alert is not None and alert.resolved_at is not None:
                quiet_until = as_utc(alert.resolved_at) + timedelta(seconds=alert.cooldown_s)
                if now < quiet_until:
                    suppressed += 1
                    continue
            new = AlertRecord(
                id=uuid.uuid4().hex,
                project_id=project.id,
                dedup_key=key,
                rule=_rule_of(item),
                entity=item.entity,
                class_name=item.class_name,
                severity=severity,
                state="open",
                score=item.score,
                summary=item.explanation,
                cooldown_s=config.cooldown_s,
                occurrences=1,
                last_run_id=params.run_id,
                first_seen=now,
                last_seen=now,
            )
            session.add(new)
            raised.append((new, item.attributes[0] if item.attributes else None))
        session.flush()
        hold_manual_actions(session, project, raised)
        session.commit()
        for alert, attribute in raised:
            session.refresh(alert)
            _emit_raised(params.project, alert, attribute)
    return AnomaliesSubmitted(
        stored=len(params.anomalies),
        alerts_raised=len(raised),
        alerts_updated=updated,
        alerts_suppressed=suppressed,
    )


def _rule_of(item: AnomalyIn) -> str:
    """The alert's rule: rule:<name> for a rule hit, anomaly:<class> for an anomaly."""
    return item.method if item.method.startswith("rule:") else f"anomaly:{item.class_name}"


def _severity(item: AnomalyIn, config: DetectionConfig) -> Severity:
    """A rule hit has its rule's severity (medium if the rule was removed since the run)."""
    if item.method.startswith("rule:"):
        rule = config.rule_named(item.method.removeprefix("rule:"))
        return rule.severity if rule is not None else "medium"
    return severity_of(item.score, item.method, config.sensitivity)


def _rank(severity: str) -> int:
    return ("low", "medium", "high", "critical").index(severity)


# ---- reading anomalies and alerts -----------------------------------------------------------


def _encode_cursor(after: str, name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after, "of": name}).encode()).decode()


def _decode_cursor(cursor: str, name: str) -> str:
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        after, of = document["after"], document["of"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidInput(f"not a cursor returned by {name}", field="cursor") from None
    if not isinstance(after, str) or of != name:
        raise InvalidInput(f"not a cursor returned by {name}", field="cursor")
    return after


class AnomalyQuery(StrictInput):
    """Input of list_anomalies."""

    project: ProjectName
    class_name: str | None = Field(default=None, max_length=255, description="Only this class.")
    run_id: str | None = Field(default=None, max_length=64, description="Only this run's.")
    method: str | None = Field(
        default=None,
        pattern=METHOD_FILTER,
        description="Only this method's: mad, series, isolation-forest, or rule:<name> (one "
        "rule's hits).",
    )
    kind: Literal["rule", "statistical"] | None = Field(
        default=None, description="Only rule hits (method rule:<name>) or only scored anomalies."
    )
    limit: int = Field(default=100, ge=1, le=1000, description="Page size.")
    cursor: str | None = Field(
        default=None, max_length=512, description="Opaque cursor from a previous page."
    )


class AnomalyPublic(BaseModel):
    """One stored anomaly with what it was judged against."""

    id: str
    run_id: str = Field(description="The detection run that found it.")
    class_name: str
    entity: str = Field(description="The entity's IRI.")
    attributes: list[str]
    value: float | list[float] | None
    score: float
    method: str
    group: str | None = Field(description="The peer group (e.g. sensor.kind=temperature).")
    expected_low: float | None
    expected_high: float | None
    explanation: str
    detected_at: datetime

    @field_validator("detected_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)


class AnomalyPage(BaseModel):
    """A page of anomalies, newest run first."""

    items: list[AnomalyPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


@operation(method="GET", path=BASE + "/anomalies", scope=Scope.READ, tags=TAGS)
def list_anomalies(ctx: ServiceContext, params: AnomalyQuery) -> AnomalyPage:
    """Stored anomalies and rule hits (filter by class, run, method or kind), one page at a
    time."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        query = select(AnomalyRecord).where(AnomalyRecord.project_id == project.id)
        if params.class_name:
            query = query.where(AnomalyRecord.class_name == params.class_name)
        if params.run_id:
            query = query.where(AnomalyRecord.run_id == params.run_id)
        if params.method:
            query = query.where(AnomalyRecord.method == params.method)
        if params.kind == "rule":
            query = query.where(col(AnomalyRecord.method).startswith("rule:"))
        elif params.kind == "statistical":
            query = query.where(col(AnomalyRecord.method).in_(get_args(Method)))
        if params.cursor:
            query = query.where(
                col(AnomalyRecord.id) > _decode_cursor(params.cursor, "list_anomalies")
            )
        rows = session.exec(query.order_by(col(AnomalyRecord.id)).limit(params.limit + 1)).all()
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return AnomalyPage(
        items=[
            AnomalyPublic(
                **row.model_dump(exclude={"project_id", "group_name"}), group=row.group_name
            )
            for row in rows
        ],
        next_cursor=_encode_cursor(rows[-1].id, "list_anomalies") if more and rows else None,
    )


class AlertQuery(StrictInput):
    """Input of list_alerts."""

    project: ProjectName
    state: AlertState | None = Field(default=None, description="Only alerts in this state.")
    class_name: str | None = Field(default=None, max_length=255, description="Only this class.")
    limit: int = Field(default=100, ge=1, le=1000, description="Page size.")
    cursor: str | None = Field(
        default=None, max_length=512, description="Opaque cursor from a previous page."
    )


class AlertRef(StrictInput):
    """Input of get_alert, acknowledge_alert and resolve_alert."""

    project: ProjectName
    alert_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="The alert's id.")


class AlertPublic(BaseModel):
    """An alert: one condition (rule + entity), however many runs saw it."""

    id: str
    dedup_key: str = Field(description="rule|entity: the same key never has two live alerts.")
    rule: str
    entity: str = Field(description="The entity's IRI.")
    class_name: str
    severity: Severity
    state: AlertState
    score: float
    summary: str = Field(description="The strongest anomaly's explanation.")
    occurrences: int = Field(description="Detection runs that saw the condition.")
    cooldown_s: int
    last_run_id: str
    first_seen: datetime
    last_seen: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    updated_by: str | None
    pending_actions: int = Field(
        default=0, description="Actions manual triggers hold on it (approve_alert runs them)."
    )

    @field_validator("first_seen", "last_seen", "acknowledged_at", "resolved_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class AlertPage(BaseModel):
    """A page of alerts."""

    items: list[AlertPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


def _public(row: AlertRecord, pending: int = 0) -> AlertPublic:
    return AlertPublic(**row.model_dump(exclude={"project_id"}), pending_actions=pending)


def _pending_counts(session: Session, alert_ids: list[str]) -> dict[str, int]:
    """How many pending manual actions each alert holds."""
    if not alert_ids:
        return {}
    rows = session.exec(
        select(AlertActionRecord.alert_id, func.count())
        .where(
            col(AlertActionRecord.alert_id).in_(alert_ids), AlertActionRecord.state == "pending"
        )
        .group_by(col(AlertActionRecord.alert_id))
    ).all()
    return {alert_id: count for alert_id, count in rows}


@operation(method="GET", path=BASE + "/alerts", scope=Scope.READ, tags=TAGS)
def list_alerts(ctx: ServiceContext, params: AlertQuery) -> AlertPage:
    """The project's alerts (filter by state and class), one page at a time."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        query = select(AlertRecord).where(AlertRecord.project_id == project.id)
        if params.state:
            query = query.where(AlertRecord.state == params.state)
        if params.class_name:
            query = query.where(AlertRecord.class_name == params.class_name)
        if params.cursor:
            query = query.where(col(AlertRecord.id) > _decode_cursor(params.cursor, "list_alerts"))
        rows = session.exec(query.order_by(col(AlertRecord.id)).limit(params.limit + 1)).all()
        more = len(rows) > params.limit
        rows = rows[: params.limit]
        pending = _pending_counts(session, [row.id for row in rows])
    return AlertPage(
        items=[_public(row, pending.get(row.id, 0)) for row in rows],
        next_cursor=_encode_cursor(rows[-1].id, "list_alerts") if more and rows else None,
    )


def _alert(session: Session, params: AlertRef) -> AlertRecord:
    project = project_row(session, params.project)
    row = session.get(AlertRecord, params.alert_id)
    if row is None or row.project_id != project.id:
        raise NotFound(
            f"project '{params.project}' has no alert {params.alert_id}", field="alert_id"
        )
    return row


@operation(method="GET", path=BASE + "/alerts/{alert_id}", scope=Scope.READ, tags=TAGS)
def get_alert(ctx: ServiceContext, params: AlertRef) -> AlertPublic:
    """One alert."""
    with ctx.session() as session:
        row = _alert(session, params)
        return _public(row, _pending_counts(session, [row.id]).get(row.id, 0))


def _move(ctx: ServiceContext, params: AlertRef, state: AlertState) -> AlertPublic:
    with ctx.session() as session:
        row = _alert(session, params)
        if row.state == "resolved" and state != "resolved":
            raise InvalidInput(
                f"alert {row.id} is resolved; a new occurrence after its cooldown raises a new "
                "alert",
                field="alert_id",
            )
        if row.state != state:
            now = utcnow()
            row.state = state
            if state == "acknowledged":
                row.acknowledged_at = now
            else:
                row.resolved_at = now
            row.updated_by = ctx.actor.name[:128]
            session.add(row)
            session.commit()
            session.refresh(row)
        return _public(row)


@operation(
    method="POST",
    path=BASE + "/alerts/{alert_id}/acknowledge",
    scope=Scope.WRITE,
    idempotent=True,
    tags=TAGS,
)
def acknowledge_alert(ctx: ServiceContext, params: AlertRef) -> AlertPublic:
    """Mark an open alert as seen by a person (it stays live: recurrences update it)."""
    return _move(ctx, params, "acknowledged")


@operation(
    method="POST",
    path=BASE + "/alerts/{alert_id}/resolve",
    scope=Scope.WRITE,
    idempotent=True,
    tags=TAGS,
)
def resolve_alert(ctx: ServiceContext, params: AlertRef) -> AlertPublic:
    """Close an alert; the same condition raises a new alert only after its cooldown."""
    return _move(ctx, params, "resolved")


# ---- events ---------------------------------------------------------------------------------


class EventQuery(StrictInput):
    """Input of list_events."""

    project: ProjectName
    prefix: str = Field(
        default="mimir.",
        pattern=r"^mimir\.[a-z0-9._-]{0,100}$",
        description="Event-name prefix (always under mimir.).",
    )
    hours: int = Field(default=24, ge=1, le=24 * 30, description="How far back to look.")
    limit: int = Field(
        default=50, ge=1, le=50, description="Most events, newest first (Prefect pages by 50)."
    )


class EventPublic(BaseModel):
    """One event as Prefect stored it."""

    id: str
    event: str
    occurred: datetime
    resource: dict[str, str]
    payload: dict[str, Any]


class EventList(BaseModel):
    """Recent events, newest first."""

    items: list[EventPublic]


@operation(method="GET", path=BASE + "/events", scope=Scope.READ, tags=TAGS)
def list_events(ctx: ServiceContext, params: EventQuery) -> EventList:
    """Recent `mimir.*` events of the project, read from Prefect's events API (what Prefect
    automations see)."""
    with ctx.session() as session:
        project_row(session, params.project)
    event_filter = EventFilter(
        occurred=EventOccurredFilter(
            since=utcnow() - timedelta(hours=params.hours)  # type: ignore[arg-type]
        ),
        event=EventNameFilter(prefix=[params.prefix]),
        resource=EventResourceFilter(
            labels=ResourceSpecification({"mimir.project": params.project})
        ),
        order=EventOrder.DESC,
    )
    with (
        unavailable_on_failure("could not read events from Prefect"),
        get_client(sync_client=True) as client,
    ):
        page = client.read_events(filter=event_filter, limit=params.limit)
    return EventList(
        items=[
            EventPublic(
                id=str(e.id),
                event=e.event,
                occurred=e.occurred,
                resource=dict(e.resource.root),
                payload=dict(e.payload or {}),
            )
            for e in page.events[: params.limit]
        ]
    )
