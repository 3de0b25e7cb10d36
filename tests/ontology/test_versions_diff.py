"""Versions are immutable records; diffs between any two are JSON and readable text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from ontology.diff import OntologyDiff, diff
from ontology.edit import (
    PropertyPatch,
    add_class,
    add_datatype_property,
    rename_class,
    update_property,
)
from ontology.io import load_ontology
from ontology.model import OntologyModel
from ontology.versions import create_version, version_model

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def v1():
    m = add_class(OntologyModel(iri="http://ex.org/shop"), "Order")
    m = add_datatype_property(m, "total", domain=["Order"], range="xsd:integer")
    return create_version("shop", m, author="ana", message="first", now=T0, origin="import")


def test_versions_chain_and_are_immutable(v1) -> None:
    m2 = add_class(version_model(v1), "Customer")
    v2 = create_version("shop", m2, author="bo", parent=v1, now=T0 + timedelta(hours=1))
    assert (v1.version, v2.version, v2.parent, v2.author) == (1, 2, 1, "bo")
    assert v2.created_at.tzinfo is not None and len(v2.checksum) == 64
    assert v1.checksum != v2.checksum
    assert {c.name for c in version_model(v2).classes} == {"Order", "Customer"}
    with pytest.raises(ValidationError):
        v2.message = "rewritten"  # type: ignore[misc]
    with pytest.raises(ValueError, match="newer than its parent"):
        create_version("shop", m2, author="bo", parent=v2, number=2)
    with pytest.raises(ValueError, match="belongs to ontology"):
        create_version("other", m2, author="bo", parent=v1)
    local = datetime(2026, 1, 2, 5, 0, tzinfo=timezone(timedelta(hours=2)))
    assert create_version("shop", m2, author="x", now=local).created_at == datetime(
        2026, 1, 2, 3, 0, tzinfo=UTC)
    assert _json_roundtrips(v2)


def _json_roundtrips(v) -> bool:
    from ontology.versions import OntologyVersion

    return OntologyVersion.model_validate_json(v.model_dump_json()) == v


def test_diff_between_versions_as_json_and_text(v1) -> None:
    m = version_model(v1)
    m = rename_class(m, "Order", "Purchase")
    m = add_class(m, "Customer")
    m = update_property(m, "Purchase/total", PropertyPatch(range=["xsd:decimal"], label="Total"))
    v2 = create_version("shop", m, author="ana", parent=v1, now=T0)
    d = diff(v1, v2)
    assert (d.from_version, d.to_version) == (1, 2)
    assert [(c.name, c.change) for c in d.classes] == [
        ("Customer", "added"), ("Order", "removed"), ("Purchase", "added")]
    assert [(c.name, c.change) for c in d.datatype_properties] == [
        ("total", "removed"), ("total", "added")]
    payload = json.loads(d.model_dump_json())
    assert OntologyDiff.model_validate(payload) == d
    text = d.to_text()
    assert text.splitlines()[0] == "Version 1 → 2"
    assert "  + Purchase" in text and "  - Order" in text


def test_field_changes_and_axioms() -> None:
    base = """@prefix ex: <http://ex.org/o#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:A a owl:Class .
ex:p a owl:DatatypeProperty ; rdfs:domain ex:A ; rdfs:range xsd:integer .
"""
    a = load_ontology(base, "turtle").model
    b = load_ontology(base.replace("xsd:integer", "xsd:decimal") + """
ex:A rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:p ; owl:minCardinality 1 ] .
""", "turtle").model
    d = diff(a, b)
    assert [(f.field, f.before, f.after) for f in d.datatype_properties[0].fields] == [
        ("range", "http://www.w3.org/2001/XMLSchema#integer",
         "http://www.w3.org/2001/XMLSchema#decimal")]
    assert len(d.axioms.added) == 4 and d.axioms.removed == []
    assert any("owl:minCardinality" in t for t in d.axioms.added)
    assert "~ p: range integer → decimal" in d.to_text()


def test_reserialising_is_not_a_change(sosa) -> None:
    again = load_ontology(create_version("s", sosa, author="x").turtle, "turtle").model
    d = diff(sosa, again)
    assert d.is_empty and d.to_text() == "No changes."
