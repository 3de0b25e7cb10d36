"""ML model operations: create a spec, explain its features, train (a `train-model` flow run),
inspect cards and versions, predict (synchronously), infer (a batch `infer` flow run),
monitor drift (a `monitor-model` flow run) and delete.

Training runs on the work pool, which has no metadata DB: a version row records the flow run
at once, and every read of the model brings unfinished versions up to date from Prefect (the
run's state, and on failure the error Prefect recorded) and, once completed, from the
artifact's manifest and card in the storage object (`_sync`). The content hash recorded then
is the one every later load checks.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import Session, func, select

from mimir_api.core.errors import Conflict, InvalidInput, NotFound, unavailable_on_failure
from mimir_api.core.security import Scope
from mimir_api.db.models import MLModel, MLModelVersion, Project, as_utc, utcnow
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import ModelName, StrictInput
from mimir_api.services.project_access import detached_project, project_row, project_store
from mimir_api.services.projects import ProjectName
from mimir_api.services.registry import operation
from mimir_api.services.triggers import triggers_watching_model
from ml.errors import ArtifactError, MLInputError
from ml.features import FeaturePlan, plan_features
from ml.spec import ModelSpec

TAGS = ("models",)
BASE = "/projects/{project}/models"
ONE = BASE + "/{name}"
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
MAX_ENTITIES = 10_000



class ModelRef(StrictInput):
    """A model of a project."""

    project: ProjectName
    name: ModelName


class ProjectModels(StrictInput):
    """Input of list_models."""

    project: ProjectName


class ModelCreate(ModelRef):
    """Input of create_model."""

    ontology: str = Field(default="main", max_length=63, description="The accepted ontology.")
    spec: ModelSpec = Field(description="Class, target, features and algorithm.")


class ExplainQuery(StrictInput):
    """Input of explain_features."""

    project: ProjectName
    ontology: str = Field(default="main", max_length=63, description="The accepted ontology.")
    spec: ModelSpec = Field(description="The spec whose feature table to show.")


class PredictInput(ModelRef):
    """Input of predict: stored entities or ad-hoc records (one of them)."""

    version: int | None = Field(default=None, ge=1, description="Version (default: latest).")
    entities: list[str] | None = Field(
        default=None, max_length=MAX_ENTITIES, description="Entity ids (key values as text).")
    records: list[dict[str, Any]] | None = Field(
        default=None, max_length=MAX_ENTITIES,
        description="Ad-hoc feature records, validated against the model's feature schema.")
    scenario: str | None = Field(
        default=None, max_length=63,
        description="A what-if scenario of the twin whose changed values to predict from.")
    twin: str | None = Field(
        default=None, max_length=63,
        description="The twin of `scenario` / `as_of` (default: the project's only twin).")
    as_of: AwareDatetime | None = Field(
        default=None, description="Predict from the stored state at this instant.")


class InferInput(ModelRef):
    """Input of infer."""

    version: int | None = Field(default=None, ge=1, description="Version (default: latest).")
    entities: list[str] | None = Field(
        default=None, max_length=MAX_ENTITIES, description="Only these entities (default: all).")


class MonitorInput(ModelRef):
    """Input of monitor_model."""

    version: int | None = Field(default=None, ge=1, description="Version (default: latest).")
    psi_threshold: float = Field(default=0.25, gt=0, le=10, description="PSI marking drift.")
    metric_drop: float = Field(
        default=0.1, gt=0, le=1, description="Fall of the primary metric marking degradation.")


class VersionPublic(BaseModel):
    """One training of a model."""

    version: int = Field(description="Version number (1, 2, …).")
    flow_run_id: str = Field(description="The train-model flow run.")
    state: str = Field(description="SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CRASHED, …")
    error: str | None = Field(default=None, description="Why the run failed, if it did.")
    content_hash: str | None = Field(default=None, description="SHA-256 of the artifact.")
    metrics: dict[str, Any] | None = Field(default=None, description="CV, holdout, baselines.")
    created_at: datetime = Field(description="When training was started.")
    finished_at: datetime | None = Field(default=None, description="When it ended.")


class ModelPublic(BaseModel):
    """A model and the state of its latest version."""

    project: str = Field(description="The project.")
    name: str = Field(description="The model's name.")
    ontology: str = Field(description="The ontology its class belongs to.")
    spec: ModelSpec = Field(description="What it predicts and how.")
    created_by: str = Field(description="Who created it.")
    created_at: datetime = Field(description="When it was created.")
    latest: VersionPublic | None = Field(default=None, description="The newest version.")


class ModelDetail(ModelPublic):
    """A model with every version and the card of its newest completed version."""

    versions: list[VersionPublic] = Field(description="All versions, newest first.")
    card: dict[str, Any] | None = Field(default=None, description="Model card (JSON).")
    card_markdown: str | None = Field(default=None, description="Model card (Markdown).")


class ModelList(BaseModel):
    """A project's models."""

    items: list[ModelPublic] = Field(description="Models, by name.")


