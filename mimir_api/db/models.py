"""Tables of the metadata DB.

These are storage models only; services convert them to the `*Public` pydantic models in
`mimir_api.services`, so a column added here is never leaked by accident. Any change here
needs an Alembic revision in `mimir_api/db/migrations/versions/` (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Timezone-aware 'now', so timestamps compare correctly across DB backends."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Attach UTC to the naive datetimes SQLite hands back (it stores no offset)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Project(SQLModel, table=True):
    """A workspace with its own storage object."""

    __tablename__ = "projects"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(index=True, unique=True, max_length=63)
    description: str = Field(default="", max_length=4000)
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    storage_url: str = Field(max_length=1024)
    storage_plugin: str | None = Field(
        default=None, max_length=64, description="Plugin of a configured storage Block, if any."
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 digest is stored, never the secret."""

    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(index=True, unique=True, max_length=63)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    scopes: str = Field(max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class Pipeline(SQLModel, table=True):
    """A project's pipeline; its YAML lives in versions, its runs in Prefect."""

    __tablename__ = "pipelines"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_pipelines_project_name"),)

    id: str = Field(primary_key=True, max_length=32)
    project_id: str = Field(
        sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(max_length=63)
    type: str = Field(max_length=16)
    current_version: int = Field(default=1)
    deployment_id: str | None = Field(default=None, max_length=36)
    webhook_secret_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class PipelineVersion(SQLModel, table=True):
    """One saved YAML of a pipeline; never changed once written."""

    __tablename__ = "pipeline_versions"
    __table_args__ = (UniqueConstraint("pipeline_id", "version", name="uq_pipeline_versions"),)

    id: str = Field(primary_key=True, max_length=32)
    pipeline_id: str = Field(
        sa_column=Column(ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    version: int
    yaml: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=128)
    message: str = Field(default="", max_length=1000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Ontology(SQLModel, table=True):
    """A project's named ontology; its content lives in versions (a project may hold several)."""

    __tablename__ = "ontologies"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_ontologies_project_name"),)

    id: str = Field(primary_key=True, max_length=32)
    project_id: str = Field(
        sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(max_length=63)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class OntologyVersionRecord(SQLModel, table=True):
    """One saved ontology (complete Turtle). Content never changes once written; only a
    proposal's `status` moves once, from `proposed` to `accepted`, `rejected` or
    `superseded` (a newer extraction's proposal replaced it; its message says so).

    `changes` holds a proposal's change list (JSON), so it can be accepted in part later.
    """

    __tablename__ = "ontology_versions"
    __table_args__ = (UniqueConstraint("ontology_id", "version", name="uq_ontology_versions"),)

    id: str = Field(primary_key=True, max_length=32)
    ontology_id: str = Field(
        sa_column=Column(
            ForeignKey("ontologies.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    version: int
    turtle: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=128)
    message: str = Field(default="", max_length=1000)
    origin: str = Field(max_length=16)
    status: str = Field(max_length=16)
    parent: int | None = Field(default=None)
    changes: list[Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class MLModel(SQLModel, table=True):
    """A model spec of a project (class, target, features, algorithm); trainings are versions."""

    __tablename__ = "ml_models"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_ml_models_project_name"),)

    id: str = Field(primary_key=True, max_length=32)
    project_id: str = Field(
        sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(max_length=63)
    ontology: str = Field(max_length=63)
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class MLModelVersion(SQLModel, table=True):
    """One training of a model: its flow run, its outcome (state, error) and, once done, the
    artifact's content hash (checked on every load) and the model card."""

    __tablename__ = "ml_model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_ml_model_versions"),)

    id: str = Field(primary_key=True, max_length=32)
    model_id: str = Field(
        sa_column=Column(ForeignKey("ml_models.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    version: int
    flow_run_id: str = Field(max_length=64)
    state: str = Field(max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    content_hash: str | None = Field(default=None, max_length=64)
    card: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class Twin(SQLModel, table=True):
    """A digital twin of a project: a named view of its data through some of its ontologies.

    Holds no data: only which ontologies it reads through and its query limits. The twin's
    last sync point (time, rows per class) lives with the project's storage object, where
    the sync-twin flow (which has no metadata DB) writes it.
    """

    __tablename__ = "twins"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_twins_project_name"),)

    id: str = Field(primary_key=True, max_length=32)
    project_id: str = Field(
        sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(max_length=63)
    description: str = Field(default="", max_length=4000)
    ontologies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    timeout_s: float = Field(default=30.0)
    max_rows: int = Field(default=10_000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class TwinScenario(SQLModel, table=True):
    """A what-if scenario of a twin: a name and its edits; never a copy of data."""

    __tablename__ = "twin_scenarios"
    __table_args__ = (UniqueConstraint("twin_id", "name", name="uq_twin_scenarios_twin_name"),)

    id: str = Field(primary_key=True, max_length=32)
    twin_id: str = Field(
        sa_column=Column(ForeignKey("twins.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(max_length=63)
    description: str = Field(default="", max_length=4000)
    author: str = Field(max_length=128)
    expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class TwinScenarioEdit(SQLModel, table=True):
    """One what-if edit, stored as a delta row: target, old and new value, who, when, why."""

    __tablename__ = "twin_scenario_edits"
    __table_args__ = (UniqueConstraint("scenario_id", "seq", name="uq_twin_scenario_edits_seq"),)

    id: str = Field(primary_key=True, max_length=32)
    scenario_id: str = Field(
        sa_column=Column(
            ForeignKey("twin_scenarios.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    seq: int = Field()
    kind: str = Field(max_length=32)
    entity: str = Field(max_length=4000)
    property: str | None = Field(default=None, max_length=4000)
    old_value: list[Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    new_value: Any = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    attributes: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    author: str = Field(max_length=128)
    rationale: str = Field(default="", max_length=4000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class AnomalyRecord(SQLModel, table=True):
    """One anomalous value a detection run found (what it was judged against included).

    Rows are written once by `submit_anomalies`; a run that submits again replaces its own rows.
    """

    __tablename__ = "anomalies"

    id: str = Field(primary_key=True, max_length=32)
    project_id: str = Field(
        sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    run_id: str = Field(max_length=64, index=True)
    class_name: str = Field(max_length=255)
    entity: str = Field(max_length=2048)
    attributes: list[Any] = Field(sa_column=Column(JSON, nullable=False))
    value: Any = Field(sa_column=Column(JSON, nullable=True))
    score: float
    method: str = Field(max_length=32)
    group_name: str | None = Field(default=None, max_length=1024)
    expected_low: float | None = Field(default=None)
    expected_high: float | None = Field(default=None)
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    detected_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class AlertRecord(SQLModel, table=True):
    """A condition (rule + entity = `dedup_key`) that needs a person's attention.

    The same condition over many runs stays one alert (`occurrences`, `last_seen`); once it is
    resolved, a new occurrence raises a new alert only after `cooldown_s` has passed.
    """

    __tablename__ = "alerts"

    id: str = Field(primary_key=True, max_length=32)
    project_id: str = Field(
        sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    dedup_key: str = Field(max_length=2400, index=True)
    rule: str = Field(max_length=300)
    entity: str = Field(max_length=2048)
    class_name: str = Field(max_length=255)
    severity: str = Field(max_length=16)
    state: str = Field(max_length=16, index=True)
    score: float
    summary: str = Field(sa_column=Column(Text, nullable=False))
    cooldown_s: int
    occurrences: int = Field(default=1)
    last_run_id: str = Field(max_length=64)
    first_seen: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    last_seen: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    acknowledged_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    resolved_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    updated_by: str | None = Field(default=None, max_length=128)


class AnomalySettingsRecord(SQLModel, table=True):
    """A project's detection settings (`flows.anomaly_flow.DetectionConfig` as JSON)."""

    __tablename__ = "anomaly_settings"

    project_id: str = Field(
        sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    )
    settings: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class TriggerRecord(SQLModel, table=True):
    """A rule of a project: a condition (JSON) and the output pipeline it runs.

    An automatic trigger is a Prefect automation (`automation_id`); a manual one has none and
    is matched when an alert is raised, which holds an `AlertActionRecord` until approved.
    """

    __tablename__ = "triggers"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_triggers_project_name"),)

    id: str = Field(primary_key=True, max_length=32)
    project_id: str = Field(
        sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(max_length=63)
    description: str = Field(default="", max_length=1000)
    condition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    pipeline: str = Field(max_length=63)
    approval: str = Field(max_length=16)
    automation_id: str | None = Field(default=None, max_length=36)
    created_by: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class AlertActionRecord(SQLModel, table=True):
    """What a manual trigger would do for an alert, held until a person approves or rejects."""

    __tablename__ = "alert_actions"

    id: str = Field(primary_key=True, max_length=32)
    alert_id: str = Field(
        sa_column=Column(ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    trigger_id: str = Field(
        sa_column=Column(ForeignKey("triggers.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    pipeline: str = Field(max_length=63)
    parameters: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=16)
    flow_run_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    decided_by: str | None = Field(default=None, max_length=128)
