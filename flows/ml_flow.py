"""Mimir's ML flows: `train-model`, `infer` and `monitor-model`.

They run on the work pool (a process under `mimir up`, a pod on Kubernetes), which has the
project's storage but not the metadata DB: they read the accepted ontology's mapping that
the API published into the storage object, read data through the storage interface, and
leave their results in the storage object (artifacts, drift reports) or the project's
tables (predictions). The API learns the outcome from the run's state in Prefect and from
those files (`mimir_api.services.models`), so a failed run's error is what Prefect recorded.

`start_ml_flow` triggers a deployment and returns at once. A torch model's training run asks
Kubernetes for a GPU node through job variables (`GPU_JOB_VARIABLES`); the process pool
ignores them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.events import emit_event
from prefect.logging import get_run_logger

from domain.published import published
from domain.stores import open_project_store
from flows.runs import MAX_TAG, MIMIR_DEPLOYMENT, project_tags, record_result
from flows.triggers import EVENT_MODEL_DEGRADED
from ml.errors import MLInputError
from ml.spec import ModelSpec
from ontology.compile import SchemaMapping

TRAIN_FLOW_NAME = "train-model"
INFER_FLOW_NAME = "infer"
MONITOR_FLOW_NAME = "monitor-model"
MONITORED_EVENT = "mimir.model.monitored"
DRIFT_DIR = "drift"
GPU_JOB_VARIABLES: dict[str, Any] = {
    "mimir_kind": "train-model",
    "gpu_limit": 1,
    "node_selector": {"nvidia.com/gpu.present": "true"},
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
}
"""Job variables of a torch training run; the Kubernetes work-pool template maps them onto
the pod (``nvidia.com/gpu`` limit and node selector). A process pool ignores them."""


def mapping_for(storage_url: str, ontology: str) -> tuple[SchemaMapping, int]:
    """The published mapping of `ontology` and its version."""
    entries = published(storage_url, ontology)
    if not entries:
        raise MLInputError(
            f"the project has no accepted ontology {ontology!r} (or it was deleted)",
            field="ontology")
    return entries[0].mapping, entries[0].version


@flow(name=TRAIN_FLOW_NAME, persist_result=False, validate_parameters=True)
def train_model(project: str, storage_url: str, model: str, version: int, spec: dict[str, Any],
                ontology: str = "main") -> dict[str, Any]:
    """Train one version of a model and save its artifact and card in the storage object."""
    from ml.workflow import train_version  # scikit-learn loads in the run, not at deploy time

    logger = get_run_logger()
    model_spec = ModelSpec.model_validate(spec)
    mapping, ontology_version = mapping_for(storage_url, ontology)
    store = open_project_store(project, storage_url)
    try:
        trained = train_version(store, mapping, model_spec, storage_url=storage_url, model=model,
                                version=version, ontology=ontology,
                                ontology_version=ontology_version)
    finally:
        store.close()
    card = trained.card
    metric = card["primary_metric"]
    cv, base = card["metrics"]["cv"][metric], card["metrics"]["cv_baseline"][metric]
    logger.info("model %s v%d: CV %s %.4f (baseline %.4f)", model, version, metric,
                cv["mean"], base["mean"])
    try:
        create_markdown_artifact(markdown=trained.card_markdown,
                                 key=f"model-{project}-{model}"[:100].lower().replace("_", "-"),
                                 description=f"Model card of {model} v{version}")
    except Exception as exc:  # a summary must never change the run's outcome
        logger.warning("could not publish the model card: %s", exc)
    return {"model": model, "version": version, "content_hash": trained.content_hash,
            "metrics": card["metrics"]["cv"]}


@flow(name=INFER_FLOW_NAME, persist_result=False, validate_parameters=True)
def infer(project: str, storage_url: str, model: str, version: int, content_hash: str,
          ontology: str = "main", entities: list[str] | None = None) -> dict[str, Any]:
    """Score every entity of the model's class (or the given ones) into the predictions
    table ``mimir_predictions_<model>``, keyed by entity and model version."""
    from ml.artifacts import load_model
    from ml.workflow import entity_frame, prediction_rows, write_predictions

    loaded = load_model(storage_url, model, version, content_hash)
    mapping, _ = mapping_for(storage_url, ontology)
    store = open_project_store(project, storage_url)
    try:
        frame = entity_frame(store, mapping, loaded.plan, entities)
        rows = prediction_rows(loaded, frame, version)
        written = write_predictions(store, model, rows)
    finally:
        store.close()
    get_run_logger().info("model %s v%d: %d prediction(s) written", model, version, written)
    outcome = {"model": model, "version": version, "rows": written}
    record_result(outcome, f"Model {model} v{version}: batch predictions")
    return outcome


@flow(name=MONITOR_FLOW_NAME, persist_result=False, validate_parameters=True)
def monitor_model(project: str, storage_url: str, model: str, version: int, content_hash: str,
                  ontology: str = "main", psi_threshold: float = 0.25,
                  metric_drop: float = 0.1) -> dict[str, Any]:
    """Drift of current data against the training data; a degraded model emits
    ``mimir.model.degraded``. The report is kept under the model's ``drift/`` folder."""
    from ml.artifacts import load_model, model_folder
    from ml.workflow import monitor

    loaded = load_model(storage_url, model, version, content_hash)
    mapping, _ = mapping_for(storage_url, ontology)
    store = open_project_store(project, storage_url)
    try:
        report = monitor(store, mapping, loaded, storage_url=storage_url, name=model,
                         version=version, content_hash=content_hash,
                         psi_threshold=psi_threshold, metric_drop=metric_drop)
    finally:
        store.close()
    at = dt.datetime.now(dt.UTC)
    report["checked_at"] = at.isoformat()
    fs, folder = model_folder(storage_url, model)
    fs.makedirs(f"{folder}/{DRIFT_DIR}", exist_ok=True)
    fs.pipe_file(f"{folder}/{DRIFT_DIR}/{at.strftime('%Y%m%dT%H%M%S%fZ')}.json",
                 json.dumps(report).encode("utf-8"))
    resource = {"prefect.resource.id": f"mimir.model.{project}.{model}",
                "prefect.resource.name": model, "mimir.project": project,
                "mimir.model.version": str(version)}
    # what a model_drift trigger's output pipeline reads as params.trigger.payload
    payload = {"project": project, "model": model, "version": version,
               "degraded": report["degraded"], "reasons": report["reasons"],
               "prediction_psi": report["prediction"]["psi"], "checked_at": report["checked_at"]}
    emit_event(event=EVENT_MODEL_DEGRADED if report["degraded"] else MONITORED_EVENT,
               resource=resource, payload=payload)
    get_run_logger().info("model %s v%d: degraded=%s %s", model, version, report["degraded"],
                          "; ".join(report["reasons"]))
    outcome = {"model": model, "version": version, "degraded": report["degraded"],
               "reasons": report["reasons"]}
    record_result(outcome, f"Model {model} v{version} monitored")  # get_project_run shows it
    return outcome