class FeatureExplanation(BaseModel):
    """The feature table a spec builds."""

    plan: FeaturePlan = Field(description="Class, target, task, features and relationships.")


class RunStarted(BaseModel):
    """A flow run started for a model."""

    name: str = Field(description="The model.")
    version: int = Field(description="The model version the run trains or uses.")
    flow_run_id: str = Field(description="Follow it with get_model (training) or in Prefect.")
    state: str = Field(description="The run's state when it was created.")


class Prediction(BaseModel):
    """One prediction."""

    entity: str = Field(description="Entity id, or record:<n> for an ad-hoc record.")
    model_version: int = Field(description="The model version that predicted it.")
    prediction: str | float = Field(description="Class label or value.")
    probabilities: dict[str, float] | None = Field(
        default=None, description="Class probabilities (classification).")


class Predictions(BaseModel):
    """Predictions of one call."""

    items: list[Prediction] = Field(description="One per entity or record, in input order.")


class DriftHistory(BaseModel):
    """Drift reports of a model, newest first."""

    degraded: bool = Field(description="Whether the newest report marks the model degraded.")
    items: list[dict[str, Any]] = Field(description="Reports (per-feature PSI/KS, verdict).")


class ModelDeleted(BaseModel):
    """What delete_model removed."""

    name: str = Field(description="The deleted model.")
    versions_removed: int = Field(description="Versions (and their artifacts) removed.")


# --------------------------------------------------------------------------- helpers


def _ml_error(exc: MLInputError | ArtifactError) -> InvalidInput | Conflict:
    if isinstance(exc, ArtifactError):
        return Conflict(str(exc), field="version")
    return InvalidInput(str(exc), field=f"spec.{exc.field}" if exc.field else None)


def _model_row(session: Session, project: Project, name: str) -> MLModel:
    row = session.exec(select(MLModel).where(
        MLModel.project_id == project.id, MLModel.name == name)).first()
    if row is None:
        raise NotFound(f"model '{name}' does not exist in project '{project.name}'", field="name")
    return row


def _versions(session: Session, model: MLModel) -> list[MLModelVersion]:
    return list(session.exec(select(MLModelVersion).where(MLModelVersion.model_id == model.id)
                             .order_by(MLModelVersion.version.desc())).all())  # type: ignore[attr-defined]


def _mapping(project: Project, ontology: str) -> Any:
    from flows.ml_flow import mapping_for

    try:
        return mapping_for(project.storage_url, ontology)[0]
    except MLInputError as exc:
        raise InvalidInput(str(exc), field="ontology") from None


def _plan(project: Project, ontology: str, spec: ModelSpec) -> FeaturePlan:
    """The feature plan against the published ontology and stored data (task decided)."""
    from ml.workflow import explain

    mapping = _mapping(project, ontology)
    try:
        plan_features(mapping, spec)  # spec errors first, without touching data
        with project_store(project) as store:
            return explain(store, mapping, spec)
    except MLInputError as exc:
        raise _ml_error(exc) from None


def _sync(project: Project, version: MLModelVersion, model: MLModel) -> bool:
    """Bring an unfinished version up to date from Prefect and the artifact; True if changed."""
    if version.state in FINAL_STATES:
        return False
    from prefect.client.orchestration import get_client

    with unavailable_on_failure("could not read the training run from Prefect"), get_client(
            sync_client=True) as client:
        run = client.read_flow_run(uuid.UUID(version.flow_run_id))
    state = run.state.type.value if run.state else "UNKNOWN"
    if state == version.state:
        return False
    version.state = state
    if state == "COMPLETED":
        _record_artifact(project, model, version)
    elif state in FINAL_STATES:
        version.error = (run.state.message if run.state else None) or f"the run ended {state}"
        version.finished_at = run.end_time or utcnow()
    return True


