"""The real Prefect Kubernetes worker runs Mimir's flows, one Job per flow run (per attempt).

Real parts: the Prefect server (PostgreSQL), `prefect work-pool create` with
deployments/work-pool/mimir-k8s.json, `prefect deploy --all` with prefect.yaml, Mimir pipeline
deployments made by `flows.pipeline.deployments.upsert_deployment` and runs started by its
`start_run`, and `prefect worker start` with the command and env of the `prefect-worker`
Deployment in the dev overlay, including its kopf-based observer. Stand-ins (TEST
INFRASTRUCTURE, see k8s_harness/): the Kubernetes API (kmock) and a test kubelet that runs each
Job's container as a local process with the Job's environment, reports Pod/Job status back
through the API, and injects the faults a test asks for (a pod OOM-killed before or while its
flow runs).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import re
import subprocess
import sys
import time
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

from flows.actions.registry import load_registry
from flows.pipeline.compiler import compile_pipeline
from flows.pipeline.deployments import (
    PipelineTarget,
    delete_deployment,
    start_run,
    upsert_deployment,
)
from tests.deployments.k8s_harness import (
    Fault,
    ImageRuntime,
    KubeApiServer,
    TestKubelet,
    write_kubeconfig,
)
from tests.deployments.k8s_harness.kubelet import (
    OOM_BEFORE_START,
    OOM_ON_OUTPUT,
    Execution,
    FaultKind,
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
# Prefect's automation starts a crashed run again within a second or two; a run that must NOT
# be started again is checked only after this many seconds since its crash (a grace period for
# a wrong retry to show up, not a measurement).
RETRY_GRACE = 15.0


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
    runs: dict[uuid.UUID, int] = field(default_factory=dict)  # flow run -> Jobs it should make

    @contextlib.contextmanager
    def prefect(self) -> Iterator[None]:
        """Code in this block (Mimir's own functions included) talks to the test server."""
        with temporary_settings(updates={PREFECT_API_URL: self.api_url}):
            yield

    @contextlib.contextmanager
    def client(self) -> Iterator[SyncPrefectClient]:
        with self.prefect(), get_client(sync_client=True) as client:
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
        self.runs[flow_run.id] = 1
        return flow_run.id

    def read_run(self, flow_run_id: uuid.UUID) -> FlowRun:
        with self.client() as client:
            return client.read_flow_run(flow_run_id)

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
    jobs: list[dict[str, Any]]  # oldest first: one per attempt
    executions: list[Execution | None]  # what the test kubelet ran for each Job

    @property
    def execution(self) -> Execution | None:
        return self.executions[0] if len(self.executions) == 1 else None


def finish(
    cluster: Cluster, flow_run_id: uuid.UUID, timeout: float, attempts: int = 1
) -> RunResult:
    """Wait until the run is final with at least `attempts` Jobs, all of them finished.

    The run reports its final state to Prefect before its process exits and the kubelet writes
    the Job's status, as on a real cluster, so the Jobs are waited for too. A run that crashes
    and is started again passes through CRASHED (a final state) before its next Job exists;
    `attempts` keeps waiting through that.
    """

    def settled() -> tuple[FlowRun, list[dict[str, Any]]] | None:
        run = cluster.read_run(flow_run_id)
        if run.state is None or not run.state.is_final():
            return None
        jobs = cluster.jobs(flow_run_id)
        done = all(
            j.get("status", {}).get("succeeded") or j.get("status", {}).get("failed") for j in jobs
        )
        return (run, jobs) if len(jobs) >= attempts and done else None

    flow_run, jobs = wait_for(
        settled,
        timeout=timeout,
        interval=1,
        what=f"flow run {flow_run_id} to finish after {attempts} Job(s)",
        details=cluster.diagnostics,
    )
    jobs.sort(key=lambda j: (j["metadata"]["creationTimestamp"], j["metadata"]["name"]))
    executions = [cluster.kubelet.executions.get(j["metadata"]["name"]) for j in jobs]
    return RunResult(flow_run=flow_run, jobs=jobs, executions=executions)


def assert_flow_run_job(
    cluster: Cluster,
    job: dict[str, Any],
    flow_run_id: uuid.UUID,
    *,
    deployment: str,
    mimir_labels: dict[str, str],
    resources: dict[str, dict[str, str]],
) -> None:
    """The Job the worker made from deployments/work-pool/mimir-k8s.json for one flow run."""
    assert job["metadata"]["namespace"] == NAMESPACE
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels["prefect.io/flow-run-id"] == str(flow_run_id)
        assert labels["prefect.io/work-pool-name"] == POOL
        assert labels["prefect.io/deployment-name"] == deployment
        assert labels["app.kubernetes.io/component"] == "flow-run"
        assert {k: v for k, v in labels.items() if k.startswith("mimir.")} == mimir_labels

    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "mimir-flow-run"
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
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
    assert container["resources"] == resources
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PREFECT__FLOW_RUN_ID"] == str(flow_run_id)
    assert env["PREFECT_API_URL"] == cluster.api_url  # passed on from the worker
    assert env["MIMIR_API_URL"] == "http://mimir-api.mimir.svc:8080"
    assert env["PREFECT_HOME"] == "/tmp/prefect"
    assert env["PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR"] == "reschedule"
    assert container["envFrom"] == [
        {"configMapRef": {"name": "mimir-config"}},
        {"secretRef": {"name": "mimir-s3", "optional": True}},
        {"secretRef": {"name": "mimir-worker", "optional": True}},
    ]


def assert_pod_process(
    cluster: Cluster, execution: Execution | None, flow_run_id: uuid.UUID
) -> None:
    """What the container process really got: the Job's env plus the ConfigMap and Secret."""
    assert execution is not None, cluster.diagnostics()
    assert execution.argv == ["prefect", "flow-run", "execute"]
    assert execution.env["PREFECT__FLOW_RUN_ID"] == str(flow_run_id)
    assert execution.env["MIMIR_WORK_POOL"] == POOL
    assert execution.env["MIMIR_STORAGE_URL"] == cluster.config_map["MIMIR_STORAGE_URL"]
    assert execution.env["AWS_ACCESS_KEY_ID"] == cluster.s3_secret["AWS_ACCESS_KEY_ID"]


def state_history(cluster: Cluster, flow_run_id: uuid.UUID) -> list[str]:
    """The run's states, oldest first: the type, `SCHEDULED/AwaitingRetry` for a retry, and
    one `PENDING` for each stretch of pending states (Pending, Submitting, ...)."""
    with cluster.client() as client:
        states = client.read_flow_run_states(flow_run_id)
    history: list[str] = []
    for state in sorted(states, key=lambda s: s.timestamp):
        entry = state.type.value
        if state.name == "AwaitingRetry":
            entry += "/AwaitingRetry"
        if not (entry == "PENDING" and history and history[-1] == "PENDING"):
            history.append(entry)
    return history


# --- Mimir's own flows (prefect.yaml): mimir-selfcheck --------------------------------------


@pytest.fixture(scope="module")
def completed_run(cluster: Cluster) -> RunResult:
    return finish(cluster, cluster.start_run("hello from a pod"), RUN_DEADLINE)


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
    assert_flow_run_job(
        cluster,
        completed_run.jobs[0],
        completed_run.flow_run.id,
        deployment="mimir",
        mimir_labels={"mimir.kind": "system"},  # from prefect.yaml's job variables
        # prefect.yaml overrides requests and the memory limit; the CPU limit is the pool's.
        resources={
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "2", "memory": "1Gi"},
        },
    )
    assert_pod_process(cluster, completed_run.execution, completed_run.flow_run.id)


