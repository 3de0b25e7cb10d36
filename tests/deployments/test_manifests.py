"""The kustomize base and overlays: they render, validate against the Kubernetes schemas, and
follow the deployment policy (pinned images, limits, non-root, no inline secrets, least RBAC,
consistent names between the manifests, the work pool template and the docs)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = REPO_ROOT / "deployments"
ALL_RENDERS = ("base", "dev", "prod")
# The oldest Kubernetes minor the manifests promise to support, and the newest schema bundled
# with kubernetes-validate (a current release).
K8S_VERSIONS = ("1.32", kubernetes_validate.latest_version())
NAMESPACE = "mimir"
TEMPLATE = json.loads((DEPLOYMENTS / "work-pool" / "mimir-k8s.json").read_text())
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
    "CustomResourceDefinition",
    "PriorityClass",
}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}
SECRET_LIKE_ENV = re.compile(
    r"(PASSWORD|TOKEN|SECRET|PRIVATE_KEY|ACCESS_KEY|DATABASE_URL|CONNECTION_URL)"
)
EXPECTED_WORKER_RULES = [
    {
        "apiGroups": ["batch"],
        "resources": ["jobs"],
        "verbs": ["get", "list", "watch", "create", "delete"],
    },
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
]


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(object name, pod spec) of every workload."""
    for obj in objects:
        if obj["kind"] in WORKLOAD_KINDS:
            yield f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]
        elif obj["kind"] == "CronJob":
            spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            yield f"CronJob/{obj['metadata']['name']}", spec
        elif obj["kind"] == "Pod":
            yield f"Pod/{obj['metadata']['name']}", obj["spec"]


