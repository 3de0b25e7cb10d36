"""`mimir up`: start the Prefect server, a process worker and the API as one process tree.

The supervisor owns the order: Prefect first (unless PREFECT_API_URL points at one), then the
work pool and Mimir's deployments, then the worker, then the API. It stops them in reverse on
Ctrl-C/SIGTERM. A child that dies while the platform runs is started again, with a growing
pause (1 s, 2 s, 4 s … 30 s; reset once it stayed up a minute), and the others stay up: a
crashed worker must not take the API down with it.

Flow runs are processes the worker starts in their own sessions, so they would outlive a
killed worker unnoticed. The supervisor is a *child subreaper*: orphaned flow processes become
its children, it stops them and marks their flow runs CRASHED in Prefect, where the pipeline's
`crash_retries` automation starts them again on the restarted worker.

A Prefect worker ignores the first SIGTERM while idle, so it gets a second one, then a kill.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from mimir_api.core.config import Settings
from mimir_api.core.security import generate_worker_token
from mimir_api.home import PlatformRecord, forget_platform, record_platform

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
RESTART_PAUSE_MAX_S = 30.0
STABLE_AFTER_S = 60.0
REAP_EVERY_S = 5.0


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(option, value)


def _die_with_parent() -> None:
    """Linux: have the kernel SIGTERM a child if the supervisor itself is killed."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ChildSpec:
    """How to (re)start one supervised process."""

    name: str
    args: list[str]
    env: Callable[[], dict[str, str]]
    to_terminal: bool = False
    signals: int = 1


@dataclass
class Child:
    """One supervised process."""

    name: str
    process: subprocess.Popen[bytes]
    log: IO[bytes] | None = None
    signals_to_stop: int = 1
    spec: ChildSpec | None = None
    started: float = field(default_factory=time.monotonic)
    restarts: int = 0
    restart_at: float | None = None

    def stop(self, grace: float = 15.0) -> None:
        """Signal (once or twice, as the program needs) and kill if it does not exit."""
        if self.process.poll() is None:
            for attempt in range(self.signals_to_stop):
                with contextlib.suppress(ProcessLookupError):
                    self.process.send_signal(signal.SIGTERM)
                wait = grace if attempt == self.signals_to_stop - 1 else 2.0
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=wait)
                    break
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        if self.log:
            self.log.close()
            self.log = None


