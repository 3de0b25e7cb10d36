"""Stores with ingested data sets, shared per module (building them is the slow part)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ontology.compile import SchemaMapping
from storage_plugins.base import StoragePlugin
from tests.utils.ml import load, sklearn_records, sqlite_store, turbine_ontology, turbine_records


@dataclass
class Loaded:
    """A store holding one data set, and where artifacts go."""

    store: StoragePlugin
    mapping: SchemaMapping
    cls: str
    storage_url: str


def _dataset(root: Path, name: str) -> Loaded:
    model, cls, records = sklearn_records(name)
    store, mapping = sqlite_store(root / f"{name}.sqlite", model)
    load(store, mapping, cls, records)
    return Loaded(store, mapping, cls, str(root / "objects"))


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Loaded]]:
    root = tmp_path_factory.mktemp("ml-data")
    out = {name: _dataset(root, name) for name in ("breast_cancer", "wine", "diabetes")}
    yield out
    for loaded in out.values():
        loaded.store.close()


@pytest.fixture(scope="module")
def turbines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    root = tmp_path_factory.mktemp("ml-turbines")
    store, mapping = sqlite_store(root / "t.sqlite", turbine_ontology())
    turbine_rows, sensor_rows = turbine_records()
    load(store, mapping, "Turbine", turbine_rows)
    load(store, mapping, "Sensor", sensor_rows)
    yield Loaded(store, mapping, "Turbine", str(root / "objects"))
    store.close()
