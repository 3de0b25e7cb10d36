"""Ontology parsing bounded by size and time, in a worker process that is really stopped."""

from __future__ import annotations

import os

import pytest

from ontology.bounded import (
    OntologyTimeout,
    OntologyTooLarge,
    load_ontology_bounded,
)

SMALL = """@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix ex: <http://ex.org/> .
ex:Order a owl:Class .
ex:Customer a owl:Class .
"""


def big_turtle(n_classes: int) -> str:
    """A Turtle document with `n_classes` labelled classes in a subclass chain."""
    lines = ["@prefix owl: <http://www.w3.org/2002/07/owl#> .",
             "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
             "@prefix ex: <http://ex.org/big#> ."]
    for i in range(n_classes):
        parent = f" ; rdfs:subClassOf ex:C{i - 1}" if i else ""
        lines.append(f'ex:C{i} a owl:Class ; rdfs:label "Class number {i}"{parent} .')
    return "\n".join(lines) + "\n"


def test_a_small_document_parses_in_the_worker() -> None:
    result = load_ontology_bounded(SMALL, "turtle", timeout_s=60)
    assert result.ok and sorted(c.name for c in result.model.classes) == ["Customer", "Order"]


def test_errors_and_bad_formats_come_back_from_the_worker() -> None:
    result = load_ontology_bounded("@prefix ex: <http://ex.org/> .\nex:a ex:b .\n", "turtle",
                                   timeout_s=60)
    assert not result.ok and result.issues[0].line == 2
    with pytest.raises(ValueError, match="unknown format 'yaml'"):
        load_ontology_bounded(SMALL, "yaml", timeout_s=60)


def test_size_limit_is_checked_before_any_work() -> None:
    with pytest.raises(OntologyTooLarge, match="the limit is 1,000"):
        load_ontology_bounded(SMALL * 20, "turtle", max_bytes=1000)


def test_a_huge_document_hits_the_deadline_and_the_worker_is_gone() -> None:
    text = big_turtle(70_000)
    with pytest.raises(OntologyTimeout, match=r"ontology parsing exceeded 1 s") as caught:
        load_ontology_bounded(text, "turtle", timeout_s=1, max_bytes=len(text) + 1)
    assert caught.value.pid is not None
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left burning CPU
        os.kill(caught.value.pid, 0)