# --- Mimir pipelines -----------------------------------------------------------------------
#
# Pipelines saved for a project whose work pool is mimir-k8s: each is one deployment (flow named
# after the pipeline, deployment after the project) made by upsert_deployment, and each run is
# started by start_run, as the API does. Their steps need no network: they write a file into
# the project's storage, a local folder the "pods" (local processes) share with the test.

PROJECT = "k8s-test"
PIPELINE_BODY = """
type: processing
parameters:
  greeting: {type: string, default: hello}
steps:
  - name: names
    action: context.set
    with: {key: names, value: [ada, grace]}
  - name: lines
    action: transform.map
    with: {items: "{{ steps.names }}", template: "{{ params.greeting }} {{ item }}"}
  - name: save
    action: file.write
    retries: 2
    with:
      path: "reports/{{ run.id }}.json"
      format: json
      content: {run: "{{ run.id }}", lines: "{{ steps.lines.result }}"}
"""
# The flow's first log line, written once the run is RUNNING in its pod (flows/pipeline/flow.py).
STARTED_MARKER = "pipeline {name} v1 (processing)"


@dataclass(frozen=True)
class PipelineCase:
    """A pipeline, its crash_retries, and the fault the test kubelet injects into its Jobs."""

    name: str
    crash_retries: int
    fault: FaultKind | None = None
    fault_attempts: int | None = None  # the fault hits only the first N Jobs of a run
    expected_jobs: int = 1