def _record_artifact(project: Project, model: MLModel, version: MLModelVersion) -> None:
    import json

    from ml.artifacts import content_hash, read_manifest, read_verified

    try:
        manifest = read_manifest(project.storage_url, model.name, version.version)
        digest = content_hash(manifest["files"])
        files = read_verified(project.storage_url, model.name, version.version, digest,
                              ["card.json"])
    except (ArtifactError, OSError) as exc:
        version.state = "FAILED"
        version.error = f"the run completed but its artifact cannot be read: {exc}"
        return
    version.content_hash = digest
    version.card = json.loads(files["card.json"])
    version.finished_at = utcnow()


def _version_public(v: MLModelVersion) -> VersionPublic:
    return VersionPublic(
        version=v.version, flow_run_id=v.flow_run_id, state=v.state, error=v.error,
        content_hash=v.content_hash, metrics=(v.card or {}).get("metrics"),
        created_at=as_utc(v.created_at),
        finished_at=as_utc(v.finished_at) if v.finished_at else None)


def _synced_versions(session: Session, project: Project, model: MLModel) -> list[MLModelVersion]:
    versions = _versions(session, model)
    if any([_sync(project, v, model) for v in versions]):
        for v in versions:
            session.add(v)
        session.commit()
        for v in versions:
            session.refresh(v)
    return versions


def _public(project: Project, model: MLModel, versions: list[MLModelVersion]) -> dict[str, Any]:
    return {"project": project.name, "name": model.name, "ontology": model.ontology,
            "spec": ModelSpec.model_validate(model.spec), "created_by": model.created_by,
            "created_at": as_utc(model.created_at),
            "latest": _version_public(versions[0]) if versions else None}


def _usable(session: Session, project: Project, model: MLModel,
            version: int | None) -> MLModelVersion:
    versions = _synced_versions(session, project, model)
    done = [v for v in versions if v.state == "COMPLETED" and v.content_hash]
    if version is not None:
        done = [v for v in done if v.version == version]
    if not done:
        which = f"version {version}" if version else "a completed version"
        raise Conflict(f"model '{model.name}' has no {which} to predict with; train it first",
                       field="version")
    return done[0]


@lru_cache(maxsize=16)
def _loaded(storage_url: str, name: str, version: int, digest: str) -> Any:
    from ml.artifacts import load_model

    return load_model(storage_url, name, version, digest)


# --------------------------------------------------------------------------- operations


@operation(method="POST", path=BASE + "/explain", scope=Scope.READ, idempotent=True,
           read_only=True, tags=TAGS)
def explain_features(ctx: ServiceContext, params: ExplainQuery) -> FeatureExplanation:
    """The feature table a model spec would train on (names, sources, types), before training."""
    project = detached_project(ctx, params.project)
    return FeatureExplanation(plan=_plan(project, params.ontology, params.spec))


@operation(method="POST", path=BASE, scope=Scope.WRITE, status_code=201, tags=TAGS)
def create_model(ctx: ServiceContext, params: ModelCreate) -> ModelPublic:
    """Create a model of an ontology class: its target, features and algorithm (not trained
    yet; call train_model). The spec is checked against the accepted ontology first."""
    try:
        params.spec.resolved_hyperparameters()
    except MLInputError as exc:
        raise _ml_error(exc) from None
    with ctx.session() as session:
        project = project_row(session, params.project)
        _plan(project, params.ontology, params.spec)
        exists = session.exec(select(MLModel.id).where(
            MLModel.project_id == project.id, MLModel.name == params.name)).first()
        if exists is not None:
            raise Conflict(f"model '{params.name}' already exists", field="name")
        row = MLModel(id=uuid.uuid4().hex, project_id=project.id, name=params.name,
                      ontology=params.ontology, spec=params.spec.model_dump(mode="json"),
                      created_by=ctx.actor.name)
        session.add(row)
        session.commit()
        session.refresh(row)
        return ModelPublic(**_public(project, row, []))


