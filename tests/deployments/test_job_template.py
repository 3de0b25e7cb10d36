"""The work pool's base job template, deployments/work-pool/mimir-k8s.json.

- Every variable is referenced in `job_configuration` (Prefect silently drops a variable that
  is not), and every placeholder there has a variable (an unknown one silently vanishes).
- A (job variables -> rendered Job) table, rendered by prefect-kubernetes' own
  `KubernetesWorkerJobConfiguration`, the code the worker runs; each rendered Job also
  validates against the Kubernetes schema.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from prefect.client.schemas.objects import FlowRun
from prefect.utilities.templating import PlaceholderType, find_placeholders
from prefect_kubernetes.worker import KubernetesWorkerJobConfiguration

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "deployments" / "work-pool" / "mimir-k8s.json"
TEMPLATE: dict[str, Any] = json.loads(TEMPLATE_PATH.read_text())
VARIABLES: dict[str, Any] = TEMPLATE["variables"]["properties"]
IMAGE = "ghcr.io/mimir-aip/mimir:0.1.0"
MIMIR_LABELS = ("mimir.project", "mimir.pipeline", "mimir.kind")


def placeholder_names(template: Any) -> set[str]:
    return {
        p.name.split(".", 1)[0]
        for p in find_placeholders(template)
        if p.type is PlaceholderType.STANDARD
    }


def test_every_variable_is_referenced_in_job_configuration() -> None:
    referenced = placeholder_names(TEMPLATE["job_configuration"])
    unreferenced = set(VARIABLES) - referenced
    assert not unreferenced, f"Prefect would silently drop these job variables: {unreferenced}"


def test_every_placeholder_has_a_variable() -> None:
    unknown = placeholder_names(TEMPLATE["job_configuration"]) - set(VARIABLES)
    assert not unknown, f"placeholders without a variable render as nothing: {unknown}"


def test_job_configuration_fields_are_known_to_the_worker() -> None:
    fields = set(KubernetesWorkerJobConfiguration.model_fields)
    assert set(TEMPLATE["job_configuration"]) <= fields


def test_variables_schema_is_valid_and_defaults_match_it() -> None:
    schema = TEMPLATE["variables"]
    jsonschema.Draft202012Validator.check_schema(schema)
    defaults = {k: v["default"] for k, v in VARIABLES.items() if "default" in v}
    jsonschema.Draft202012Validator(schema).validate(defaults)
    for name, spec in VARIABLES.items():
        assert spec.get("description", "").strip(), f"variable {name} has no description"


def render(values: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The Job a worker would create for a flow run of a deployment with these job variables."""

    async def build() -> KubernetesWorkerJobConfiguration:
        return await KubernetesWorkerJobConfiguration.from_template_and_values(
            TEMPLATE,
            values,
            client=object(),  # no block or variable references to resolve
        )

    configuration = asyncio.run(build())
    flow_run = FlowRun(id=uuid.uuid4(), name="clever-fox", flow_id=uuid.uuid4())
    configuration.prepare_for_flow_run(flow_run)
    return configuration.job_manifest, str(flow_run.id)


