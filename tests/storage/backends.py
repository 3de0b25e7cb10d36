"""Backend helpers for the storage tests (settings, scratch databases, plugins).

Imported by conftest.py and by plugin-specific tests; see conftest.py for the fixtures.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from storage_plugins.base import StoragePlugin
from storage_plugins.objectstore import ObjectStoreConfig, ObjectStorePlugin
from storage_plugins.sql import SQLConfig, SQLStoragePlugin

POSTGRES_URL = os.environ.get(
    "MIMIR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MYSQL_URL = os.environ.get("MIMIR_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
S3_BUCKET = "mimir-test"
S3_KEY, S3_SECRET = "testing-key", "testing-secret"
BACKENDS = ["sqlite", "postgresql", "mariadb", "local", "s3"]


def free_port() -> int:
    """A TCP port nobody listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_database(admin_url: str, what: str, create: str, drop: str) -> Iterator[str]:
    url = make_url(admin_url)
    name = f"mimir_test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(
        url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(create.format(name=name))
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        pytest.fail(
            f"{what} is required by the storage tests but is not usable at "
            f"{url.render_as_string(hide_password=True)}: {exc.orig}. Start the server "
            f"or point the environment variable at one.",
            pytrace=False,
        )
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(drop.format(name=name))
        engine.dispose()


def _empty_postgres(url: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def _empty_mysql(url: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        names = [r[0] for r in conn.exec_driver_sql("SHOW TABLES")]
        if names:
            conn.exec_driver_sql("DROP TABLE " + ", ".join(f"`{n}`" for n in names))
    engine.dispose()


def make_plugin(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> StoragePlugin:
    """A plugin on an empty store of the given backend."""
    if backend == "sqlite":
        return SQLStoragePlugin(SQLConfig(url=f"sqlite:///{tmp_path}/project.db"))
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
        _empty_postgres(url)
        return SQLStoragePlugin(SQLConfig(url=url))
    if backend == "mariadb":
        url = request.getfixturevalue("mysql_url")
        _empty_mysql(url)
        return SQLStoragePlugin(SQLConfig(url=url))
    if backend == "local":
        return ObjectStorePlugin(ObjectStoreConfig(url=str(tmp_path / "store")))
    if backend == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        return ObjectStorePlugin(
            ObjectStoreConfig(
                url=f"s3://{S3_BUCKET}/{uuid.uuid4().hex}",
                endpoint_url=endpoint,
                key=S3_KEY,
                secret=S3_SECRET,
            )
        )
    raise ValueError(backend)


def make_unreachable(backend: str, tmp_path: Path) -> StoragePlugin:
    """A plugin whose backend is down: a closed port, or a path under a regular file."""
    port = free_port()
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a folder should be")
    if backend == "sqlite":
        return SQLStoragePlugin(SQLConfig(url=f"sqlite:///{blocker}/sub/project.db"))
    if backend == "postgresql":
        return SQLStoragePlugin(SQLConfig(url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/x"))
    if backend == "mariadb":
        return SQLStoragePlugin(SQLConfig(url=f"mysql+pymysql://root@127.0.0.1:{port}/x"))
    if backend == "local":
        return ObjectStorePlugin(ObjectStoreConfig(url=str(blocker / "store")))
    return ObjectStorePlugin(
        ObjectStoreConfig(
            url=f"s3://{S3_BUCKET}/x",
            endpoint_url=f"http://127.0.0.1:{port}",
            key=S3_KEY,
            secret=S3_SECRET,
        )
    )