@operation(method="POST", path=ONE + "/versions", scope=Scope.WRITE, status_code=202, tags=TAGS)
def train_model(ctx: ServiceContext, params: ModelRef) -> RunStarted:
    """Train a new version: starts a `train-model` flow run and returns its id at once.

    Follow it with get_model (state, error, metrics). A PyTorch model's run asks Kubernetes
    for a GPU node (job variables); a process worker ignores that.
    """
    from flows.ml_flow import GPU_JOB_VARIABLES, TRAIN_FLOW_NAME, start_ml_flow

    with ctx.session() as session:
        project = project_row(session, params.project)
        model = _model_row(session, project, params.name)
        spec = ModelSpec.model_validate(model.spec)
        _plan(project, model.ontology, spec)  # the class and target must still exist
        number = int(session.exec(select(func.max(MLModelVersion.version)).where(
            MLModelVersion.model_id == model.id)).one() or 0) + 1
        parameters = {"project": project.name, "storage_url": project.storage_url,
                      "model": model.name, "version": number, "spec": model.spec,
                      "ontology": model.ontology}
        gpu = GPU_JOB_VARIABLES if spec.algorithm == "mlp" else None
        with unavailable_on_failure("Prefect could not start the training run"):
            run = start_ml_flow(TRAIN_FLOW_NAME, parameters, project=project.name,
                                via=f"api:{ctx.actor.name}",
                                job_variables=gpu)
        state = run.state.type.value if run.state else "SCHEDULED"
        session.add(MLModelVersion(id=uuid.uuid4().hex, model_id=model.id, version=number,
                                   flow_run_id=str(run.id), state=state))
        session.commit()
    return RunStarted(name=params.name, version=number, flow_run_id=str(run.id), state=state)