def containers(
    objects: list[dict[str, Any]],
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, container, pod spec) of every container and init container."""
    for where, spec in pod_specs(objects):
        for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
            yield f"{where}:{container['name']}", container, spec


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def template_pod_spec() -> dict[str, Any]:
    return TEMPLATE["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]


def template_default(name: str) -> Any:
    return TEMPLATE["variables"]["properties"][name]["default"]


# --- rendering and schema -------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_kustomization_renders_into_the_mimir_namespace(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    objects = rendered[name]
    assert objects, f"{name} rendered nothing"
    for obj in objects:
        if obj["kind"] not in CLUSTER_SCOPED:
            assert obj["metadata"].get("namespace") == NAMESPACE, obj["metadata"]["name"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "mimir"
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(names) == len(set(names)), "duplicate objects"


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("name", ALL_RENDERS)
def test_every_object_validates_against_the_kubernetes_schema(
    rendered: dict[str, list[dict[str, Any]]], name: str, version: str
) -> None:
    errors = []
    for obj in rendered[name]:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']} at {path}: {exc.message}")
    assert not errors, "\n".join(errors)


def test_overlays_contain_what_the_issue_lists(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for overlay in ("dev", "prod"):
        objects = rendered[overlay]
        kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
        for expected in [
            ("Namespace", "mimir"),
            ("Deployment", "mimir-api"),
            ("Service", "mimir-api"),
            ("Deployment", "mimir-ui"),
            ("Service", "mimir-ui"),
            ("Deployment", "prefect-server"),
            ("Service", "prefect-server"),
            ("Deployment", "prefect-worker"),
            ("ServiceAccount", "prefect-worker"),
            ("Role", "prefect-worker"),
            ("RoleBinding", "prefect-worker"),
            ("ServiceAccount", "mimir-flow-run"),
            ("ConfigMap", "mimir-config"),
            ("NetworkPolicy", "default-deny-ingress"),
        ]:
            assert expected in kinds, f"{overlay} lacks {expected}"
    dev = {(o["kind"], o["metadata"]["name"]) for o in rendered["dev"]}
    prod = {(o["kind"], o["metadata"]["name"]) for o in rendered["prod"]}
    assert ("StatefulSet", "postgres") in dev
    assert ("StatefulSet", "postgres") not in prod, "prod uses an external PostgreSQL"
    assert not any(kind == "StatefulSet" for kind, _ in prod)


# --- policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_every_image_is_pinned(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    for where, container, _ in containers(rendered[name]):
        image = container["image"]
        reference = image.split("@", 1)[0]
        tag = reference.rsplit("/", 1)[-1].partition(":")[2]
        assert tag or "@sha256:" in image, f"{where}: untagged image {image}"
        assert tag != "latest" and not tag.endswith("-latest"), f"{where}: {image}"


def test_work_pool_template_image_is_pinned() -> None:
    image = template_default("image")
    assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_every_container_sets_requests_and_limits(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    for where, container, _ in containers(rendered[name]):
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                assert resources.get(kind, {}).get(resource), f"{where}: no {kind}.{resource}"


def assert_restricted(where: str, container: dict[str, Any], pod: dict[str, Any]) -> None:
    """The "restricted" Pod Security Standard, plus a read-only root filesystem."""
    pod_sc = pod.get("securityContext", {})
    sc = container.get("securityContext", {})
    assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, f"{where}: runAsNonRoot"
    assert sc.get("runAsUser", pod_sc.get("runAsUser", 1)) != 0, f"{where}: runs as uid 0"
    assert sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation"
    assert sc.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities"
    assert not sc.get("privileged"), f"{where}: privileged"
    assert sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem"
    seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
    assert seccomp.get("type") == "RuntimeDefault", f"{where}: seccompProfile"
    assert not pod.get("hostNetwork") and not pod.get("hostPID"), f"{where}: host namespaces"


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_every_pod_runs_non_root_and_restricted(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    for where, container, pod in containers(rendered[name]):
        assert_restricted(where, container, pod)


def test_flow_run_pods_are_restricted_too() -> None:
    pod = template_pod_spec()
    for container in pod["containers"]:
        assert_restricted("work-pool template", container, pod)
    assert pod["automountServiceAccountToken"] is False


def test_namespace_enforces_restricted_pod_security(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    namespace = by_kind(rendered["dev"], "Namespace")[NAMESPACE]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("name", ("dev", "prod"))
def test_long_running_containers_have_probes(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    for obj in rendered[name]:
        if obj["kind"] not in {"Deployment", "StatefulSet"}:
            continue
        for container in obj["spec"]["template"]["spec"]["containers"]:
            where = f"{obj['metadata']['name']}:{container['name']}"
            assert "readinessProbe" in container, f"{where}: readinessProbe"
            assert "livenessProbe" in container, f"{where}: livenessProbe"


def test_api_probes_use_the_health_and_readiness_endpoints(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    api = by_kind(rendered["prod"], "Deployment")["mimir-api"]["spec"]["template"]["spec"]
    container = api["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/v1/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/ready"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/tmp" in mounts, "a read-only root filesystem needs a writable /tmp"
    volumes = {v["name"]: v for v in api["volumes"]}
    assert all("emptyDir" in volumes[m["name"]] for m in container["volumeMounts"])


# --- secrets --------------------------------------------------------------------------------


def committed_manifests() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(DEPLOYMENTS.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                yield str(path.relative_to(REPO_ROOT)), doc


def test_no_committed_manifest_holds_secret_data() -> None:
    for where, doc in committed_manifests():
        if doc.get("kind") == "Secret":
            assert not doc.get("data") and not doc.get("stringData"), f"{where}: inline Secret"
        for gen in doc.get("secretGenerator", []):
            assert not gen.get("literals"), f"{where}: secretGenerator literals"
            for source in [*gen.get("envs", []), *gen.get("files", [])]:
                path = source.split("=", 1)[-1]
                assert path.endswith(".env") or path.endswith(".json"), source


def test_dev_secret_files_are_git_ignored_and_have_examples() -> None:
    kustomization = yaml.safe_load((DEPLOYMENTS / "overlays/dev/kustomization.yaml").read_text())
    sources = [s for g in kustomization["secretGenerator"] for s in g.get("envs", [])]
    assert sources
    for source in sources:
        path = DEPLOYMENTS / "overlays" / "dev" / source
        assert path.with_name(path.name + ".example").is_file(), f"no example for {source}"
        ignored = subprocess.run(
            ["git", "check-ignore", "--no-index", "-q", str(path)],
            cwd=REPO_ROOT,
            check=False,
        )
        assert ignored.returncode == 0, f"{source} is not git-ignored"


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_secret_values_reach_containers_only_by_reference(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    for where, container, _ in containers(rendered[name]):
        for entry in container.get("env", []):
            if SECRET_LIKE_ENV.search(entry["name"]):
                assert "secretKeyRef" in entry.get("valueFrom", {}), f"{where}: {entry['name']}"
    for env_name, value in template_default("env").items():
        assert not SECRET_LIKE_ENV.search(env_name), f"work-pool template env {env_name}={value}"


def test_only_dev_generates_secrets(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert not by_kind(rendered["base"], "Secret")
    assert not by_kind(rendered["prod"], "Secret"), "prod Secrets are created by the operator"
    assert set(by_kind(rendered["dev"], "Secret")) == {
        "postgres",
        "mimir-db",
        "prefect-db",
        "mimir-auth",
        "mimir-s3",
    }


def referenced(objects: list[dict[str, Any]], kind: str) -> dict[str, bool]:
    """{name: optional} of every Secret or ConfigMap the pods reference."""
    key_ref, from_ref = (
        ("secretKeyRef", "secretRef") if kind == "Secret" else ("configMapKeyRef", "configMapRef")
    )
    refs: dict[str, bool] = {}

    def add(ref: dict[str, Any]) -> None:
        refs[ref["name"]] = refs.get(ref["name"], True) and bool(ref.get("optional"))

    for _, container, pod in containers(objects):
        for entry in container.get("env", []):
            if key_ref in entry.get("valueFrom", {}):
                add(entry["valueFrom"][key_ref])
        for source in container.get("envFrom", []):
            if from_ref in source:
                add(source[from_ref])
        for volume in pod.get("volumes", []):
            if kind == "Secret" and "secret" in volume:
                add({"name": volume["secret"]["secretName"], **volume["secret"]})
            if kind == "ConfigMap" and "configMap" in volume:
                add(volume["configMap"])
    return refs


@pytest.mark.parametrize("name", ("dev", "prod"))
def test_every_reference_resolves_or_is_documented(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    objects = rendered[name]
    config_maps = by_kind(objects, "ConfigMap")
    for ref, optional in referenced(objects, "ConfigMap").items():
        assert ref in config_maps or optional, f"{name}: ConfigMap {ref} missing"
    secrets = by_kind(objects, "Secret")
    readme = (DEPLOYMENTS / "README.md").read_text()
    for ref in referenced(objects, "Secret"):
        assert ref in secrets or name == "prod", f"{name}: Secret {ref} missing"
        assert f"`{ref}`" in readme, f"Secret {ref} is not documented in deployments/README.md"
    accounts = by_kind(objects, "ServiceAccount")
    for where, spec in pod_specs(objects):
        if "serviceAccountName" in spec:
            assert spec["serviceAccountName"] in accounts, f"{where}: no ServiceAccount"


# --- services, network, RBAC ------------------------------------------------------------------


@pytest.mark.parametrize("name", ("dev", "prod"))
def test_every_service_selects_a_workload_port(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    workloads = [o for o in rendered[name] if o["kind"] in WORKLOAD_KINDS]
    for service in by_kind(rendered[name], "Service").values():
        selector = service["spec"]["selector"]
        matches = [
            w
            for w in workloads
            if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matches) == 1, f"Service {service['metadata']['name']} selects {matches}"
        ports = {
            p["name"]
            for c in matches[0]["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, f"{service['metadata']['name']}: {port}"


def components_of(policy_peer: dict[str, Any]) -> set[str]:
    selector = policy_peer.get("podSelector", {})
    values = set()
    if "app.kubernetes.io/component" in selector.get("matchLabels", {}):
        values.add(selector["matchLabels"]["app.kubernetes.io/component"])
    for expr in selector.get("matchExpressions", []):
        if expr["key"] == "app.kubernetes.io/component":
            values |= set(expr["values"])
    return values


@pytest.mark.parametrize("name", ("dev", "prod"))
def test_network_policies_deny_by_default_and_name_real_components(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    objects = rendered[name]
    policies = by_kind(objects, "NetworkPolicy")
    deny = policies["default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny
    flow_run_labels = TEMPLATE["job_configuration"]["job_manifest"]["spec"]["template"]["metadata"][
        "labels"
    ]
    components = {
        w["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        for w in objects
        if w["kind"] in WORKLOAD_KINDS
    } | {flow_run_labels["app.kubernetes.io/component"]}
    allowed_into: set[str] = set()
    for policy in policies.values():
        spec = policy["spec"]
        targets = components_of(spec)
        assert targets <= components, f"{policy['metadata']['name']} selects {targets}"
        for rule in spec.get("ingress", []):
            allowed_into |= targets
            for peer in rule.get("from", []):
                if "namespaceSelector" not in peer:
                    assert components_of(peer) <= components, policy["metadata"]["name"]
    # Nothing calls the worker or flow-run pods; everything else is reachable by someone.
    assert allowed_into == components - {"prefect-worker", "flow-run"}


@pytest.mark.parametrize("name", ("dev", "prod"))
def test_worker_rbac_is_least_privilege_and_namespaced(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    objects = rendered[name]
    assert not by_kind(objects, "ClusterRole") and not by_kind(objects, "ClusterRoleBinding")
    assert list(by_kind(objects, "Role")) == ["prefect-worker"]
    assert by_kind(objects, "Role")["prefect-worker"]["rules"] == EXPECTED_WORKER_RULES
    binding = by_kind(objects, "RoleBinding")["prefect-worker"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "prefect-worker",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "prefect-worker", "namespace": NAMESPACE}
    ]
    worker = by_kind(objects, "Deployment")["prefect-worker"]["spec"]["template"]["spec"]
    assert worker["serviceAccountName"] == "prefect-worker"
    # Only the worker holds a Kubernetes API token.
    for account_name, account in by_kind(objects, "ServiceAccount").items():
        if account_name != "prefect-worker":
            assert account.get("automountServiceAccountToken") is False, account_name
    for where, spec in pod_specs(objects):
        if spec.get("serviceAccountName") != "prefect-worker":
            assert spec.get("automountServiceAccountToken") is False, where


# --- the work pool template agrees with the manifests -----------------------------------------


@pytest.mark.parametrize("name", ("dev", "prod"))
def test_work_pool_template_agrees_with_the_manifests(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    objects = rendered[name]
    deployments = by_kind(objects, "Deployment")
    mimir_images = {
        deployments[d]["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in ("mimir-api", "prefect-worker", "prefect-server")
    }
    assert mimir_images == {template_default("image")}, "one Mimir image everywhere"
    assert template_default("namespace") == NAMESPACE
    assert template_default("service_account_name") in by_kind(objects, "ServiceAccount")
    worker = deployments["prefect-worker"]["spec"]["template"]["spec"]["containers"][0]
    command = worker["command"]
    assert command[:3] == ["prefect", "worker", "start"]
    assert command[command.index("--type") + 1] == "kubernetes"
    assert command[command.index("--pool") + 1] == "mimir-k8s"
    config = by_kind(objects, "ConfigMap")["mimir-config"]["data"]
    assert config["MIMIR_WORK_POOL"] == "mimir-k8s"
    assert config["MIMIR_STORAGE_URL"].startswith("s3://")
    container = template_pod_spec()["containers"][0]
    for source in container["envFrom"]:
        if "configMapRef" in source:
            assert source["configMapRef"]["name"] in by_kind(objects, "ConfigMap")
        else:
            secret = source["secretRef"]
            assert secret["name"] in by_kind(objects, "Secret") or secret.get("optional")
