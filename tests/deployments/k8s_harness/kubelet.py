"""TEST INFRASTRUCTURE: a test "kubelet" (plus the bit of Job controller the tests need).

For every Job that appears in its namespace it:

1. creates the Job's Pod through the API (labels `job-name`, `controller-uid`, an
   ownerReference), and marks the Job active;
2. builds the container's environment the way a kubelet does: the image's ENV, then `envFrom`
   (ConfigMaps/Secrets read through the API), then `env` (values with `$(VAR)` expansion,
   `fieldRef`, `secretKeyRef`, `configMapKeyRef`);
3. runs the container's command (`command`/`args` over the image's entrypoint) as a LOCAL
   PROCESS: the "image" is the test's own virtualenv (see `ImageRuntime`), and each `emptyDir`
   mount becomes a per-pod local directory (env values and the working directory under a
   mount path are rewritten to it, since a local process has no mount namespace);
4. writes the outcome back through the API: Pod phase and container state, Job
   `succeeded`/`failed` with Complete/Failed conditions; the output becomes the pod's log.

Faults a test injects (`TestKubelet.inject(Fault(...))`), chosen by the Job's labels:
`OOM_BEFORE_START` does not run the container: its pod is reported OOMKilled (exit 137) and the
Job failed, like a pod that dies before the flow run reaches Prefect; `OOM_ON_OUTPUT` runs it
and, as soon as its output contains a given text, SIGKILLs all its processes at once (as the
kernel kills a container's cgroup) and reports it the same way, like a pod OOM-killed while the
flow runs. `attempts=N` limits a fault to the first N Jobs of one flow run (label
`prefect.io/flow-run-id`), so a retry in a new Job runs normally. Not emulated: scheduling,
resource limits, security contexts, image pulls, restarts and Job retries (Mimir's template
sets backoffLimit 0), networking.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import signal
import subprocess
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from .api import now_rfc3339, random_suffix

OOM_BEFORE_START = "oom-killed-before-start"
OOM_ON_OUTPUT = "oom-killed-on-output"
ATTEMPT_LABEL = "prefect.io/flow-run-id"  # Jobs with the same value are attempts of one run
FaultKind = Literal["oom-killed-before-start", "oom-killed-on-output"]

_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\$")


def expand_k8s_vars(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: known names are replaced, unknown stay, `$$` is `$`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _VAR_REF.sub(replace, value)


@dataclass(frozen=True)
class ImageRuntime:
    """What the emulated container runtime knows about one image reference."""

    env: Mapping[str, str] = field(default_factory=dict)  # the image's ENV
    entrypoint: tuple[str, ...] = ()  # the image's ENTRYPOINT
    cmd: tuple[str, ...] = ()  # the image's CMD
    workdir: str = "/"  # the image's WORKDIR


@dataclass(frozen=True)
class Fault:
    """A failure the test kubelet injects into every Job whose labels include `labels`."""

    labels: Mapping[str, str]
    kind: FaultKind
    output: str = ""  # OOM_ON_OUTPUT: kill the container once its output contains this
    attempts: int | None = None  # only the first N Jobs of a flow run; None: every Job

    def selects(self, job_labels: Mapping[str, str]) -> bool:
        return all(job_labels.get(key) == value for key, value in self.labels.items())


@dataclass
class Execution:
    """One container the kubelet ran as a local process."""

    job: str
    pod: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    returncode: int | None = None
    output: str = ""
    killed_on_output: bool = False  # an OOM_ON_OUTPUT fault killed it


class ContainerConfigError(Exception):
    """The pod cannot start (CreateContainerConfigError, ErrImagePull, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class TestKubelet:
    """Runs the Jobs of one namespace as local processes; see the module docstring."""

    __test__ = False  # a helper, not a pytest test class

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        namespace: str,
        images: Mapping[str, ImageRuntime],
        root: Path,
        log_sink: Callable[[str, str, str], None],
        run_timeout: float = 300,
        poll_interval: float = 0.25,
    ) -> None:
        self.api_url = api_url
        self.token = token
        self.namespace = namespace
        self.images = dict(images)
        self.root = root
        self.log_sink = log_sink
        self.run_timeout = run_timeout
        self.poll_interval = poll_interval
        self.executions: dict[str, Execution] = {}  # by Job name
        self.events: list[str] = []  # what happened, for failure messages
        self.errors: list[str] = []
        self._seen: set[str] = set()
        self._faults: list[Fault] = []
        self._attempts: dict[str, int] = {}  # Jobs seen per ATTEMPT_LABEL value
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._processes: list[subprocess.Popen[str]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="test-kubelet", daemon=True)

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> TestKubelet:
        self._thread.start()
        return self

    def inject(self, fault: Fault) -> None:
        """Apply `fault` to the Jobs it selects from now on."""
        with self._lock:
            self._faults.append(fault)

    def _fault_for(self, job_name: str, labels: Mapping[str, str]) -> Fault | None:
        with self._lock:
            key = labels.get(ATTEMPT_LABEL, job_name)
            attempt = self._attempts[key] = self._attempts.get(key, 0) + 1
            return next(
                (
                    f
                    for f in self._faults
                    if f.selects(labels) and (f.attempts is None or attempt <= f.attempts)
                ),
                None,
            )

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            if process.poll() is None:
                kill_container(process.pid)
        self._thread.join(timeout=10)
        for thread in list(self._threads):
            thread.join(timeout=10)

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )

    def _note(self, message: str) -> None:
        with self._lock:
            self.events.append(message)

    # the sync loop -----------------------------------------------------------------------

    def _loop(self) -> None:
        with self._client() as client:
            while not self._stop.is_set():
                try:
                    response = client.get(f"/apis/batch/v1/namespaces/{self.namespace}/jobs")
                    response.raise_for_status()
                    for job in response.json().get("items", []):
                        uid = job["metadata"]["uid"]
                        if uid in self._seen:
                            continue
                        self._seen.add(uid)
                        thread = threading.Thread(
                            target=self._run_job_safely,
                            args=(job,),
                            name=f"test-kubelet-{job['metadata']['name']}",
                            daemon=True,
                        )
                        self._threads.append(thread)
                        thread.start()
                except Exception as exc:  # keep syncing; the test reads self.errors
                    self.errors.append(f"sync loop: {exc!r}")
                self._stop.wait(self.poll_interval)

    def _run_job_safely(self, job: dict[str, Any]) -> None:
        try:
            with self._client() as client:
                self._run_job(client, job)
        except Exception as exc:
            where = "".join(traceback.format_exception(exc)[-4:]).strip()
            self.errors.append(f"job {job['metadata']['name']}: {exc!r}\n{where}")

    # one Job -----------------------------------------------------------------------------

    def _run_job(self, client: httpx.Client, job: dict[str, Any]) -> None:
        job_meta = job["metadata"]
        job_name, job_uid = job_meta["name"], job_meta["uid"]
        namespace = job_meta.get("namespace") or self.namespace
        template = job["spec"]["template"]
        pod_meta = template.get("metadata") or {}
        pod_name = f"{job_name}-{random_suffix()}"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": namespace,
                "labels": {
                    **(pod_meta.get("labels") or {}),
                    "batch.kubernetes.io/controller-uid": job_uid,
                    "batch.kubernetes.io/job-name": job_name,
                    "controller-uid": job_uid,
                    "job-name": job_name,
                },
                "annotations": dict(pod_meta.get("annotations") or {}),
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": job_name,
                        "uid": job_uid,
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": template["spec"],
            "status": {"phase": "Pending"},
        }
        self._request(client, "POST", f"/api/v1/namespaces/{namespace}/pods", pod)
        pod_path = f"/api/v1/namespaces/{namespace}/pods/{pod_name}"
        job_path = f"/apis/batch/v1/namespaces/{namespace}/jobs/{job_name}"
        self._patch_status(client, job_path, {"active": 1, "startTime": now_rfc3339()})
        self._note(f"job {job_name}: pod {pod_name} created")

        container = template["spec"]["containers"][0]
        fault = self._fault_for(job_name, job_meta.get("labels") or {})
        if fault is not None and fault.kind == OOM_BEFORE_START:
            self._finish(client, job_path, pod_path, container, 137, "OOMKilled", started=None)
            self._note(f"job {job_name}: reported OOMKilled without running")
            return
        if job["spec"].get("backoffLimit", 6) != 0:
            self.errors.append(f"job {job_name}: backoffLimit != 0 (retries are not emulated)")

        try:
            argv, env, cwd = self._container_process(client, namespace, pod, container)
        except ContainerConfigError as exc:
            self._patch_status(
                client,
                pod_path,
                {
                    "phase": "Failed",
                    "containerStatuses": [
                        self._container_status(
                            container,
                            {"waiting": {"reason": exc.reason, "message": exc.message}},
                        )
                    ],
                },
            )
            self._job_failed(client, job_path, exc.reason)
            self._note(f"job {job_name}: {exc}")
            return

        started = now_rfc3339()
        process = subprocess.Popen(  # the container, as a local process
            argv,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        with self._lock:
            self._processes.append(process)
        execution = Execution(job=job_name, pod=pod_name, argv=argv, env=env, cwd=cwd)
        self.executions[job_name] = execution
        self._patch_status(
            client,
            pod_path,
            {
                "phase": "Running",
                "podIP": "127.0.0.1",
                "startTime": started,
                "containerStatuses": [
                    self._container_status(container, {"running": {"startedAt": started}}, True)
                ],
            },
        )
        self._note(f"job {job_name}: running {argv}")
        kill_on = fault.output if fault is not None and fault.kind == OOM_ON_OUTPUT else None
        returncode, output = self._wait(process, job_name, execution, kill_on)
        execution.returncode = returncode
        execution.output = output
        self.log_sink(namespace, pod_name, output)
        if execution.killed_on_output:
            reason = "OOMKilled"
            self._note(f"job {job_name}: OOM-killed after its output showed {kill_on!r}")
        else:
            reason = "Completed" if returncode == 0 else "Error"
        self._finish(client, job_path, pod_path, container, returncode, reason, started=started)
        self._note(f"job {job_name}: exited {returncode}")

    def _wait(
        self,
        process: subprocess.Popen[str],
        job_name: str,
        execution: Execution,
        kill_on: str | None,
    ) -> tuple[int, str]:
        """Collect the container's output until it exits; SIGKILL all its processes when the
        output contains `kill_on`, or after `run_timeout` seconds (an error)."""
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            kill_container(process.pid)

        timer = threading.Timer(self.run_timeout, kill)
        timer.start()
        lines: list[str] = []
        try:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if kill_on and not execution.killed_on_output and kill_on in line:
                    execution.killed_on_output = True
                    kill_container(process.pid)
            returncode = process.wait()
        finally:
            timer.cancel()
        if returncode < 0:  # killed by a signal: report it the way a container runtime does
            returncode = 128 - returncode
        if timed_out.is_set():
            self.errors.append(f"job {job_name}: killed after {self.run_timeout}s")
        return returncode, "".join(lines)

    def _container_process(
        self,
        client: httpx.Client,
        namespace: str,
        pod: dict[str, Any],
        container: dict[str, Any],
    ) -> tuple[list[str], dict[str, str], str]:
        image = container.get("image", "")
        runtime = self.images.get(image)
        if runtime is None:
            raise ContainerConfigError("ErrImagePull", f"image {image!r} is unknown here")

        pod_dir = self.root / pod["metadata"]["name"]
        mounts = self._mounts(pod, container, pod_dir)

        # The emulated image's own env carries host paths (the test's virtualenv, which may
        # itself live under /tmp): only values from the pod spec are container paths to map
        # onto the pod's volumes.
        env: dict[str, str] = dict(runtime.env)
        from_spec: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            from_spec.update(self._env_from(client, namespace, source))
            env.update(from_spec)
        for entry in container.get("env") or []:
            name = entry["name"]
            if "value" in entry:
                from_spec[name] = expand_k8s_vars(str(entry["value"]), env)
            elif "valueFrom" in entry:
                value = self._value_from(client, namespace, pod, entry["valueFrom"])
                if value is None:
                    continue
                from_spec[name] = value
            else:
                from_spec[name] = ""
            env[name] = from_spec[name]
        env.update({name: _translate(value, mounts) for name, value in from_spec.items()})

        command = [expand_k8s_vars(str(a), env) for a in container.get("command") or []]
        args = [expand_k8s_vars(str(a), env) for a in container.get("args") or []]
        if command:
            argv = command + args
        else:
            argv = list(runtime.entrypoint) + (args if container.get("args") else list(runtime.cmd))
        if not argv:
            raise ContainerConfigError("CreateContainerError", "no command to run")

        workdir = container.get("workingDir") or runtime.workdir
        cwd = _translate(workdir, mounts)
        if cwd == workdir:  # not under a volume: the image's own filesystem
            cwd = str(pod_dir / "rootfs" / workdir.lstrip("/"))
        os.makedirs(cwd, exist_ok=True)
        return argv, env, cwd

    def _mounts(
        self, pod: dict[str, Any], container: dict[str, Any], pod_dir: Path
    ) -> dict[str, str]:
        volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        mounts: dict[str, str] = {}
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"])
            if volume is None:
                raise ContainerConfigError(
                    "CreateContainerConfigError", f"volume {mount['name']!r} not found"
                )
            if "emptyDir" not in volume:
                raise ContainerConfigError(
                    "CreateContainerConfigError",
                    f"the test kubelet only emulates emptyDir volumes, not {volume}",
                )
            host_dir = pod_dir / "volumes" / mount["name"]
            host_dir.mkdir(parents=True, exist_ok=True)
            mounts[mount["mountPath"].rstrip("/") or "/"] = str(host_dir)
        return mounts

    def _read(self, client: httpx.Client, path: str) -> dict[str, Any] | None:
        response = client.get(path)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def _env_from(
        self, client: httpx.Client, namespace: str, source: dict[str, Any]
    ) -> dict[str, str]:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            ref, kind = source["configMapRef"], "configmaps"
        elif "secretRef" in source:
            ref, kind = source["secretRef"], "secrets"
        else:
            raise ContainerConfigError("CreateContainerConfigError", f"bad envFrom {source}")
        obj = self._read(client, f"/api/v1/namespaces/{namespace}/{kind}/{ref['name']}")
        if obj is None:
            if ref.get("optional"):
                return {}
            raise ContainerConfigError(
                "CreateContainerConfigError", f"{kind} {ref['name']!r} not found"
            )
        data = _object_data(obj, kind)
        return {f"{prefix}{key}": value for key, value in data.items()}

    def _value_from(
        self,
        client: httpx.Client,
        namespace: str,
        pod: dict[str, Any],
        value_from: dict[str, Any],
    ) -> str | None:
        if "fieldRef" in value_from:
            path = value_from["fieldRef"]["fieldPath"]
            fields = {
                "metadata.name": pod["metadata"]["name"],
                "metadata.namespace": namespace,
                "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
                "status.podIP": "127.0.0.1",
            }
            if path not in fields:
                raise ContainerConfigError("CreateContainerConfigError", f"fieldRef {path}")
            return fields[path]
        for key, kind in (("secretKeyRef", "secrets"), ("configMapKeyRef", "configmaps")):
            if key in value_from:
                ref = value_from[key]
                obj = self._read(client, f"/api/v1/namespaces/{namespace}/{kind}/{ref['name']}")
                data = _object_data(obj, kind) if obj is not None else None
                if data is None or ref["key"] not in data:
                    if ref.get("optional"):
                        return None
                    raise ContainerConfigError(
                        "CreateContainerConfigError", f"{kind} {ref['name']}/{ref['key']} missing"
                    )
                return data[ref["key"]]
        raise ContainerConfigError("CreateContainerConfigError", f"valueFrom {value_from}")

    # status ------------------------------------------------------------------------------

    @staticmethod
    def _container_status(
        container: dict[str, Any], state: dict[str, Any], ready: bool = False
    ) -> dict[str, Any]:
        return {
            "name": container["name"],
            "image": container.get("image", ""),
            "ready": ready,
            "restartCount": 0,
            "state": state,
        }

    def _finish(
        self,
        client: httpx.Client,
        job_path: str,
        pod_path: str,
        container: dict[str, Any],
        exit_code: int,
        reason: str,
        started: str | None,
    ) -> None:
        finished = now_rfc3339()
        terminated = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": started or finished,
            "finishedAt": finished,
        }
        self._patch_status(
            client,
            pod_path,
            {
                "phase": "Succeeded" if exit_code == 0 else "Failed",
                "containerStatuses": [
                    self._container_status(container, {"terminated": terminated})
                ],
            },
        )
        if exit_code == 0:
            self._patch_status(
                client,
                job_path,
                {
                    "active": 0,
                    "succeeded": 1,
                    "completionTime": finished,
                    "conditions": [
                        _condition("SuccessCriteriaMet", "CompletionsReached"),
                        _condition("Complete", "CompletionsReached"),
                    ],
                },
            )
        else:
            self._job_failed(client, job_path, reason)

    def _job_failed(self, client: httpx.Client, job_path: str, reason: str) -> None:
        self._patch_status(
            client,
            job_path,
            {
                "active": 0,
                "failed": 1,
                "conditions": [
                    _condition("FailureTarget", "BackoffLimitExceeded", reason),
                    _condition("Failed", "BackoffLimitExceeded", reason),
                ],
            },
        )

    def _patch_status(self, client: httpx.Client, path: str, status: dict[str, Any]) -> None:
        self._request(client, "PATCH", f"{path}/status", {"status": status})

    @staticmethod
    def _request(client: httpx.Client, method: str, path: str, body: dict[str, Any]) -> None:
        content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
        response = client.request(method, path, json=body, headers={"Content-Type": content_type})
        response.raise_for_status()