CONTAINER = "spec.template.spec.containers.0"
POD = "spec.template.spec"

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "defaults",
        {},
        {
            "metadata.namespace": "mimir",
            "metadata.generateName": "clever-fox-",
            "spec.backoffLimit": 0,
            "spec.ttlSecondsAfterFinished": 86400,
            f"{POD}.restartPolicy": "Never",
            f"{POD}.serviceAccountName": "mimir-flow-run",
            f"{POD}.automountServiceAccountToken": False,
            f"{POD}.nodeSelector": {},
            f"{POD}.tolerations": [],
            f"{POD}.volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}}],
            f"{CONTAINER}.image": IMAGE,
            f"{CONTAINER}.args": ["prefect", "flow-run", "execute"],
            f"{CONTAINER}.resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"cpu": "2", "memory": "4Gi"},
            },
            f"{CONTAINER}.envFrom": [
                {"configMapRef": {"name": "mimir-config"}},
                {"secretRef": {"name": "mimir-s3", "optional": True}},
                {"secretRef": {"name": "mimir-worker", "optional": True}},
            ],
        },
    ),
    (
        "mimir-labels",
        {"mimir_project": "Acme Sales", "mimir_pipeline": "fetch_orders", "mimir_kind": "pipeline"},
        {
            "metadata.labels.mimir\\.project": "Acme-Sales",
            "metadata.labels.mimir\\.pipeline": "fetch_orders",
            "metadata.labels.mimir\\.kind": "pipeline",
            "spec.template.metadata.labels.mimir\\.project": "Acme-Sales",
            "spec.template.metadata.labels.mimir\\.kind": "pipeline",
        },
    ),
    (
        "resource-overrides",
        {"cpu_request": "2", "memory_request": "8Gi", "memory_limit": "16Gi"},
        {
            f"{CONTAINER}.resources": {
                "requests": {"cpu": "2", "memory": "8Gi"},
                "limits": {"cpu": "2", "memory": "16Gi"},
            },
        },
    ),
    (
        "gpu-training",
        {
            "mimir_kind": "train-model",
            "gpu_limit": 1,
            "node_selector": {"mimir.io/pool": "gpu"},
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ],
        },
        {
            f"{CONTAINER}.resources.limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": 1},
            f"{POD}.nodeSelector": {"mimir.io/pool": "gpu"},
            f"{POD}.tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ],
        },
    ),
    (
        "image-ttl-namespace",
        {"image": "ghcr.io/mimir-aip/mimir:0.2.0", "finished_job_ttl": 600, "namespace": "site-b"},
        {
            f"{CONTAINER}.image": "ghcr.io/mimir-aip/mimir:0.2.0",
            "spec.ttlSecondsAfterFinished": 600,
            "metadata.namespace": "site-b",
        },
    ),
    (
        "annotations",
        {"annotations": {"example.com/owner": "data-team"}},
        {
            "metadata.annotations": {"example.com/owner": "data-team"},
            "spec.template.metadata.annotations": {"example.com/owner": "data-team"},
        },
    ),
]


def get_path(manifest: dict[str, Any], path: str) -> Any:
    """Walk a dotted path; `\\.` is a dot inside a key (label keys such as mimir.project)."""
    parts = [p.replace("\0", ".") for p in path.replace("\\.", "\0").split(".")]
    obj: Any = manifest
    for part in parts:
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


@pytest.mark.parametrize(("values", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_job_variables_render_into_the_job(
    values: dict[str, Any], expected: dict[str, Any]
) -> None:
    manifest, flow_run_id = render(values)
    for path, value in expected.items():
        assert get_path(manifest, path) == value, path
    for where in ("metadata.labels", "spec.template.metadata.labels"):
        labels = get_path(manifest, where)
        assert labels["prefect.io/flow-run-id"] == flow_run_id
        assert labels["app.kubernetes.io/component"] == "flow-run"
        for label in MIMIR_LABELS:  # an unset Mimir label is left out, never empty
            assert labels.get(label, "unset") != ""
    assert_valid_job(manifest)


def assert_valid_job(manifest: dict[str, Any]) -> None:
    """Strict schema validation. prefect-kubernetes requires `parallelism` and `completions`
    in the pod spec (its manifest check insists on them there) although they are Job fields;
    the API server drops unknown fields with a warning, so they are removed before checking."""
    job = copy.deepcopy(manifest)
    pod = job["spec"]["template"]["spec"]
    assert pod.pop("parallelism") == 1 and pod.pop("completions") == 1
    kubernetes_validate.validate(job, kubernetes_validate.latest_version(), strict=True)


def test_unset_mimir_labels_are_left_out() -> None:
    manifest, _ = render({})
    for label in MIMIR_LABELS:
        assert label not in manifest["metadata"]["labels"]
        assert label not in manifest["spec"]["template"]["metadata"]["labels"]
    assert "nvidia.com/gpu" not in get_path(manifest, f"{CONTAINER}.resources.limits")


def test_env_defaults_merge_with_deployment_env() -> None:
    manifest, flow_run_id = render(
        {"env": {"EXTRA": "1", "MIMIR_API_URL": "http://elsewhere:8080"}}
    )
    env = {e["name"]: e.get("value") for e in get_path(manifest, f"{CONTAINER}.env")}
    assert env["EXTRA"] == "1"
    assert env["MIMIR_API_URL"] == "http://elsewhere:8080"  # the deployment wins
    assert env["PREFECT_HOME"] == "/tmp/prefect"  # the pool's defaults stay
    assert env["HOME"] == "/tmp"
    assert env["PREFECT__FLOW_RUN_ID"] == flow_run_id
    # backoffLimit 0: an evicted pod's run is rescheduled by Prefect, not retried by Kubernetes
    assert env["PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR"] == "reschedule"