PIPELINES = {
    case.name: case
    for case in (
        PipelineCase("k8s-report", crash_retries=0),
        # OOM-killed while the flow runs, once: Prefect starts the run again in a new pod.
        PipelineCase("k8s-crash-once", 1, OOM_ON_OUTPUT, fault_attempts=1, expected_jobs=2),
        # OOM-killed in every pod: started again crash_retries times, then left CRASHED.
        PipelineCase("k8s-crash-always", 2, OOM_ON_OUTPUT, expected_jobs=3),
        # The pod dies before the flow starts (run count 0): CRASHED, and never retried.
        PipelineCase("k8s-never-starts", 1, OOM_BEFORE_START),
    )
}


@dataclass
class Pipelines:
    storage: Path  # the project's storage object (storage_url file://...)
    deployments: dict[str, str]  # pipeline -> deployment id
    runs: dict[str, RunResult]  # "k8s-report#1", "k8s-crash-once", ...


@pytest.fixture(scope="module")
def pipelines(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Pipelines:
    """Save the pipelines, start all their runs at once, and wait for every run to settle."""
    storage = tmp_path_factory.mktemp("project-storage")
    registry = load_registry()
    target = PipelineTarget(project=PROJECT, storage_url=storage.as_uri(), work_pool=POOL)
    deployments: dict[str, str] = {}
    with cluster.prefect():
        for case in PIPELINES.values():
            text = f"name: {case.name}\ncrash_retries: {case.crash_retries}\n{PIPELINE_BODY}"
            plan = compile_pipeline(text, registry, source=f"{case.name}.yaml")
            deployments[case.name] = upsert_deployment(plan, 1, target)
            if case.fault is not None:
                cluster.kubelet.inject(
                    Fault(
                        labels={"mimir.pipeline": case.name},
                        kind=case.fault,
                        output=STARTED_MARKER.format(name=case.name),
                        attempts=case.fault_attempts,
                    )
                )
        # Two runs of the same pipeline at once, and one run of each faulty pipeline.
        started: dict[str, uuid.UUID] = {}
        for key, name, greeting in [
            ("k8s-report#1", "k8s-report", "hello"),
            ("k8s-report#2", "k8s-report", "hi"),
            *[(name, name, "hey") for name in PIPELINES if name != "k8s-report"],
        ]:
            flow_run = start_run(deployments[name], {"greeting": greeting}, ["k8s-test"])
            started[key] = flow_run.id
            cluster.runs[flow_run.id] = PIPELINES[name].expected_jobs

    runs = {}
    for key, flow_run_id in started.items():
        case = PIPELINES[key.split("#")[0]]
        deadline = CRASH_DEADLINE if case.fault == OOM_BEFORE_START else RUN_DEADLINE
        deadline *= case.expected_jobs
        runs[key] = finish(cluster, flow_run_id, deadline, attempts=case.expected_jobs)
    return Pipelines(storage=storage, deployments=deployments, runs=runs)


def written_report(pipelines: Pipelines, result: RunResult) -> dict[str, Any]:
    path = pipelines.storage / "reports" / f"{result.flow_run.id}.json"
    assert path.is_file(), sorted(str(p) for p in pipelines.storage.rglob("*"))
    return json.loads(path.read_text())


def test_a_pipeline_run_completes_in_its_pod_and_writes_its_file(
    cluster: Cluster, pipelines: Pipelines
) -> None:
    result = pipelines.runs["k8s-report#1"]
    state = result.flow_run.state
    assert state is not None and state.type == StateType.COMPLETED, cluster.diagnostics()
    assert result.flow_run.run_count == 1
    assert len(result.jobs) == 1
    job = result.jobs[0]
    assert job["status"]["succeeded"] == 1
    pods = cluster.pods(job["metadata"]["name"])
    assert len(pods) == 1 and pods[0]["status"]["phase"] == "Succeeded"
    execution = result.execution
    assert execution is not None and execution.returncode == 0, cluster.diagnostics()
    # The pod's own process ran the pipeline: its log has the flow's and the steps' lines ...
    assert STARTED_MARKER.format(name="k8s-report") in execution.output
    assert "Task run 'save' - Finished in state Completed()" in execution.output
    # ... and the file it wrote into the project's storage holds this run's id and results.
    assert written_report(pipelines, result) == {
        "run": str(result.flow_run.id),
        "lines": ["hello ada", "hello grace"],
    }


def test_the_pipeline_job_has_the_expected_image_command_env_labels_resources_and_security(
    cluster: Cluster, pipelines: Pipelines
) -> None:
    result = pipelines.runs["k8s-report#1"]
    job = result.jobs[0]
    assert_flow_run_job(
        cluster,
        job,
        result.flow_run.id,
        deployment=PROJECT,  # pipeline deployments are named after the project
        mimir_labels={
            "mimir.project": PROJECT,
            "mimir.pipeline": "k8s-report",
            "mimir.kind": "pipeline",
        },
        # upsert_deployment sets no resources: the pool's defaults apply.
        resources={
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "4Gi"},
        },
    )
    assert job["metadata"]["labels"]["prefect.io/flow-name"] == "k8s-report"
    assert (
        job["metadata"]["labels"]["prefect.io/deployment-id"]
        == (pipelines.deployments["k8s-report"])
    )
    assert_pod_process(cluster, result.execution, result.flow_run.id)