def _process_tree(root: int) -> set[int]:
    """`root` and every process descended from it (from /proc: Linux only)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry.name))
    tree: set[int] = set()
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, ()))
    return tree


def kill_container(root: int) -> None:
    """SIGKILL every process of a container at once, as the kernel does to its cgroup.

    The container's processes need not share a process group (`prefect flow-run execute`
    starts the flow engine in a session of its own), so the process tree is frozen with
    SIGSTOP, until no new process appears, and then killed: no process of the "pod" outlives
    it or reports anything after the kill.
    """
    frozen: set[int] = set()
    while new := _process_tree(root) - frozen:
        for pid in new:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        frozen |= new
    for pid in frozen:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _condition(type_: str, reason: str, message: str = "") -> dict[str, str]:
    now = now_rfc3339()
    return {
        "type": type_,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": now,
        "lastTransitionTime": now,
    }


def _object_data(obj: dict[str, Any], kind: str) -> dict[str, str]:
    if kind == "secrets":
        data = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
        data.update(obj.get("stringData") or {})
        return data
    return dict(obj.get("data") or {})


def _translate(value: str, mounts: Mapping[str, str]) -> str:
    """Rewrite a container path under an emptyDir mount to the pod's local directory."""
    for mount_path in sorted(mounts, key=len, reverse=True):
        if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
            return mounts[mount_path] + value[len(mount_path.rstrip("/")) :]
    return value
