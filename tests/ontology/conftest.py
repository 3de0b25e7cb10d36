"""Fixtures for the ontology tests: fixture files, real ontologies, generated data sets."""

from __future__ import annotations

from pathlib import Path

import owlready2
import pytest

from ontology.extract import extract
from ontology.io import load_ontology
from ontology.model import OntologyModel
from tests.ontology.datasets import shop

FIXTURES = Path(__file__).parent / "fixtures"
DCMI = Path(owlready2.__file__).parent / "ontos"
SHOP_BASE = "http://ex.org/shop#"


@pytest.fixture(scope="session")
def sosa() -> OntologyModel:
    """The W3C SOSA ontology, imported."""
    result = load_ontology((FIXTURES / "sosa.ttl").read_bytes(), filename="sosa.ttl")
    assert result.ok and result.model is not None, result.issues
    return result.model


@pytest.fixture(scope="session")
def shop_data() -> dict[str, list[dict]]:
    """The generated shop data set (customers, employees, orders with line items)."""
    return shop()


@pytest.fixture(scope="session")
def shop_model(shop_data: dict[str, list[dict]]) -> OntologyModel:
    """The ontology extracted from the shop data set."""
    return extract(shop_data, base_iri=SHOP_BASE).model