def drift_history(storage_url: str, model: str, limit: int = 100) -> list[dict[str, Any]]:
    """Stored drift reports of a model, newest first."""
    from ml.artifacts import model_folder

    fs, folder = model_folder(storage_url, model)
    path = f"{folder}/{DRIFT_DIR}"
    if not fs.exists(path):
        return []
    names = sorted(fs.ls(path, detail=False), reverse=True)[:limit]
    return [json.loads(fs.cat_file(name)) for name in names]


def _pool_type(deployment: str) -> str | None:
    """Type of the work pool a deployment runs on (None when unknown)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        pool = client.read_deployment_by_name(deployment).work_pool_name
        return client.read_work_pool(pool).type if pool else None


def start_ml_flow(flow_name: str, parameters: dict[str, Any], *, project: str, via: str = "api",
                  job_variables: dict[str, Any] | None = None) -> FlowRun:
    """Create a run of `<flow_name>/mimir` and return at once. `job_variables` (the GPU
    request of torch training) apply on a Kubernetes work pool only: other pool types have no
    such variables and would refuse the run. Tagged like every run Mimir starts for a project
    (`flows.runs.project_tags`, kind = the flow's name), so `list_project_runs` shows it."""
    deployment = f"{flow_name}/{MIMIR_DEPLOYMENT}"
    if job_variables and _pool_type(deployment) != "kubernetes":
        job_variables = None
    tags = [*project_tags(project, flow_name, via), "mimir-ml",
            f"model:{parameters['model']}"[:MAX_TAG]]
    flow_run = run_deployment(
        name=deployment, parameters=parameters, timeout=0, as_subflow=False,
        job_variables=job_variables, tags=tags,
    )
    return cast(FlowRun, flow_run)
