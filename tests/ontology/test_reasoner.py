"""The HermiT consistency check runs for real (Java), bounded by a timeout."""

from __future__ import annotations

from ontology.io import load_ontology
from ontology.reasoner import check_consistency

HEAD = """@prefix ex: <http://ex.org/o#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<http://ex.org/o> a owl:Ontology ; owl:imports <http://unreachable.invalid/onto> .
ex:A a owl:Class . ex:B a owl:Class . ex:A owl:disjointWith ex:B .
ex:C a owl:Class ; rdfs:subClassOf ex:A, ex:B .
"""


def _model(text: str):
    result = load_ontology(text, "turtle")
    assert result.ok, result.issues
    return result.model


def test_unsatisfiable_class_is_listed_and_imports_are_not_fetched() -> None:
    result = check_consistency(_model(HEAD), timeout_s=120)
    assert result.status == "consistent" and result.consistent is True
    assert result.unsatisfiable_classes == ["http://ex.org/o#C"]


def test_inconsistent_ontology() -> None:
    result = check_consistency(_model(HEAD + "ex:x a ex:C .\n"), timeout_s=120)
    assert (result.status, result.consistent) == ("inconsistent", False)


def test_sosa_is_consistent(sosa) -> None:
    result = check_consistency(sosa, timeout_s=120)
    assert result.status == "consistent" and result.unsatisfiable_classes == []


def test_time_budget_is_enforced() -> None:
    result = check_consistency(_model(HEAD), timeout_s=0.001)
    assert (result.status, result.consistent) == ("timeout", None)
    assert "did not finish" in result.message
