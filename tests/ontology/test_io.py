"""Import and export: real ontologies round-trip without loss; broken files give positions."""

from __future__ import annotations

import pytest
from rdflib import Graph
from rdflib.compare import graph_diff, to_isomorphic

from ontology.compile import compile_schema
from ontology.io import export_ontology, load_ontology, normalize_format, parse_document
from ontology.model import OntologyModel
from ontology.rdf import graph_from_model, model_from_graph
from tests.ontology.conftest import DCMI, FIXTURES

REAL = [
    (FIXTURES / "sosa.ttl", 16, 2, 21),
    (DCMI / "dcterms.owl", 22, 0, 0),
    (DCMI / "dcmitype.owl", 12, 0, 0),
]


def _graph(data: bytes | str, fmt: str | None = None, filename: str | None = None) -> Graph:
    graph, issues, _ = parse_document(data, fmt, filename=filename)
    assert graph is not None, issues
    return graph


@pytest.mark.parametrize(("path", "n_classes", "n_dp", "n_op"), REAL, ids=lambda v: getattr(v, "name", v))
def test_real_ontology_round_trips_through_schema_without_loss(path, n_classes, n_dp, n_op) -> None:
    data = path.read_bytes()
    result = load_ontology(data, filename=path.name)
    assert result.ok, result.issues
    model = result.model
    assert (len(model.classes), len(model.datatype_properties), len(model.object_properties)) == (
        n_classes, n_dp, n_op)
    schema = compile_schema(model).tabular
    assert {t.source for t in schema.tables if t.kind == "entity"} == {c.iri for c in model.classes}
    original = _graph(data, filename=path.name)
    for fmt in ("turtle", "xml", "nt", "json-ld"):
        exported = _graph(export_ontology(model, fmt), fmt)
        _, missing, _added = graph_diff(to_isomorphic(original), to_isomorphic(exported))
        assert len(missing) == 0, (fmt, sorted(missing)[:3])
        again = load_ontology(export_ontology(model, fmt), fmt).model
        assert {c.iri for c in again.classes} == {c.iri for c in model.classes}
        assert {p.iri for p in again.properties} == {p.iri for p in model.properties}
        assert again.model_dump(exclude={"extra", "prefixes"}) == model.model_dump(
            exclude={"extra", "prefixes"})


def test_sosa_and_ssn_keep_restrictions_and_annotations(sosa: OntologyModel) -> None:
    ssn = load_ontology((FIXTURES / "ssn.ttl").read_text(), "turtle", imports=[sosa])
    assert ssn.ok, ssn.issues
    # SSN's owl:Restriction blank nodes are not typed fields; they travel in `extra`
    assert "http://www.w3.org/2002/07/owl#Restriction" in ssn.model.extra
    sample = sosa.get_class("Sample")
    assert sample.label == "Sample" and sample.language == "en"
    assert "http://www.w3.org/ns/sosa/FeatureOfInterest" in sosa.get_property(
        "isSampleOf").range_includes


def test_sosa_compiles_every_class_to_a_table_and_property_to_a_column(sosa: OntologyModel) -> None:
    mapping = compile_schema(sosa)
    assert len([t for t in mapping.tabular.tables if t.kind == "entity"]) == len(sosa.classes)
    mapped = {f.property for cm in mapping.classes for f in cm.fields}
    with_domain = {p.iri for p in sosa.properties if p.domain or p.domain_includes}
    assert with_domain <= mapped



def test_sosa_with_ssn_maps_subclasses_to_tables_with_parent_keys(sosa: OntologyModel) -> None:
    ssn = load_ontology((FIXTURES / "ssn.ttl").read_bytes(), "turtle", imports=[sosa]).model
    merged = model_from_graph(graph_from_model(sosa) + graph_from_model(ssn))
    assert "http://www.w3.org/ns/ssn/System" in merged.get_class("Sensor").superclasses
    mapping = compile_schema(merged)
    sensor = mapping.tabular.table("sensor")
    assert sensor.primary_key == ["mimir_id"]
    assert [(fk.columns, fk.references) for fk in sensor.foreign_keys] == [
        (["mimir_id"], "system")]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unterminated_string.ttl", [(3, 26, "newline found in string literal")]),
        ("unbound_prefix.ttl", [(5, 5, 'Prefix "foo:" not bound')]),
        ("missing_dot.ttl", [(4, 1, "expected '.'")]),
        ("three_errors.ttl", [(3, 20, "newline found in string literal"),
                              (6, 8, "objectList expected"),
                              (8, 3, 'Prefix "foo:" not bound')]),
        ("two_errors.nt", [(2, 52, "Invalid line"), (4, 1, "Invalid line")]),
        ("mismatched_tag.rdf", [(5, 5, "mismatched tag")]),
        ("trailing_comma.jsonld", [(4, 24, "property name")]),
        ("unclosed.owx", [(5, 3, "mismatched tag")]),
    ],
)
def test_broken_documents_report_every_error_with_its_position(name: str, expected) -> None:
    result = load_ontology((FIXTURES / "bad" / name).read_bytes(), filename=name)
    assert not result.ok and result.model is None
    got = [(i.line, i.column) for i in result.issues]
    assert got == [(line, col) for line, col, _ in expected]
    for issue, (_, _, text) in zip(result.issues, expected, strict=True):
        assert text in issue.message and issue.code == "parse_error"


