"""Fixtures for the twin tests: the two data sets in real stores, and pyoxigraph oracles.

Backends: SQLite (a file), PostgreSQL (a fresh uuid-named database for the session, on the
server at ``MIMIR_TEST_POSTGRES_URL``), MariaDB (likewise, ``MIMIR_TEST_MYSQL_URL``) and the
object store (Parquet files in a folder).
Each data set is loaded once per backend per session; the oracle is pyoxigraph over a
materialised copy of the same view (the only place a copy exists).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyoxigraph as ox
import pytest
import sqlalchemy as sa
from rdflib import BNode, Literal, URIRef

from ontology.compile import SchemaMapping
from storage_plugins.base import StoragePlugin
from storage_plugins.objectstore import ObjectStoreConfig, ObjectStorePlugin
from storage_plugins.query import Filter
from storage_plugins.sql import SQLConfig, SQLStoragePlugin
from tests.storage.backends import MYSQL_URL, POSTGRES_URL, server_database
from tests.twin import datasets
from twin.view import TwinView

TWIN_BACKENDS = ["sqlite", "postgresql", "mariadb", "objectstore"]
SIZE = 40


@dataclass
class Loaded:
    """A data set loaded into one backend, with its view and oracle."""

    backend: str
    name: str
    store: StoragePlugin
    mapping: SchemaMapping
    view: TwinView
    oracle: ox.Store


@pytest.fixture(scope="session")
def twin_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the twin tests of this session."""
    yield from server_database(
        POSTGRES_URL, "PostgreSQL (MIMIR_TEST_POSTGRES_URL)",
        'CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def twin_mariadb_url() -> Iterator[str]:
    """A fresh MariaDB database for the twin tests of this session."""
    yield from server_database(
        MYSQL_URL, "MariaDB (MIMIR_TEST_MYSQL_URL)",
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
        "DROP DATABASE IF EXISTS `{name}`")


def make_store(backend: str, folder: Path, request: pytest.FixtureRequest, name: str
               ) -> StoragePlugin:
    """An empty store of `backend` for data set `name`."""
    if backend == "sqlite":
        return SQLStoragePlugin(SQLConfig(url=f"sqlite:///{folder}/{name}.db"))
    if backend == "mariadb":
        base = request.getfixturevalue("twin_mariadb_url")
        db = f"{sa.engine.make_url(base).database}_{name}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{db}`")
            conn.exec_driver_sql(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4")
        admin.dispose()
        request.addfinalizer(lambda: _drop_mysql(base, db))
        url = sa.engine.make_url(base).set(database=db).render_as_string(hide_password=False)
        return SQLStoragePlugin(SQLConfig(url=url))
    if backend == "postgresql":
        base = request.getfixturevalue("twin_postgres_url")
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        db = f"{sa.engine.make_url(base).database}_{name}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
        admin.dispose()
        request.addfinalizer(lambda: _drop_db(base, db))
        url = sa.engine.make_url(base).set(database=db).render_as_string(hide_password=False)
        return SQLStoragePlugin(SQLConfig(url=url))
    return ObjectStorePlugin(ObjectStoreConfig(url=str(folder / f"{name}-store")))


def _drop_mysql(base: str, db: str) -> None:
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{db}`")
    admin.dispose()


def _drop_db(base: str, db: str) -> None:
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    admin.dispose()


def to_ox(term: object) -> ox.NamedNode | ox.Literal | ox.BlankNode:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    assert isinstance(term, Literal)
    if term.language:
        return ox.Literal(str(term), language=term.language)
    if term.datatype is not None:
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
    return ox.Literal(str(term))


def oracle_of(view: TwinView) -> ox.Store:
    """pyoxigraph over a materialised copy of `view` (the tests' oracle)."""
    store = ox.Store()
    store.extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in  # type: ignore[arg-type]
                 view.triples(None, None, None))
    return store


@pytest.fixture(scope="session", params=TWIN_BACKENDS)
def twin_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _loaded(name: str, backend: str, request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    folder = tmp_path_factory.mktemp(f"twin-{backend}-{name}")
    store = make_store(backend, folder, request, name)
    if name == "shop":
        mapping = datasets.load(store, datasets.shop_model(), datasets.shop_records(SIZE))
    else:
        mapping = datasets.load(store, datasets.plant_model(), datasets.plant_records(SIZE))
    view = TwinView(store, [mapping])
    try:
        yield Loaded(backend, name, store, mapping, view, oracle_of(view))
    finally:
        store.close()


@pytest.fixture(scope="session")
def shop(twin_backend: str, request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """The shop data set on the current backend."""
    yield from _loaded("shop", twin_backend, request, tmp_path_factory)


@pytest.fixture(scope="session")
def plant(twin_backend: str, request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """The plant data set on the current backend."""
    yield from _loaded("plant", twin_backend, request, tmp_path_factory)


@dataclass
class Past:
    """The shop data set, changed after `at`: `view` reads it as of `at`, `oracle` is
    pyoxigraph over the copy materialised at `at` (before the changes)."""

    backend: str
    store: StoragePlugin
    mapping: SchemaMapping
    at: datetime
    first: datetime
    view: TwinView
    present: TwinView
    oracle: ox.Store


def last_change(store: StoragePlugin) -> datetime:
    """The instant of the newest committed change of any table."""
    return max(store.table_history(t, limit=1)[0].at for t in store.tables()
               if store.table_history(t, limit=1))


@pytest.fixture(scope="session")
def shop_past(twin_backend: str, request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Past]:
    """The shop data set, then every row rewritten from another seed, 20 orders deleted and
    new customers added: as of the load, the twin must still answer as the copy did."""
    folder = tmp_path_factory.mktemp(f"twin-{twin_backend}-past")
    store = make_store(twin_backend, folder, request, "shoppast")
    mapping = datasets.load(store, datasets.shop_model(), datasets.shop_records(SIZE))
    first = min(e.at for t in store.tables() for e in store.table_history(t, limit=1000))
    oracle = oracle_of(TwinView(store, [mapping]))
    at = last_change(store)
    datasets.load(store, datasets.shop_model(), datasets.shop_records(SIZE + 10, seed=99))
    order = mapping.class_mapping(datasets.SHOP + "Order")
    store.delete(order.table, where=[Filter(order.key_columns[0], "gt", 2 * SIZE - 20)])
    try:
        yield Past(twin_backend, store, mapping, at, first,
                   TwinView(store, [mapping], as_of=at), TwinView(store, [mapping]), oracle)
    finally:
        store.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which corpus queries ran as SQL (the rest ran in rdflib's evaluator)."""
    from tests.twin.test_differential import RAN_AS_SQL

    for backend, ids in sorted(RAN_AS_SQL.items()):
        terminalreporter.write_line(
            f"twin: {len(ids)} corpus queries ran as SQL on {backend}: {', '.join(sorted(ids))}")
