"""Fixtures for the twin tests: the two data sets in real stores, and pyoxigraph oracles.

Backends: SQLite (a file), PostgreSQL (a fresh uuid-named database for the session, on the
server at ``MIMIR_TEST_POSTGRES_URL``) and the object store (Parquet files in a folder).
Each data set is loaded once per backend per session; the oracle is pyoxigraph over a
materialised copy of the same view (the only place a copy exists).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
import sqlalchemy as sa
from rdflib import BNode, Literal, URIRef

from ontology.compile import SchemaMapping
from storage_plugins.base import StoragePlugin
from storage_plugins.objectstore import ObjectStoreConfig, ObjectStorePlugin
from storage_plugins.sql import SQLConfig, SQLStoragePlugin
from tests.storage.backends import POSTGRES_URL, server_database
from tests.twin import datasets
from twin.view import TwinView

TWIN_BACKENDS = ["sqlite", "postgresql", "objectstore"]
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


def make_store(backend: str, folder: Path, request: pytest.FixtureRequest, name: str
               ) -> StoragePlugin:
    """An empty store of `backend` for data set `name`."""
    if backend == "sqlite":
        return SQLStoragePlugin(SQLConfig(url=f"sqlite:///{folder}/{name}.db"))
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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which corpus queries ran as SQL (the rest ran in rdflib's evaluator)."""
    from tests.twin.test_differential import RAN_AS_SQL

    for backend, ids in sorted(RAN_AS_SQL.items()):
        terminalreporter.write_line(
            f"twin: {len(ids)} corpus queries ran as SQL on {backend}: {', '.join(sorted(ids))}")
