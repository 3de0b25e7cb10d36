"""Start and stop the real servers the tests use (Prefect, `mimir up`), and find free ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
POSTGRES_ADMIN_URL = os.environ.get(
    "MIMIR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll until `url` answers 200; fail early if `process` dies."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} was up")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise TimeoutError(f"{url} not healthy after {timeout}s: {last}")


def stop_process(process: subprocess.Popen[bytes], signals: int = 2, grace: float = 20) -> None:
    """SIGINT/SIGTERM (twice for Prefect workers), then kill; never leave a child behind."""
    for attempt in range(signals):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM if attempt else signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace if attempt == signals - 1 else 3)
    if process.poll() is None:
        process.kill()
        process.wait()


@contextlib.contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database (dropped afterwards); yields its SQLAlchemy URL (psycopg).

    Fails loudly if the server at MIMIR_TEST_POSTGRES_URL cannot be reached: these tests need
    a real PostgreSQL and must not skip.
    """
    admin = make_url(POSTGRES_ADMIN_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL at {admin.render_as_string()} is unreachable ({exc}); "
            "start it (scripts/ensure-services.sh) or set MIMIR_TEST_POSTGRES_URL"
        ) from exc
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class PrefectServer:
    """A running `prefect server start`."""

    api_url: str
    home: Path
    process: subprocess.Popen[bytes]


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """Environment for Prefect processes of the test session."""
    env = dict(os.environ)
    env.update(
        PREFECT_HOME=str(home),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


@contextlib.contextmanager
def prefect_server(home: Path, database_url: str) -> Iterator[PrefectServer]:
    """Run a real Prefect server on `database_url` (asyncpg) until the block ends."""
    port = free_port()
    env = prefect_env(home)
    env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    log = open(home / "prefect-server.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        wait_http(f"{api_url}/health", timeout=180, process=process)
        yield PrefectServer(api_url=api_url, home=home, process=process)
    finally:
        stop_process(process)
        log.close()


# Platform tests share two CPU cores with a Prefect server, a worker and its flow-run
# processes; a generous client timeout keeps a slow moment from failing a correct test.
http = httpx.Client(timeout=60)