@dataclass
class Supervisor:
    """Starts, watches, restarts and stops Mimir's processes."""

    settings: Settings
    echo: Callable[[str], None] = print
    children: list[Child] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    worker_secret: str = field(default_factory=generate_worker_token, repr=False)
    next_reap: float = 0.0

    @property
    def log_dir(self) -> Path:
        """Where the Prefect server's and worker's output goes."""
        return self.settings.home / "logs"

    def child_env(self) -> dict[str, str]:
        """The environment every child shares, so they agree on homes and URLs."""
        env = dict(os.environ)
        for private in ("MIMIR_API_TOKEN", "MIMIR_WORKER_TOKEN"):
            env.pop(private, None)
        env.update(
            MIMIR_HOME=str(self.settings.home),
            PREFECT_HOME=env.get("PREFECT_HOME", str(self.settings.home / "prefect")),
            PREFECT_API_URL=self.settings.resolved_prefect_api_url,
            DO_NOT_TRACK="1",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_WORKER_QUERY_SECONDS=env.get("PREFECT_WORKER_QUERY_SECONDS", "1"),
            PREFECT_WORKER_PREFETCH_SECONDS=env.get("PREFECT_WORKER_PREFETCH_SECONDS", "5"),
            MIMIR_HOST=self.settings.host,
            MIMIR_PORT=str(self.settings.port),
        )
        return env

    def prefect_server_env(self) -> dict[str, str]:
        """The embedded Prefect server's environment: the shared one, minus the late-runs service.

        On SQLite that service re-marks every queued run 'Late' every few seconds; with twenty
        runs waiting for the worker it held the database so often that creating a run got
        'database is locked' (503) over and over and Prefect's client backed off past a
        minute. 'Late' is only a label (the run stays SCHEDULED), so Mimir turns it off unless
        the operator sets it.
        """
        env = self.child_env()
        env.setdefault("PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", "false")
        return env

    def api_env(self) -> dict[str, str]:
        """The API's environment: the shared one, plus the credential it accepts from workers."""
        env = self.child_env()
        env["MIMIR_WORKER_TOKEN"] = self.worker_secret
        return env

    def worker_env(self) -> dict[str, str]:
        """The worker's environment: the shared one, plus where and how flows hand results.

        Flows run without the metadata DB and post results (ontology proposals) to the API at
        MIMIR_API_URL with MIMIR_API_TOKEN: this start's worker credential (scope write),
        which the API accepts whatever the token state, so a token created mid-session (auth
        turning on) does not cut the worker off. It exists only in these environments.
        """
        env = self.child_env()
        env["MIMIR_API_URL"] = self.api_url
        env["MIMIR_API_TOKEN"] = self.worker_secret
        return env

    def spawn(self, spec: ChildSpec) -> Child:
        """Start a child in its own session (the terminal's Ctrl-C reaches only us)."""
        log = None
        if not spec.to_terminal:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.log_dir / f"{spec.name}.log", "ab")  # noqa: SIM115 (closed by Child.stop)
        process = subprocess.Popen(  # noqa: S603 (our own, fixed command lines)
            spec.args,
            env=spec.env(),
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        child = Child(
            name=spec.name, process=process, log=log, signals_to_stop=spec.signals, spec=spec
        )
        self.children.append(child)
        return child

    def wait_healthy(self, name: str, url: str, timeout: float) -> None:
        """Poll `url` until it answers 200, a child dies, or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping.is_set():
            self.check_children()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        if self.stopping.is_set():
            raise KeyboardInterrupt
        raise RuntimeError(f"{name} did not become healthy at {url} within {timeout:.0f}s")

    def check_children(self) -> None:
        """While starting: raise if any child has exited; the caller then stops the others."""
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                hint = f" (see {self.log_dir / child.name}.log)" if child.log else ""
                raise RuntimeError(f"{child.name} exited with code {code}{hint}")

    def watch_children(self) -> None:
        """While running: restart dead children with a growing pause; stop a dead worker's
        orphaned flow processes and mark their runs CRASHED."""
        now = time.monotonic()
        for index, child in enumerate(list(self.children)):
            if child.spec is None:
                continue
            code = child.process.poll()
            if code is None:
                if now - child.started > STABLE_AFTER_S:
                    child.restarts = 0
                continue
            if child.restart_at is None:
                pause = min(RESTART_PAUSE_MAX_S, 2.0**child.restarts)
                hint = f" (see {self.log_dir / child.name}.log)" if child.log else ""
                self.echo(
                    f"mimir up: {child.name} exited with code {code}{hint}; "
                    f"starting it again in {pause:.0f}s"
                )
                if child.name == "worker":
                    self.end_orphaned_flow_runs()
                child.restart_at = now + pause
            elif now >= child.restart_at:
                child.stop()
                fresh = self.spawn(child.spec)
                self.children.pop()  # spawn appended it; it takes the dead child's place
                self.children[index] = fresh
                fresh.restarts = child.restarts + 1
                self.echo(f"mimir up: {child.name} started again (pid {fresh.process.pid})")
        if now >= self.next_reap:
            reap_orphans(self.known_pids())
            self.next_reap = now + REAP_EVERY_S

    def known_pids(self) -> set[int]:
        """The supervisor's own children (everything else under it is an orphan)."""
        return {child.process.pid for child in self.children}

    def end_orphaned_flow_runs(self) -> None:
        """Stop the flow processes a dead worker left behind and mark their runs CRASHED."""
        orphans = orphan_pids(self.known_pids())
        run_ids = [run for run in (flow_run_id_of(pid) for pid in orphans) if run]
        stop_processes(orphans)
        for run_id in run_ids:
            try:
                mark_crashed(
                    self.settings.resolved_prefect_api_url,
                    run_id,
                    "the worker running this flow run died; its process was stopped by mimir up",
                )
                self.echo(f"mimir up: flow run {run_id} lost its worker; marked CRASHED")
            except httpx.HTTPError as exc:
                self.echo(f"mimir up: could not mark flow run {run_id} CRASHED: {exc}")

    def start_prefect_server(self) -> None:
        """Start Prefect's server on SQLite under MIMIR_HOME, unless one is configured."""
        if self.settings.prefect_api_url:
            self.echo(f"Using the Prefect API at {self.settings.prefect_api_url}")
            self.wait_healthy("Prefect", f"{self.settings.prefect_api_url}/health", 30)
            return
        port = self.settings.prefect_port
        ensure_port_free("127.0.0.1", port, "MIMIR_PREFECT_PORT")
        self.echo(f"Starting the Prefect server on 127.0.0.1:{port} …")
        self.spawn(
            ChildSpec(
                "prefect-server",
                [
                    sys.executable,
                    "-m",
                    "prefect",
                    "server",
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                self.prefect_server_env,
            )
        )
        self.wait_healthy("Prefect server", f"{self.settings.resolved_prefect_api_url}/health", 180)

    def register_deployments(self) -> list[str]:
        """Create the work pool and Mimir's deployments in a child (clean Prefect settings)."""
        code = (
            "import sys; from flows.deploy import ensure_work_pool, register_mimir_deployments;"
            "ensure_work_pool(sys.argv[1]);"
            "[print('DEPLOYMENT', n) for n in register_mimir_deployments(sys.argv[1])]"
        )
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code, self.settings.work_pool],
            env=self.child_env(),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"registering Mimir's deployments failed:\n{result.stderr[-2000:]}")
        return [
            line.split()[1] for line in result.stdout.splitlines() if line.startswith("DEPLOYMENT ")
        ]

    def start_worker(self) -> None:
        """Start a process worker on Mimir's work pool (polls every second)."""
        self.spawn(
            ChildSpec(
                "worker",
                [
                    sys.executable,
                    "-m",
                    "prefect",
                    "worker",
                    "start",
                    "--pool",
                    self.settings.work_pool,
                    "--type",
                    "process",
                    "--limit",
                    str(self.settings.worker_limit),
                ],
                self.worker_env,
                signals=2,
            )
        )

    def start_api(self) -> None:
        """Start the API server (REST, MCP and UI), logging to the terminal."""
        ensure_port_free(self.settings.host, self.settings.port, "--port / MIMIR_PORT")
        self.spawn(
            ChildSpec(
                "api",
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "mimir_api.api.app:create_app",
                    "--factory",
                    "--host",
                    self.settings.host,
                    "--port",
                    str(self.settings.port),
                    "--log-level",
                    "warning",
                ],
                self.api_env,
                to_terminal=True,
            )
        )
        self.wait_healthy("Mimir API", f"{self.api_url}/api/v1/health", 90)

    @property
    def api_url(self) -> str:
        """The address users open (IPv6 hosts bracketed)."""
        host = self.settings.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{self.settings.port}"

    def run(self) -> int:
        """Start everything, keep it running until a signal, stop everything."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stopping.set())
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        record = PlatformRecord(
            home=str(self.settings.home),
            pid=os.getpid(),
            api_url=self.api_url,
            prefect_api_url=self.settings.resolved_prefect_api_url,
        )
        try:
            self.start_prefect_server()
            deployments = self.register_deployments()
            self.start_worker()
            self.start_api()
            record_platform(record)
            self.echo(
                "\nMimir AIP is up.\n"
                f"  Mimir UI      {self.api_url}/\n"
                f"  REST API      {self.api_url}/api/v1  (docs: {self.api_url}/api/v1/docs)\n"
                f"  MCP           {self.api_url}/mcp\n"
                f"  Prefect UI    {self.settings.resolved_prefect_api_url.removesuffix('/api')}\n"
                f"  Work pool     {self.settings.work_pool} ({', '.join(deployments)})\n"
                f"  Data          {self.settings.home}\n"
                "Press Ctrl-C to stop."
            )
            while not self.stopping.wait(0.5):
                self.watch_children()
            return 0
        except KeyboardInterrupt:
            return 0
        except RuntimeError as exc:
            self.echo(f"mimir up: {exc}")
            return 1
        finally:
            self.echo("Stopping …")
            forget_platform(record)
            for child in reversed(self.children):
                child.stop()
            stop_processes(orphan_pids(set()))
            self.echo("Stopped.")


def _proc_children(parent: int) -> list[int]:
    """Direct children of `parent`, from /proc (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(stat[1]) == parent:
            found.append(int(entry.name))
    return found


def orphan_pids(known: set[int]) -> list[int]:
    """Processes re-parented to this (subreaper) process that it did not start itself."""
    return [pid for pid in _proc_children(os.getpid()) if pid not in known]


def flow_run_id_of(pid: int) -> str | None:
    """The Prefect flow run a process executes (the worker passes PREFECT__FLOW_RUN_ID)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for entry in environ:
        if entry.startswith(b"PREFECT__FLOW_RUN_ID="):
            return entry.split(b"=", 1)[1].decode() or None
    return None


def stop_processes(pids: list[int], grace: float = 5.0) -> None:
    """SIGTERM each process and its session, SIGKILL what is left after `grace`, and reap."""
    for pid in pids:
        for send in (os.killpg, os.kill):
            with contextlib.suppress(OSError):
                send(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    pending = set(pids)
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    pending.discard(pid)
                    continue
            if not Path(f"/proc/{pid}").exists():
                pending.discard(pid)
        time.sleep(0.1)
    for pid in pending:
        for send in (os.killpg, os.kill):
            with contextlib.suppress(OSError):
                send(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def reap_orphans(known: set[int]) -> None:
    """Collect the exit status of orphans that ended, so no zombies pile up under us."""
    for pid in orphan_pids(known):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def mark_crashed(prefect_api_url: str, flow_run_id: str, message: str) -> None:
    """Force a flow run into CRASHED (Prefect then emits the event crash retries react to)."""
    response = httpx.post(
        f"{prefect_api_url.rstrip('/')}/flow_runs/{flow_run_id}/set_state",
        json={"state": {"type": "CRASHED", "name": "Crashed", "message": message}, "force": True},
        timeout=30,
    )
    response.raise_for_status()


def ensure_port_free(host: str, port: int, option: str) -> None:
    """Fail early and clearly when a port is taken, instead of a child dying later."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise RuntimeError(
                f"{host}:{port} is already in use; choose another with {option}"
            ) from None