def test_two_pipeline_runs_at_once_make_two_jobs(cluster: Cluster, pipelines: Pipelines) -> None:
    names = set()
    for key, greeting in (("k8s-report#1", "hello"), ("k8s-report#2", "hi")):
        result = pipelines.runs[key]
        state = result.flow_run.state
        assert state is not None and state.type == StateType.COMPLETED, cluster.diagnostics()
        assert len(result.jobs) == 1
        job = result.jobs[0]
        assert job["metadata"]["labels"]["prefect.io/flow-run-id"] == str(result.flow_run.id)
        names.add(job["metadata"]["name"])
        assert written_report(pipelines, result)["lines"] == [
            f"{greeting} ada",
            f"{greeting} grace",
        ]
    assert len(names) == 2


def test_a_failed_job_turns_the_pipeline_run_crashed(
    cluster: Cluster, pipelines: Pipelines
) -> None:
    result = pipelines.runs["k8s-never-starts"]
    state = result.flow_run.state
    assert state is not None and state.type == StateType.CRASHED, cluster.diagnostics()
    assert len(result.jobs) == 1
    job = result.jobs[0]
    assert job["status"]["failed"] == 1
    assert result.execution is None, "the test kubelet must not have run this pod"
    assert "OOMKilled" in json.dumps(cluster.pods(job["metadata"]["name"])[0]["status"])


def test_a_pipeline_run_that_crashed_while_running_is_started_again_in_a_new_pod(
    cluster: Cluster, pipelines: Pipelines
) -> None:
    """crash_retries: 1, the first pod OOM-killed mid-run: the automation upsert_deployment
    made puts the same flow run back to Scheduled, the worker makes a second Job, and that pod
    completes the run."""
    result = pipelines.runs["k8s-crash-once"]
    state = result.flow_run.state
    assert state is not None and state.type == StateType.COMPLETED, cluster.diagnostics()
    assert result.flow_run.run_count == 2
    assert state_history(cluster, result.flow_run.id) == [
        "SCHEDULED",
        "PENDING",
        "RUNNING",
        "CRASHED",
        "SCHEDULED/AwaitingRetry",
        "PENDING",
        "RUNNING",
        "COMPLETED",
    ]
    with cluster.client() as client:
        crashes = [s for s in client.read_flow_run_states(result.flow_run.id) if s.is_crashed()]
    # The worker's observer saw the failed Job (the killed pod itself reported nothing).
    assert [s.message for s in crashes] == ["No active or succeeded pods found for any job"]
    first, second = result.jobs
    assert first["status"]["failed"] == 1 and second["status"]["succeeded"] == 1
    killed, finished = result.executions
    assert killed is not None and killed.killed_on_output and killed.returncode == 137
    assert finished is not None and finished.returncode == 0, cluster.diagnostics()
    assert "Task run 'save' - Finished in state Completed()" in finished.output
    assert written_report(pipelines, result)["run"] == str(result.flow_run.id)


