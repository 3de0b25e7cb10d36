"""The real Prefect Kubernetes worker runs Mimir's flows, one Job per flow run.

Real parts: the Prefect server (PostgreSQL), `prefect work-pool create` with
deployments/work-pool/mimir-k8s.json, `prefect deploy --all` with prefect.yaml, and
`prefect worker start` with the command and env of the `prefect-worker` Deployment in the dev
overlay, including its kopf-based observer. Stand-ins (TEST INFRASTRUCTURE, see k8s_harness/):
the Kubernetes API (kmock) and a test kubelet that runs each Job's container as a local
process with the Job's environment and reports Pod/Job status back through the API.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.deployments.k8s_harness import ImageRuntime, KubeApiServer, TestKubelet, write_kubeconfig
from tests.deployments.k8s_harness.kubelet import (
    OOM_BEFORE_START,
    OUTCOME_ANNOTATION,
    Execution,
    expand_k8s_vars,
)
from tests.deployments.k8s_harness.processes import free_port, stop_process, tail, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "deployments" / "work-pool" / "mimir-k8s.json"
TEMPLATE = json.loads(TEMPLATE_PATH.read_text())
API_DOCKERFILE = REPO_ROOT / "deployments" / "docker" / "api.Dockerfile"
IMAGE = TEMPLATE["variables"]["properties"]["image"]["default"]
NAMESPACE = "mimir"
POOL = "mimir-k8s"
DEPLOYMENT = "mimir-selfcheck/mimir"  # flows/deploy.py: <flow name>/mimir
IMAGE_VENV = "/opt/mimir"  # where the Mimir image keeps its virtualenv

# Identities on the emulated API (bearer tokens), as RBAC would see them.
WORKER_TOKEN, KUBELET_TOKEN, TEST_TOKEN = "worker-sa-token", "kubelet-token", "test-admin-token"
WORKER_IDENTITY = f"system:serviceaccount:{NAMESPACE}:prefect-worker"
TOKENS = {
    WORKER_TOKEN: WORKER_IDENTITY,
    KUBELET_TOKEN: "system:node:test-kubelet",
    TEST_TOKEN: "test-admin",
}

# Cluster setup (server, deploy, worker) is part of the first test: allow it, generously.
pytestmark = pytest.mark.timeout(900)

RUN_DEADLINE = 240.0  # generous: catches hangs, never measures speed
CRASH_DEADLINE = 300.0  # the observer waits 30 s for a replacement Job before it crashes a run


def image_runtime(dockerfile: Path, venv_bin: Path) -> ImageRuntime:
    """The final stage of the Mimir Dockerfile (ENV, WORKDIR, CMD), with the image's virtualenv
    replaced by the test's own: the emulated "image" is this checkout's installed package."""
    text = dockerfile.read_text().replace("\\\n", " ")
    final_stage = re.split(r"^FROM\s", text, flags=re.MULTILINE)[-1]
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    workdir, cmd = "/", ()
    for line in final_stage.splitlines():
        keyword, _, rest = line.strip().partition(" ")
        if keyword == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", rest):
                env[key] = value.replace("$PATH", env["PATH"])
        elif keyword == "WORKDIR":
            workdir = rest.strip()
        elif keyword == "CMD":
            cmd = tuple(json.loads(rest))
    env["PATH"] = env["PATH"].replace(f"{IMAGE_VENV}/bin", str(venv_bin))
    return ImageRuntime(env=env, cmd=cmd, workdir=workdir)


@dataclass
class Cluster:
    """The emulated cluster with the worker running against it."""

    kube: KubeApiServer
    kubelet: TestKubelet
    api_url: str
    worker_log: Path
    worker: subprocess.Popen[Any]
    deployment_id: uuid.UUID
    config_map: dict[str, str]
    s3_secret: dict[str, str]
    runs: list[uuid.UUID] = field(default_factory=list)

    @contextlib.contextmanager
    def client(self) -> Iterator[SyncPrefectClient]:
        with (
            temporary_settings(updates={PREFECT_API_URL: self.api_url}),
            get_client(sync_client=True) as client,
        ):
            yield client

    def jobs(self, flow_run_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": f"prefect.io/flow-run-id={flow_run_id}"} if flow_run_id else {}
        response = httpx.get(
            f"{self.kube.url}/apis/batch/v1/namespaces/{NAMESPACE}/jobs",
            params=params,
            headers={"Authorization": f"Bearer {TEST_TOKEN}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["items"]

    def pods(self, job_name: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.kube.url}/api/v1/namespaces/{NAMESPACE}/pods",
            params={"labelSelector": f"job-name={job_name}"},
            headers={"Authorization": f"Bearer {TEST_TOKEN}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["items"]

    def start_run(self, echo: str, job_variables: dict[str, Any] | None = None) -> uuid.UUID:
        with self.client() as client:
            flow_run = client.create_flow_run_from_deployment(
                self.deployment_id, parameters={"echo": echo}, job_variables=job_variables
            )
        self.runs.append(flow_run.id)
        return flow_run.id

    def read_run(self, flow_run_id: uuid.UUID) -> FlowRun:
        with self.client() as client:
            return client.read_flow_run(flow_run_id)

    def wait_final(self, flow_run_id: uuid.UUID, timeout: float) -> FlowRun:
        def final() -> FlowRun | None:
            run = self.read_run(flow_run_id)
            return run if run.state is not None and run.state.is_final() else None

        return wait_for(
            final,
            timeout=timeout,
            interval=1,
            what=f"flow run {flow_run_id}",
            details=self.diagnostics,
        )

    def diagnostics(self) -> str:
        return "\n".join(
            [
                "--- worker log (tail) ---",
                tail(self.worker_log, 80),
                "--- test kubelet ---",
                *self.kubelet.events[-20:],
                *[f"ERROR {e}" for e in self.kubelet.errors],
                "--- emulated API errors ---",
                *[repr(e) for e in self.kube.errors()[-5:]],
            ]
        )


def resolve_manifest_env(container: dict[str, Any], pod_fields: dict[str, str]) -> dict[str, str]:
    """The env a kubelet gives the container: `value` (with `$(VAR)`) and `fieldRef`."""
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = expand_k8s_vars(entry["value"], env)
        else:
            env[entry["name"]] = pod_fields[entry["valueFrom"]["fieldRef"]["fieldPath"]]
    return env


def run_cli(args: list[str], env: dict[str, str], what: str, timeout: float = 180) -> str:
    result = subprocess.run(
        args, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{what} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def cluster(
    prefect_server: Any,
    prefect_env: Callable[..., dict[str, str]],
    rendered: dict[str, list[dict[str, Any]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("k8s")
    runtime = image_runtime(API_DOCKERFILE, Path(sys.executable).parent)
    dev = {(o["kind"], o["metadata"]["name"]): o for o in rendered["dev"]}

    kube = KubeApiServer(TOKENS).start()
    kubelet: TestKubelet | None = None
    worker: subprocess.Popen[Any] | None = None
    try:
        # The settings flow-run pods read (envFrom), as the dev overlay has them. (kmock keeps
        # no Namespace objects; any namespace exists.)
        admin = httpx.Client(
            base_url=kube.url, headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=30
        )
        for kind, name, path in [
            ("ConfigMap", "mimir-config", f"/api/v1/namespaces/{NAMESPACE}/configmaps"),
            ("Secret", "mimir-s3", f"/api/v1/namespaces/{NAMESPACE}/secrets"),
        ]:
            admin.post(path, json=dev[(kind, name)]).raise_for_status()
        config_map = dev[("ConfigMap", "mimir-config")]["data"]
        s3_secret = {
            k: base64.b64decode(v).decode() for k, v in dev[("Secret", "mimir-s3")]["data"].items()
        }

        # The documented sequence (deployments/README.md): work pool from the template, deploy.
        env = prefect_env()
        run_cli(
            [
                "prefect",
                "--no-prompt",
                "work-pool",
                "create",
                POOL,
                "--type",
                "kubernetes",
                "--base-job-template",
                str(TEMPLATE_PATH),
                "--overwrite",
            ],
            env,
            "prefect work-pool create",
        )
        run_cli(
            ["prefect", "--no-prompt", "deploy", "--all"],
            prefect_env(MIMIR_WORK_POOL=POOL),
            "prefect deploy --all",
        )
        with (
            temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}),
            get_client(sync_client=True) as client,
        ):
            deployment = client.read_deployment_by_name(DEPLOYMENT)

        kubelet = TestKubelet(
            api_url=kube.url,
            token=KUBELET_TOKEN,
            namespace=NAMESPACE,
            images={IMAGE: runtime},
            root=root / "kubelet",
            log_sink=lambda ns, pod, text: kube.api.pod_logs.__setitem__((ns, pod), text),
        ).start()

        # The worker: command and env of the dev overlay's prefect-worker Deployment. Replaced:
        # the in-cluster service account (a kubeconfig with the worker's token), the Prefect
        # Service DNS name (the test server), the emptyDir at /tmp, the health port.
        worker_pod = dev[("Deployment", "prefect-worker")]["spec"]["template"]["spec"]
        container = worker_pod["containers"][0]
        pod_fields = {"metadata.name": "prefect-worker-test", "metadata.namespace": NAMESPACE}
        worker_env = {**runtime.env, **resolve_manifest_env(container, pod_fields)}
        health_port = free_port()
        worker_tmp = root / "worker-tmp"
        worker_tmp.mkdir()
        worker_env.update(
            {
                "KUBECONFIG": str(
                    write_kubeconfig(root / "kubeconfig", kube.url, WORKER_TOKEN, NAMESPACE)
                ),
                "PREFECT_API_URL": prefect_server.api_url,
                "HOME": str(worker_tmp),
                "PREFECT_HOME": str(worker_tmp / "prefect"),
                "PREFECT_WORKER_WEBSERVER_HOST": "127.0.0.1",
                "PREFECT_WORKER_WEBSERVER_PORT": str(health_port),
                "PREFECT_WORKER_QUERY_SECONDS": "1",
                "DO_NOT_TRACK": "1",
            }
        )
        assert worker_env["PREFECT_INTEGRATIONS_KUBERNETES_OBSERVER_NAMESPACES"] == NAMESPACE
        command = [expand_k8s_vars(arg, worker_env) for arg in container["command"]]
        worker_log = root / "worker.log"
        with worker_log.open("w") as out:
            worker = subprocess.Popen(
                command,
                env=worker_env,
                cwd=worker_tmp,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def worker_healthy() -> bool:
            if worker.poll() is not None:
                pytest.fail(f"the worker exited ({worker.returncode}):\n{tail(worker_log)}")
            return httpx.get(f"http://127.0.0.1:{health_port}/health", timeout=5).is_success

        wait_for(
            worker_healthy,
            timeout=180,
            what="the worker's health endpoint",
            details=lambda: tail(worker_log),
        )

        yield Cluster(
            kube=kube,
            kubelet=kubelet,
            api_url=prefect_server.api_url,
            worker_log=worker_log,
            worker=worker,
            deployment_id=deployment.id,
            config_map=config_map,
            s3_secret=s3_secret,
        )
    finally:
        if worker is not None:
            stop_process(worker, signals=2, grace=30)  # an idle worker ignores one SIGTERM
        if kubelet is not None:
            kubelet.stop()
        kube.stop()


@dataclass
class RunResult:
    flow_run: FlowRun
    jobs: list[dict[str, Any]]
    execution: Execution | None


def finish(cluster: Cluster, flow_run_id: uuid.UUID, timeout: float) -> RunResult:
    flow_run = cluster.wait_final(flow_run_id, timeout)

    def job_finished() -> list[dict[str, Any]] | None:
        # The run reports its final state to Prefect before its process exits and the kubelet
        # writes the Job's status, as on a real cluster: wait for the Job to settle too.
        jobs = cluster.jobs(flow_run_id)
        done = all(
            j.get("status", {}).get("succeeded") or j.get("status", {}).get("failed") for j in jobs
        )
        return jobs if jobs and done else None

    jobs = wait_for(
        job_finished,
        timeout=timeout,
        what=f"the Job of flow run {flow_run_id}",
        details=cluster.diagnostics,
    )
    names = [j["metadata"]["name"] for j in jobs]
    execution = cluster.kubelet.executions.get(names[0]) if len(names) == 1 else None
    return RunResult(flow_run=flow_run, jobs=jobs, execution=execution)


@pytest.fixture(scope="module")
def completed_run(cluster: Cluster) -> RunResult:
    return finish(cluster, cluster.start_run("hello from a pod"), RUN_DEADLINE)


@pytest.fixture(scope="module")
def crashed_run(cluster: Cluster) -> RunResult:
    flow_run_id = cluster.start_run(
        "never runs", job_variables={"annotations": {OUTCOME_ANNOTATION: OOM_BEFORE_START}}
    )
    return finish(cluster, flow_run_id, CRASH_DEADLINE)


@pytest.fixture(scope="module")
def concurrent_runs(cluster: Cluster) -> list[RunResult]:
    ids = [cluster.start_run(f"concurrent {n}") for n in range(2)]
    return [finish(cluster, flow_run_id, RUN_DEADLINE) for flow_run_id in ids]


# --- the tests ------------------------------------------------------------------------------


def test_a_flow_run_completes_through_exactly_one_job(
    cluster: Cluster, completed_run: RunResult
) -> None:
    state = completed_run.flow_run.state
    assert state is not None and state.type == StateType.COMPLETED, cluster.diagnostics()
    assert len(completed_run.jobs) == 1, [j["metadata"]["name"] for j in completed_run.jobs]
    job = completed_run.jobs[0]
    assert job["status"]["succeeded"] == 1
    assert [c["type"] for c in job["status"]["conditions"]][-1] == "Complete"
    pods = cluster.pods(job["metadata"]["name"])
    assert len(pods) == 1 and pods[0]["status"]["phase"] == "Succeeded"
    execution = completed_run.execution
    assert execution is not None and execution.returncode == 0, cluster.diagnostics()
    assert "selfcheck ran on" in execution.output  # the flow's own print, from the pod's log


def test_the_job_has_the_expected_image_command_env_labels_resources_and_security(
    cluster: Cluster, completed_run: RunResult
) -> None:
    job = completed_run.jobs[0]
    flow_run_id = str(completed_run.flow_run.id)
    assert job["metadata"]["namespace"] == NAMESPACE
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels["prefect.io/flow-run-id"] == flow_run_id
        assert labels["prefect.io/work-pool-name"] == POOL
        assert labels["prefect.io/deployment-name"] == "mimir"
        assert labels["app.kubernetes.io/component"] == "flow-run"
        assert labels["mimir.kind"] == "system"  # from prefect.yaml's job variables
        assert "mimir.project" not in labels and "mimir.pipeline" not in labels

    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "mimir-flow-run"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["args"] == ["prefect", "flow-run", "execute"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    # prefect.yaml overrides requests and the memory limit; the CPU limit is the pool default.
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PREFECT__FLOW_RUN_ID"] == flow_run_id
    assert env["PREFECT_API_URL"] == cluster.api_url  # passed on from the worker
    assert env["MIMIR_API_URL"] == "http://mimir-api.mimir.svc:8080"
    assert env["PREFECT_HOME"] == "/tmp/prefect"
    assert env["PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR"] == "reschedule"
    assert container["envFrom"] == [
        {"configMapRef": {"name": "mimir-config"}},
        {"secretRef": {"name": "mimir-s3", "optional": True}},
    ]

    # What the container process really got: the Job's env plus the ConfigMap and Secret.
    execution = completed_run.execution
    assert execution is not None
    assert execution.argv == ["prefect", "flow-run", "execute"]
    assert execution.env["PREFECT__FLOW_RUN_ID"] == flow_run_id
    assert execution.env["MIMIR_WORK_POOL"] == POOL
    assert execution.env["MIMIR_STORAGE_URL"] == cluster.config_map["MIMIR_STORAGE_URL"]
    assert execution.env["AWS_ACCESS_KEY_ID"] == cluster.s3_secret["AWS_ACCESS_KEY_ID"]


def test_a_failed_job_turns_the_run_crashed(cluster: Cluster, crashed_run: RunResult) -> None:
    state = crashed_run.flow_run.state
    assert state is not None and state.type == StateType.CRASHED, cluster.diagnostics()
    assert len(crashed_run.jobs) == 1
    job = crashed_run.jobs[0]
    assert job["status"]["failed"] == 1
    assert crashed_run.execution is None, "the test kubelet must not have run this pod"
    assert "OOMKilled" in json.dumps(cluster.pods(job["metadata"]["name"])[0]["status"])


def test_two_runs_at_once_make_two_jobs(cluster: Cluster, concurrent_runs: list[RunResult]) -> None:
    names = set()
    for result in concurrent_runs:
        state = result.flow_run.state
        assert state is not None and state.type == StateType.COMPLETED, cluster.diagnostics()
        assert len(result.jobs) == 1
        job = result.jobs[0]
        assert job["metadata"]["labels"]["prefect.io/flow-run-id"] == str(result.flow_run.id)
        names.add(job["metadata"]["name"])
    assert len(names) == 2


def test_every_flow_run_made_exactly_one_job(
    cluster: Cluster,
    completed_run: RunResult,
    crashed_run: RunResult,
    concurrent_runs: list[RunResult],
) -> None:
    by_run: dict[str, int] = {}
    for job in cluster.jobs():
        run_id = job["metadata"]["labels"]["prefect.io/flow-run-id"]
        by_run[run_id] = by_run.get(run_id, 0) + 1
    assert by_run == {str(run_id): 1 for run_id in cluster.runs}


def rule_allows(rules: list[dict[str, Any]], verb: str, group: str, resource: str) -> bool:
    return any(
        group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
        for rule in rules
    )


def test_the_worker_only_makes_calls_its_role_allows(
    cluster: Cluster,
    rendered: dict[str, list[dict[str, Any]]],
    completed_run: RunResult,
    crashed_run: RunResult,
) -> None:
    role = next(
        o
        for o in rendered["dev"]
        if o["kind"] == "Role" and o["metadata"]["name"] == "prefect-worker"
    )
    calls = cluster.kube.audit(WORKER_IDENTITY)
    assert any(c.verb == "create" and c.resource == "jobs" for c in calls), calls
    denied = sorted(
        {
            (c.verb, c.api_group, c.resource, c.namespace)
            for c in calls
            if c.namespace != NAMESPACE
            or not rule_allows(role["rules"], c.verb, c.api_group, c.resource)
        },
        key=str,
    )
    assert not denied, f"calls the Role would forbid (verb, group, resource, namespace): {denied}"


def test_the_test_kubelet_saw_no_errors(
    cluster: Cluster,
    completed_run: RunResult,
    crashed_run: RunResult,
    concurrent_runs: list[RunResult],
) -> None:
    assert not cluster.kubelet.errors, cluster.kubelet.errors