@operation(method="GET", path=BASE, scope=Scope.READ, tags=TAGS)
def list_models(ctx: ServiceContext, params: ProjectModels) -> ModelList:
    """A project's models with the state of their newest version."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        rows = session.exec(select(MLModel).where(MLModel.project_id == project.id)
                            .order_by(MLModel.name)).all()
        return ModelList(items=[
            ModelPublic(**_public(project, r, _synced_versions(session, project, r)))
            for r in rows])


@operation(method="GET", path=ONE, scope=Scope.READ, tags=TAGS)
def get_model(ctx: ServiceContext, params: ModelRef) -> ModelDetail:
    """A model: spec, every version (state, error, metrics) and the newest model card."""
    from ml.card import card_markdown

    with ctx.session() as session:
        project = project_row(session, params.project)
        model = _model_row(session, project, params.name)
        versions = _synced_versions(session, project, model)
        done = [v for v in versions if v.card]
        card = done[0].card if done else None
        return ModelDetail(**_public(project, model, versions),
                           versions=[_version_public(v) for v in versions], card=card,
                           card_markdown=card_markdown(card) if card else None)


@operation(method="POST", path=ONE + "/predict", scope=Scope.READ, idempotent=True,
           read_only=True, tags=TAGS)
def predict(ctx: ServiceContext, params: PredictInput) -> Predictions:
    """Predict synchronously for stored entities or ad-hoc records (checked against the
    model's feature schema) with a verified model version."""
    from ml.records import records_frame
    from ml.workflow import entity_frame, prediction_rows

    if (params.entities is None) == (params.records is None):
        raise InvalidInput("give either entities or records", field="entities")
    in_twin = params.scenario is not None or params.as_of is not None
    if in_twin and params.records is not None:
        raise InvalidInput("scenario and as_of predict stored entities; ad-hoc records "
                           "already say every value", field="scenario")
    with ctx.session() as session:
        project = project_row(session, params.project)
        model = _model_row(session, project, params.name)
        version = _usable(session, project, model, params.version)
        session.expunge(project)
        number, digest, ontology = version.version, str(version.content_hash), model.ontology
    try:
        loaded = _loaded(project.storage_url, params.name, number, digest)
        if params.records is not None:
            frame = records_frame(loaded.plan, params.records)
        elif in_twin:
            frame = _twin_frame(ctx, params, loaded.plan)
        else:
            mapping = _mapping(project, ontology)
            with project_store(project) as store:
                frame = entity_frame(store, mapping, loaded.plan, params.entities)
    except MLInputError as exc:
        raise InvalidInput(str(exc), field=exc.field) from None
    except ArtifactError as exc:
        raise _ml_error(exc) from None
    return Predictions(items=[Prediction(**r) for r in prediction_rows(loaded, frame, number)])


def _twin_frame(ctx: ServiceContext, params: PredictInput, plan: FeaturePlan) -> Any:
    """The entities' features as the twin's scenario (and/or past state) has them."""
    from mimir_api.db.models import Twin
    from mimir_api.services.twins import scenario_view
    from twin.predict import view_frame

    twin = params.twin
    if twin is None:
        with ctx.session() as session:
            project = project_row(session, params.project)
            names = sorted(session.exec(select(Twin.name).where(
                Twin.project_id == project.id)).all())
        if len(names) != 1:
            raise InvalidInput(f"name the twin: the project has {len(names)} "
                               f"({', '.join(names) or 'none'})", field="twin")
        twin = names[0]
    with scenario_view(ctx, params.project, twin, params.scenario, params.as_of) as view:
        return view_frame(view, plan, params.entities)


def _start_with_version(ctx: ServiceContext, project_name: str, name: str, version: int | None,
                        flow_name: str, extra: dict[str, Any]) -> RunStarted:
    from flows.ml_flow import start_ml_flow

    with ctx.session() as session:
        project = project_row(session, project_name)
        model = _model_row(session, project, name)
        chosen = _usable(session, project, model, version)
        parameters = {"project": project.name, "storage_url": project.storage_url,
                      "model": model.name, "version": chosen.version,
                      "content_hash": chosen.content_hash, "ontology": model.ontology, **extra}
        number = chosen.version
    with unavailable_on_failure(f"Prefect could not start the {flow_name} run"):
        run = start_ml_flow(flow_name, parameters, project=project_name,
                            via=f"api:{ctx.actor.name}")
    return RunStarted(name=name, version=number, flow_run_id=str(run.id),
                      state=run.state.type.value if run.state else "SCHEDULED")


@operation(method="POST", path=ONE + "/inferences", scope=Scope.WRITE, status_code=202,
           tags=TAGS)
def infer(ctx: ServiceContext, params: InferInput) -> RunStarted:
    """Batch predictions: starts an `infer` flow run writing table mimir_predictions_<model>
    (keyed by entity and model version) and returns its id at once."""
    from flows.ml_flow import INFER_FLOW_NAME

    return _start_with_version(ctx, params.project, params.name, params.version,
                               INFER_FLOW_NAME, {"entities": params.entities})


@operation(method="POST", path=ONE + "/monitoring", scope=Scope.WRITE, status_code=202,
           tags=TAGS)
def monitor_model(ctx: ServiceContext, params: MonitorInput) -> RunStarted:
    """Check drift now: starts a `monitor-model` flow run (PSI and KS per feature and of the
    predictions, metric on labelled rows); a degraded model emits mimir.model.degraded."""
    from flows.ml_flow import MONITOR_FLOW_NAME

    return _start_with_version(
        ctx, params.project, params.name, params.version, MONITOR_FLOW_NAME,
        {"psi_threshold": params.psi_threshold, "metric_drop": params.metric_drop})


@operation(method="GET", path=ONE + "/drift", scope=Scope.READ, tags=TAGS)
def list_model_drift(ctx: ServiceContext, params: ModelRef) -> DriftHistory:
    """A model's drift reports, newest first, and whether it is degraded now."""
    from flows.ml_flow import drift_history

    with ctx.session() as session:
        project = project_row(session, params.project)
        _model_row(session, project, params.name)
    with unavailable_on_failure("could not read the drift reports"):
        items = drift_history(project.storage_url, params.name)
    return DriftHistory(degraded=bool(items and items[0].get("degraded")), items=items)


@operation(method="DELETE", path=ONE, scope=Scope.WRITE, destructive=True, idempotent=False,
           tags=TAGS)
def delete_model(ctx: ServiceContext, params: ModelRef) -> ModelDeleted:
    """Delete a model, its versions and their artifacts (its predictions table stays)."""
    from ml.artifacts import delete_artifacts

    with ctx.session() as session:
        project = project_row(session, params.project)
        model = _model_row(session, project, params.name)
        watching = triggers_watching_model(session, project.id, model.name)
        if watching:
            raise Conflict(
                f"model '{model.name}' is watched by trigger(s) {', '.join(watching)}; delete "
                "them first (delete_trigger)",
                field="name",
            )
        count = len(_versions(session, model))
        with unavailable_on_failure("could not remove the model's artifacts"):
            delete_artifacts(project.storage_url, model.name)
        session.delete(model)
        session.commit()
    _loaded.cache_clear()
    return ModelDeleted(name=params.name, versions_removed=count)