def test_crash_retries_are_bounded_and_skip_runs_that_never_started(
    cluster: Cluster, pipelines: Pipelines
) -> None:
    """crash_retries counts Prefect's run_count (starts): 2 retries mean 3 pods at most, and a
    run whose pod died before the flow started (run count 0) is not retried at all."""
    with cluster.client() as client:
        automations = {
            name: client.read_resource_related_automations(f"prefect.deployment.{deployment}")
            for name, deployment in pipelines.deployments.items()
        }
    assert automations["k8s-report"] == []  # crash_retries: 0 makes no automation
    for name in ("k8s-crash-once", "k8s-crash-always", "k8s-never-starts"):
        assert [a.name for a in automations[name]] == [
            f"mimir: retry crashed runs of {name}/{PROJECT}"
        ]

    for key, run_count, jobs in (("k8s-crash-always", 3, 3), ("k8s-never-starts", 0, 1)):
        result = pipelines.runs[key]
        assert result.flow_run.state is not None
        crashed_at = result.flow_run.state.timestamp
        waited = (datetime.datetime.now(datetime.UTC) - crashed_at).total_seconds()
        time.sleep(max(0.0, RETRY_GRACE - waited))  # room for a wrong retry to show up
        run = cluster.read_run(result.flow_run.id)
        assert run.state is not None and run.state.type == StateType.CRASHED, key
        assert run.run_count == run_count, key
        assert len(cluster.jobs(run.id)) == jobs, key
        history = state_history(cluster, run.id)
        assert history.count("SCHEDULED/AwaitingRetry") == jobs - 1, (key, history)
        assert history.count("CRASHED") == jobs, (key, history)
    every_pod = pipelines.runs["k8s-crash-always"].executions
    assert all(e is not None and e.killed_on_output for e in every_pod), every_pod


def test_the_crash_retry_automation_follows_the_saved_pipeline(cluster: Cluster) -> None:
    """Saving with crash_retries makes one deployment-owned automation, saving again replaces
    it, saving with 0 removes it, and deleting the pipeline's deployment deletes it."""
    target = PipelineTarget(project=PROJECT, storage_url="file:///nowhere", work_pool=POOL)
    registry = load_registry()

    def save(crash_retries: int, version: int) -> str:
        text = f"name: k8s-lifecycle\ncrash_retries: {crash_retries}\n{PIPELINE_BODY}"
        return upsert_deployment(compile_pipeline(text, registry), version, target)

    def automations(deployment_id: str) -> list[Any]:
        with cluster.client() as client:
            return client.read_resource_related_automations(f"prefect.deployment.{deployment_id}")

    with cluster.prefect():
        deployment_id = save(1, 1)
        assert save(3, 2) == deployment_id
        (automation,) = automations(deployment_id)
        trigger = automation.trigger
        assert trigger.expect == {"prefect.flow-run.Crashed"}
        assert trigger.match.model_dump()["prefect.run-count"] == ["1", "2", "3"]
        assert trigger.match_related.model_dump() == {
            "prefect.resource.role": "deployment",
            "prefect.resource.id": f"prefect.deployment.{deployment_id}",
        }
        (action,) = automation.actions
        assert (action.type, action.state, action.name) == (
            "change-flow-run-state",
            StateType.SCHEDULED,
            "AwaitingRetry",
        )
        save(0, 3)
        assert automations(deployment_id) == []
        save(1, 4)
        assert len(automations(deployment_id)) == 1
        delete_deployment(deployment_id)
        assert automations(deployment_id) == []


# --- every run, and the worker's calls --------------------------------------------------------


def test_every_flow_run_made_one_job_per_attempt(
    cluster: Cluster, completed_run: RunResult, pipelines: Pipelines
) -> None:
    by_run: dict[str, int] = {}
    for job in cluster.jobs():
        run_id = job["metadata"]["labels"]["prefect.io/flow-run-id"]
        by_run[run_id] = by_run.get(run_id, 0) + 1
    assert by_run == {str(run_id): jobs for run_id, jobs in cluster.runs.items()}


def rule_allows(rules: list[dict[str, Any]], verb: str, group: str, resource: str) -> bool:
    return any(
        group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
        for rule in rules
    )


def test_the_worker_only_makes_calls_its_role_allows(
    cluster: Cluster,
    rendered: dict[str, list[dict[str, Any]]],
    completed_run: RunResult,
    pipelines: Pipelines,
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
    cluster: Cluster, completed_run: RunResult, pipelines: Pipelines
) -> None:
    assert not cluster.kubelet.errors, cluster.kubelet.errors
