"""Fixtures of the Kubernetes deployment tests (deployments/, prefect.yaml, the work pool).

- `rendered`: every kustomize overlay rendered by the real `kubectl kustomize`.
- `prefect_server`: ONE real `prefect server start` per test session, on a fresh PostgreSQL
  database at 127.0.0.1:5432 (dropped afterwards). A PostgreSQL that cannot be reached fails
  the tests; nothing here skips.
- `prefect_env`: the environment for Prefect CLI/worker subprocesses pointed at that server.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.deployments.k8s_harness.processes import free_port, stop_process, tail, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = REPO_ROOT / "deployments"
OVERLAYS = ("dev", "prod")
VENV_BIN = Path(sys.executable).parent
POSTGRES_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PREFECT_SERVER_START_TIMEOUT = 180.0


# --- kustomize ----------------------------------------------------------------------------


def render(kustomization_dir: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize DIR` as a list of objects."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with kustomize) is required on PATH"
    result = subprocess.run(
        [kubectl, "kustomize", str(kustomization_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {kustomization_dir} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def deployments_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deployments/ with the dev secret files created from their examples, as the README says."""
    target = tmp_path_factory.mktemp("deployments") / "deployments"
    shutil.copytree(DEPLOYMENTS, target)
    for example in (target / "overlays").glob("*/secrets/*.example"):
        example.with_suffix("").write_text(example.read_text())
    return target


@pytest.fixture(scope="session")
def rendered(deployments_copy: Path) -> dict[str, list[dict[str, Any]]]:
    """{"base": [...], "dev": [...], "prod": [...]}: every kustomization, rendered."""
    result = {"base": render(deployments_copy / "base")}
    for overlay in OVERLAYS:
        result[overlay] = render(deployments_copy / "overlays" / overlay)
    return result


# --- Prefect server -----------------------------------------------------------------------


@dataclass(frozen=True)
class PrefectServer:
    """A running `prefect server start`."""

    api_url: str
    database: str
    log: Path


def _base_prefect_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(home),
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_CLI_COLORS": "false",
            "PREFECT_CLI_WRAP_LINES": "false",
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    return env


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """One real Prefect server for the session, on a fresh PostgreSQL database."""
    import psycopg

    database = f"mimir_k8s_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(
            "the Kubernetes worker tests need PostgreSQL at 127.0.0.1:5432 (user postgres, "
            f"trust auth) for their Prefect server: {exc}"
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    root = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = _base_prefect_env(root / "home")
    env.update(
        {
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": (
                f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
            ),
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        }
    )
    log = root / "server.log"
    api_url = f"http://127.0.0.1:{port}/api"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(VENV_BIN / "prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-ui",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                pytest.fail(f"prefect server exited ({process.returncode}):\n{tail(log)}")
            return httpx.get(f"{api_url}/health", timeout=5).status_code == 200

        wait_for(healthy, timeout=PREFECT_SERVER_START_TIMEOUT, what=f"Prefect at {api_url}")
        yield PrefectServer(api_url=api_url, database=database, log=log)
    finally:
        stop_process(process, signals=1, grace=30)
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="session")
def prefect_env(
    prefect_server: PrefectServer, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., dict[str, str]]:
    """`prefect_env(**extra)`: environment for a Prefect subprocess talking to the server."""
    home = tmp_path_factory.mktemp("prefect-client-home")

    def make(**extra: str) -> dict[str, str]:
        env = _base_prefect_env(home)
        env["PREFECT_API_URL"] = prefect_server.api_url
        env.update(extra)
        return env

    return make
