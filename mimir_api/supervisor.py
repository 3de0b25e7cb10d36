"""`mimir up`: start the Prefect server, a process worker and the API as one process tree.

The supervisor owns the order: Prefect first (unless PREFECT_API_URL points at one), then the
work pool and Mimir's deployments, then the worker, then the API. It stops them in reverse on
Ctrl-C/SIGTERM, and if any child dies it stops the rest rather than limp on half-alive. A
Prefect worker ignores the first SIGTERM while idle, so it gets a second one, then a kill.
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

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: have the kernel SIGTERM a child if the supervisor itself is killed."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One supervised process."""

    name: str
    process: subprocess.Popen[bytes]
    log: IO[bytes] | None = None
    signals_to_stop: int = 1

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


@dataclass
class Supervisor:
    """Starts, watches and stops Mimir's processes."""

    settings: Settings
    echo: Callable[[str], None] = print
    children: list[Child] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def log_dir(self) -> Path:
        """Where the Prefect server's and worker's output goes."""
        return self.settings.home / "logs"

    def child_env(self) -> dict[str, str]:
        """The environment every child shares, so they agree on homes and URLs."""
        env = dict(os.environ)
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

    def worker_env(self) -> dict[str, str]:
        """The worker's environment: the shared one, plus where flows hand results to the API.

        Flows run without the metadata DB and post results (ontology proposals) to the API at
        MIMIR_API_URL. When auth is on, the worker also gets a freshly rotated internal token
        (`mimir-worker`, scope write); it exists only in this environment, never on disk.
        """
        env = self.child_env()
        env["MIMIR_API_URL"] = self.api_url
        env.pop("MIMIR_API_TOKEN", None)
        token = worker_token(self.settings)
        if token is not None:
            env["MIMIR_API_TOKEN"] = token
        return env

    def spawn(
        self,
        name: str,
        args: list[str],
        *,
        to_terminal: bool = False,
        signals: int = 1,
        env: dict[str, str] | None = None,
    ) -> Child:
        """Start a child in its own session (the terminal's Ctrl-C reaches only us)."""
        log = None
        if not to_terminal:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed by Child.stop)
        process = subprocess.Popen(  # noqa: S603 (our own, fixed command lines)
            args,
            env=self.child_env() if env is None else env,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        child = Child(name=name, process=process, log=log, signals_to_stop=signals)
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
        """Raise if any child has exited; the caller then stops the others."""
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                hint = f" (see {self.log_dir / child.name}.log)" if child.log else ""
                raise RuntimeError(f"{child.name} exited with code {code}{hint}")

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
            signals=2,
            env=self.worker_env(),
        )

    def start_api(self) -> None:
        """Start the API server (REST, MCP and UI), logging to the terminal."""
        ensure_port_free(self.settings.host, self.settings.port, "--port / MIMIR_PORT")
        self.spawn(
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
            to_terminal=True,
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
        """Start everything, wait for a signal or a dead child, stop everything."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stopping.set())
        try:
            self.start_prefect_server()
            deployments = self.register_deployments()
            self.start_worker()
            self.start_api()
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
                self.check_children()
            return 0
        except KeyboardInterrupt:
            return 0
        except RuntimeError as exc:
            self.echo(f"mimir up: {exc}")
            return 1
        finally:
            self.echo("Stopping …")
            for child in reversed(self.children):
                child.stop()
            self.echo("Stopped.")


WORKER_TOKEN_NAME = "mimir-worker"  # noqa: S105 (a token name, not a secret)


def worker_token(settings: Settings) -> str | None:
    """Rotate the worker's internal token when the API requires auth; None in open mode.

    A token is only created while auth is already on: creating one in open mode would turn
    auth on for everybody. Rotation deletes the previous `mimir-worker` row (names are unique).
    """
    from sqlmodel import Session, select

    from mimir_api.core.security import Scope, auth_required, create_token
    from mimir_api.db.engine import make_engine
    from mimir_api.db.models import ApiToken

    engine = make_engine(settings.resolved_database_url)
    try:
        if not auth_required(settings, engine):
            return None
        with Session(engine) as session:
            for old in session.exec(select(ApiToken).where(ApiToken.name == WORKER_TOKEN_NAME)):
                session.delete(old)
            session.commit()
        return create_token(engine, WORKER_TOKEN_NAME, frozenset({Scope.WRITE}))
    finally:
        engine.dispose()


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