def test_invalid_utf8_is_an_encoding_error_with_position() -> None:
    result = load_ontology(b"@prefix ex: <http://ex.org/> .\nex:a ex:b \"caf\xe9\" .\n", "turtle")
    assert [(i.code, i.line, i.column) for i in result.issues] == [("encoding_error", 2, 15)]


OWLXML = """<?xml version="1.0"?>
<Ontology xmlns="http://www.w3.org/2002/07/owl#" ontologyIRI="http://ex.org/o">
    <Prefix name="xsd" IRI="http://www.w3.org/2001/XMLSchema#"/>
    <Declaration><Class IRI="http://ex.org/o#Order"/></Declaration>
    <Declaration><DataProperty IRI="http://ex.org/o#total"/></Declaration>
    <DataPropertyDomain><DataProperty IRI="http://ex.org/o#total"/><Class IRI="http://ex.org/o#Order"/></DataPropertyDomain>
    <DataPropertyRange><DataProperty IRI="http://ex.org/o#total"/><Datatype abbreviatedIRI="xsd:decimal"/></DataPropertyRange>
    <FunctionalDataProperty><DataProperty IRI="http://ex.org/o#total"/></FunctionalDataProperty>
</Ontology>
"""

JSONLD = """{
  "@context": {"owl": "http://www.w3.org/2002/07/owl#",
               "rdfs": "http://www.w3.org/2000/01/rdf-schema#"},
  "@graph": [
    {"@id": "http://ex.org/o#Order", "@type": "owl:Class", "rdfs:label": "Order"},
    {"@id": "http://ex.org/o#total", "@type": ["owl:DatatypeProperty", "owl:FunctionalProperty"],
     "rdfs:domain": {"@id": "http://ex.org/o#Order"},
     "rdfs:range": {"@id": "http://www.w3.org/2001/XMLSchema#decimal"}}
  ]
}"""


@pytest.mark.parametrize(("data", "fmt"), [(OWLXML, "owl-xml"), (JSONLD, "json-ld")])
def test_owl_xml_and_json_ld_import(data: str, fmt: str) -> None:
    result = load_ontology(data, filename=f"o.{'owx' if fmt == 'owl-xml' else 'jsonld'}")
    assert result.ok and result.format == fmt, result.issues
    total = result.model.get_property("total")
    assert total.range.endswith("#decimal") and total.functional
    assert total.domain == ["http://ex.org/o#Order"]


def test_format_detection() -> None:
    assert normalize_format(None, "x.owl") == "xml"
    assert normalize_format(None, None, OWLXML) == "owl-xml"
    assert normalize_format(None, None, JSONLD) == "json-ld"
    assert normalize_format("text/turtle") == "turtle"
    with pytest.raises(ValueError, match="unknown format"):
        normalize_format("yaml")
    with pytest.raises(ValueError, match="OWL/XML"):
        export_ontology(OntologyModel(), "owl-xml")


def test_mimir_annotations_survive_export_and_import(shop_model: OntologyModel) -> None:
    text = export_ontology(shop_model)
    assert "mimir:confidence" in text and "owl:hasKey" in text
    again = load_ontology(text, "turtle").model
    approver = again.get_property("Order/approver")
    original = shop_model.get_property("Order/approver")
    assert (approver.confidence, approver.source, approver.column, approver.evidence) == (
        original.confidence, original.source, original.column, original.evidence)
    order = again.get_class("Order")
    assert order.key == shop_model.get_class("Order").key
    assert order.key_confidence == shop_model.get_class("Order").key_confidence
    assert again.prefixes == shop_model.prefixes
    for field in ("classes", "datatype_properties", "object_properties"):
        assert sorted(getattr(again, field), key=lambda e: e.iri) == sorted(
            getattr(shop_model, field), key=lambda e: e.iri)
