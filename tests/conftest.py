"""Session-wide fixtures: one real Prefect server (on PostgreSQL) and one real `mimir up`.

Every fixture here starts real processes. Nothing is mocked: a server that cannot start or
be reached fails the tests that need it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.utils.servers import (
    VENV_BIN,
    PrefectServer,
    free_port,
    postgres_database,
    prefect_env,
    prefect_server,
    stop_process,
    wait_http,
)


def pytest_configure(config: pytest.Config) -> None:
    """Keep the suite's `mimir up`s out of the user's own pointer file: a test platform that
    recorded itself in ~/.local/state/mimir would hide (and, stopping, erase) the record of a
    platform the user is running on the same machine."""
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="mimir-test-state-")


@pytest.fixture(scope="session")
def session_prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """One Prefect server per test session, on PostgreSQL (SQLite stalls after heavy runs)."""
    home = tmp_path_factory.mktemp("prefect-home")
    with postgres_database("mimir_test_prefect") as url:
        async_url = url.replace("postgresql+psycopg://", "postgresql+asyncpg://")
        with prefect_server(home, async_url) as server:
            yield server
            # flush log records of in-process flow runs before the server goes away
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=10)


@dataclass
class Platform:
    """A running `mimir up` and what a client needs to reach it."""

    base_url: str
    token: str
    read_token: str
    home: Path
    env: dict[str, str]

    @property
    def api(self) -> str:
        """The REST prefix."""
        return f"{self.base_url}/api/v1"

    def headers(self, token: str | None = None) -> dict[str, str]:
        """Authorization header for `token` (default: the admin token)."""
        return {"Authorization": f"Bearer {token or self.token}"}


def mimir_cli(env: dict[str, str], *args: str) -> str:
    """Run the `mimir` CLI and return its stdout (raises on failure)."""
    result = subprocess.run(
        [str(VENV_BIN / "mimir"), *args], env=env, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise AssertionError(f"mimir {' '.join(args)} failed: {result.stderr}")
    return result.stdout


@pytest.fixture(scope="session")
def platform(
    session_prefect: PrefectServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """`mimir up` against the session's Prefect server, with auth on (two tokens)."""
    home = tmp_path_factory.mktemp("mimir-home")
    port = free_port()
    env = prefect_env(session_prefect.home, session_prefect.api_url)
    env.update(MIMIR_HOME=str(home), MIMIR_PORT=str(port), MIMIR_HTTP_ALLOWED_HOSTS="127.0.0.1")
    token = mimir_cli(env, "token", "create", "test-admin", "--scope", "admin").strip()
    read_token = mimir_cli(env, "token", "create", "test-reader", "--scope", "read").strip()
    log = open(home / "up.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [str(VENV_BIN / "mimir"), "up"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base_url}/api/v1/ready", timeout=240, process=process)
        yield Platform(base_url=base_url, token=token, read_token=read_token, home=home, env=env)
    finally:
        stop_process(process, signals=1, grace=60)
        log.close()


@pytest.fixture
def mimir_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a CLI/app with its own empty MIMIR_HOME (no Prefect needed)."""
    env = dict(os.environ)
    env.update(MIMIR_HOME=str(tmp_path / "home"), DO_NOT_TRACK="1")
    env.pop("PREFECT_API_URL", None)
    return env
