"""Semantic checks: all problems at once, with positions, errors versus warnings."""

from __future__ import annotations

from ontology.io import load_ontology

HEAD = """@prefix ex: <http://ex.org/o#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

MANY_PROBLEMS = HEAD + """ex:Order a owl:Class ; rdfs:label "Order" ; rdfs:subClassOf ex:Doc .
ex:Doc a owl:Class ; rdfs:subClassOf ex:Record .
ex:Record a owl:Class ; rdfs:subClassOf ex:Order .
ex:Purchase a owl:Class ; rdfs:label "order" .
ex:customer a owl:ObjectProperty ; rdfs:domain ex:Order ; rdfs:range ex:Customer .
ex:total a owl:DatatypeProperty ; rdfs:domain ex:Invoice ; rdfs:range xsd:decimal .
ex:weight a owl:DatatypeProperty ; rdfs:domain ex:Order ; rdfs:range ex:Kilo .
"""


def test_all_semantic_problems_are_reported_at_once() -> None:
    result = load_ontology(MANY_PROBLEMS, "turtle")
    assert not result.ok and result.model is not None
    found = {(i.code, i.subject, i.line, i.column) for i in result.issues}
    assert found == {
        ("subclass_cycle", "http://ex.org/o#Doc", 6, 1),
        ("undefined_class", "http://ex.org/o#customer", 9, 1),
        ("undefined_class", "http://ex.org/o#total", 10, 1),
        ("undefined_datatype", "http://ex.org/o#weight", 11, 1),
        ("duplicate_label", "http://ex.org/o#Order", 5, 1),
        ("duplicate_label", "http://ex.org/o#Purchase", 8, 1),
    }
    cycle = next(i for i in result.issues if i.code == "subclass_cycle")
    assert cycle.message.endswith("Doc → Record → Order → Doc")
    assert {i.severity for i in result.issues if i.code == "duplicate_label"} == {"warning"}
    missing = next(i for i in result.issues if i.subject == "http://ex.org/o#customer")
    assert "http://ex.org/o#Customer" in missing.message and "range" in missing.message


def test_warnings_do_not_block_and_imports_define_classes() -> None:
    base = load_ontology(HEAD + "ex:Customer a owl:Class .\n", "turtle").model
    doc = HEAD + """ex:Order a owl:Class ; rdfs:label "Thing" .
ex:Item a owl:Class ; rdfs:label "thing" .
ex:customer a owl:ObjectProperty ; rdfs:domain ex:Order ; rdfs:range ex:Customer .
"""
    alone = load_ontology(doc, "turtle")
    assert [i.code for i in alone.issues if i.severity == "error"] == ["undefined_class"]
    with_import = load_ontology(doc, "turtle", imports=[base])
    assert with_import.ok
    assert sorted(i.code for i in with_import.issues) == ["duplicate_label", "duplicate_label"]


def test_same_label_on_properties_of_different_classes_is_fine() -> None:
    doc = HEAD + """ex:A a owl:Class . ex:B a owl:Class .
ex:aName a owl:DatatypeProperty ; rdfs:domain ex:A ; rdfs:label "name" .
ex:bName a owl:DatatypeProperty ; rdfs:domain ex:B ; rdfs:label "name" .
ex:bTitle a owl:DatatypeProperty ; rdfs:domain ex:B ; rdfs:label "Name" .
"""
    issues = load_ontology(doc, "turtle").issues
    assert sorted(i.subject for i in issues) == ["http://ex.org/o#bName", "http://ex.org/o#bTitle"]


def test_self_subclass_is_a_cycle_and_empty_document_warns() -> None:
    result = load_ontology(HEAD + "ex:A a owl:Class ; rdfs:subClassOf ex:A .\n", "turtle")
    assert [i.code for i in result.issues] == ["subclass_cycle"]
    empty = load_ontology(HEAD, "turtle")
    assert empty.ok and [i.code for i in empty.issues] == ["empty_ontology"]
