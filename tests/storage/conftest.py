"""Backends for the storage tests: real servers, never mocks, never skipped.

* SQLite: a file under the test's tmp_path.
* PostgreSQL: ``MIMIR_TEST_POSTGRES_URL`` (default: postgres at 127.0.0.1:5432, trust auth)
  is the admin connection; one fresh database per test session, dropped at the end.
* MariaDB/MySQL: ``MIMIR_TEST_MYSQL_URL`` (default: root at 127.0.0.1:3306); one fresh
  database per session likewise.
* Local folder: a directory under tmp_path.
* S3: a real HTTP endpoint, moto's standalone server process on a free port.

A server that cannot be reached makes the tests that need it fail with a message saying
what to start; it never skips them. Server-backed stores are emptied before every test.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage_plugins.base import StoragePlugin
from storage_plugins.objectstore import ObjectStorePlugin
from storage_plugins.sql import SQLStoragePlugin
from tests.storage.backends import (
    BACKENDS,
    MYSQL_URL,
    POSTGRES_URL,
    S3_BUCKET,
    S3_KEY,
    S3_SECRET,
    free_port,
    make_plugin,
    make_unreachable,
    server_database,
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this session."""
    yield from server_database(
        POSTGRES_URL,
        "PostgreSQL (MIMIR_TEST_POSTGRES_URL)",
        'CREATE DATABASE "{name}"',
        'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
    )


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """URL of a fresh MariaDB/MySQL database for this session."""
    yield from server_database(
        MYSQL_URL,
        "MariaDB/MySQL (MIMIR_TEST_MYSQL_URL)",
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
        "DROP DATABASE IF EXISTS `{name}`",
    )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A running S3 endpoint (moto server process) with the test bucket created."""
    import s3fs

    exe = Path(sys.executable).with_name("moto_server")
    command = [str(exe)] if exe.exists() else [shutil.which("moto_server") or "moto_server"]
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        proc = subprocess.Popen(
            [*command, "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError as exc:
        pytest.fail(f"cannot start moto_server (pip install 'moto[server]'): {exc}", pytrace=False)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto_server exited with {proc.returncode}", pytrace=False)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not listen on {endpoint} in 30 s", pytrace=False)
                time.sleep(0.1)
        fs = s3fs.S3FileSystem(
            key=S3_KEY, secret=S3_SECRET, endpoint_url=endpoint, skip_instance_cache=True
        )
        fs.mkdir(S3_BUCKET)  # no region: moto refuses a LocationConstraint here
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def backend_classes() -> dict[str, type[StoragePlugin]]:
    """The plugin class each conformance backend runs."""
    return {
        "sqlite": SQLStoragePlugin,
        "postgresql": SQLStoragePlugin,
        "mariadb": SQLStoragePlugin,
        "local": ObjectStorePlugin,
        "s3": ObjectStorePlugin,
    }


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each of the five backends in turn."""
    return str(request.param)


@pytest.fixture
def backend_plugin(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[StoragePlugin]:
    """A plugin on an empty store of the current backend, closed afterwards."""
    plugin = make_plugin(backend, request, tmp_path)
    try:
        yield plugin
    finally:
        plugin.close()


@pytest.fixture
def backend_unreachable_plugin(backend: str, tmp_path: Path) -> StoragePlugin:
    """A plugin of the current backend whose server or path is unusable."""
    return make_unreachable(backend, tmp_path)
