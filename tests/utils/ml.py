"""Ontologies and data sets for ML tests: sklearn's bundled data sets as one class each, and a
generated Turbine/Sensor world whose label depends only on related entities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from domain.ontology_storage import write_class
from ontology.compile import SchemaMapping, compile_schema
from ontology.model import XSD, DatatypeProperty, ObjectProperty, OntologyClass, OntologyModel
from storage_plugins.base import StoragePlugin
from storage_plugins.sql import SQLStoragePlugin

NS = "https://example.org/ml#"


def _prop(name: str, domain: str, xsd: str) -> DatatypeProperty:
    return DatatypeProperty(iri=NS + name, domain=[NS + domain], range=XSD + xsd, functional=True)


def table_ontology(cls: str, features: list[str], target: str, target_xsd: str) -> OntologyModel:
    """One class keyed by `sample_id`, a double property per feature, and the target."""
    props = [_prop("sample_id", cls, "integer"), *(_prop(f, cls, "double") for f in features),
             _prop(target, cls, target_xsd)]
    return OntologyModel(iri=NS.rstrip("#"), classes=[OntologyClass(iri=NS + cls,
                         key=[NS + "sample_id"])], datatype_properties=props)


def sklearn_records(name: str) -> tuple[OntologyModel, str, list[dict[str, Any]]]:
    """(ontology, class name, records) for breast_cancer, wine or diabetes."""
    from sklearn import datasets

    loader = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine,
              "diabetes": datasets.load_diabetes}[name]
    bunch = loader()
    features = [f"f{i}" for i in range(bunch.data.shape[1])]
    regression = name == "diabetes"
    cls = "Sample"
    model = table_ontology(cls, features, "label", "double" if regression else "integer")
    records = []
    for i, (row, label) in enumerate(zip(bunch.data, bunch.target, strict=True)):
        record: dict[str, Any] = {"sample_id": i, "label": float(label) if regression
                                  else int(label)}
        record.update({f: float(v) for f, v in zip(features, row, strict=True)})
        records.append(record)
    return model, cls, records


def turbine_ontology() -> OntologyModel:
    """Turbine (own attributes: noise, site) ← Sensor (reading, kind) via Sensor.turbine."""
    return OntologyModel(
        iri=NS.rstrip("#"),
        classes=[OntologyClass(iri=NS + "Turbine", key=[NS + "turbine_id"]),
                 OntologyClass(iri=NS + "Sensor", key=[NS + "sensor_id"])],
        datatype_properties=[
            _prop("turbine_id", "Turbine", "integer"), _prop("noise", "Turbine", "double"),
            _prop("site", "Turbine", "string"), _prop("failed", "Turbine", "string"),
            _prop("sensor_id", "Sensor", "integer"), _prop("reading", "Sensor", "double"),
            _prop("kind", "Sensor", "string"),
        ],
        object_properties=[ObjectProperty(iri=NS + "turbine", domain=[NS + "Sensor"],
                                          range=[NS + "Turbine"], functional=True)],
    )


def turbine_records(n: int = 300, seed: int = 7) -> tuple[list[dict[str, Any]],
                                                           list[dict[str, Any]]]:
    """Turbines fail when their sensors read high on average; their own attributes are noise."""
    rng = np.random.default_rng(seed)
    turbines, sensors = [], []
    sensor_id = 0
    for t in range(n):
        hot = bool(rng.random() < 0.5)
        for _ in range(int(rng.integers(2, 6))):
            reading = float(rng.normal(70 if hot else 50, 6))
            sensors.append({"sensor_id": sensor_id, "turbine": t, "reading": reading,
                            "kind": str(rng.choice(["vibration", "temperature"]))})
            sensor_id += 1
        turbines.append({"turbine_id": t, "noise": float(rng.normal()),
                         "site": str(rng.choice(["north", "south"])),
                         "failed": "yes" if hot else "no"})
    return turbines, sensors


def sqlite_store(path: Path, model: OntologyModel) -> tuple[StoragePlugin, SchemaMapping]:
    """A SQLite store holding the compiled tables of `model`."""
    store = SQLStoragePlugin({"url": f"sqlite:///{path}"})
    mapping = compile_schema(model)
    store.apply_schema(mapping.tabular)
    return store, mapping


def load(store: StoragePlugin, mapping: SchemaMapping, cls: str,
         records: list[dict[str, Any]]) -> None:
    """Write records by class, as `storage.write` with `class:` does."""
    write_class(store, mapping, cls, records, mode="upsert")
