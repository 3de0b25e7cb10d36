"""The engine's contract beyond answers: errors, refusals, caps, timeouts, IRIs, no copies."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef, Variable

from tests.twin.conftest import Loaded
from tests.twin.corpus import SHOP_PREFIXES
from twin.engine import run_query
from twin.errors import QuerySyntaxError, QueryTimeout, UnsupportedQuery, UpdateRefused
from twin.iri import entity_iri, parse_entity

pytestmark = pytest.mark.usefixtures("twin_backend")


def test_syntax_error_names_line_and_column(shop: Loaded) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        run_query(shop.view, "SELECT ?s WHERE {\n  ?s ?p ?o .\n  FILTER( }")
    assert (info.value.line, info.value.column) == (3, 3)
    assert "line 3, column 3" in str(info.value)


@pytest.mark.parametrize("update", [
    "INSERT DATA { <http://a> <http://b> <http://c> }",
    "DELETE WHERE { ?s ?p ?o }",
    "LOAD <http://example.org/data.ttl>",
    "CLEAR ALL",
])
def test_updates_are_refused(shop: Loaded, update: str) -> None:
    with pytest.raises(UpdateRefused, match="read-only"):
        run_query(shop.view, update)


def test_service_and_dataset_clauses_are_refused_by_name(shop: Loaded) -> None:
    with pytest.raises(UnsupportedQuery, match="SERVICE"):
        run_query(shop.view, "SELECT * { SERVICE <http://dbpedia.org/sparql> { ?s ?p ?o } }")
    with pytest.raises(UnsupportedQuery, match="FROM"):
        run_query(shop.view, "SELECT * FROM <http://example.org/g> { ?s ?p ?o }")


def test_row_cap_truncates_and_says_so(shop: Loaded) -> None:
    q = SHOP_PREFIXES + "SELECT ?o WHERE { ?o ord:qty ?q }"
    full = run_query(shop.view, q)
    capped = run_query(shop.view, q, max_rows=7)
    assert len(full.bindings) == 80 and not full.truncated
    assert len(capped.bindings) == 7 and capped.truncated
    exact = run_query(shop.view, q, max_rows=80)
    assert len(exact.bindings) == 80 and not exact.truncated
    evaluated = run_query(shop.view, q, max_rows=5, allow_sql=False)
    assert len(evaluated.bindings) == 5 and evaluated.truncated


def test_construct_is_capped_too(shop: Loaded) -> None:
    q = SHOP_PREFIXES + "CONSTRUCT { ?c s:in ?x } WHERE { ?c cust:city ?x }"
    out = run_query(shop.view, q, max_rows=3)
    assert out.graph is not None and len(out.graph) == 3 and out.truncated


def test_a_query_that_scans_forever_times_out(shop: Loaded) -> None:
    # a five-way cross product of every triple: far beyond any timeout on any backend
    q = "SELECT * { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o }"
    with pytest.raises(QueryTimeout, match=r"0\.5 s"):
        run_query(shop.view, q, timeout_s=0.5)
    sqlq = SHOP_PREFIXES + ("SELECT (COUNT(*) AS ?n) { ?a ord:qty ?x . ?b ord:qty ?y . "
                            "?c ord:qty ?z . ?d ord:qty ?w . ?e ord:qty ?v }")
    with pytest.raises(QueryTimeout):
        run_query(shop.view, sqlq, timeout_s=0.5)


def test_sql_path_is_reported(shop: Loaded) -> None:
    q = SHOP_PREFIXES + "SELECT ?c ?x WHERE { ?c cust:city ?x } ORDER BY ?x ?c"
    out = run_query(shop.view, q)
    if shop.backend == "objectstore":
        assert not out.ran_as_sql and out.fallback_reason == "the storage plugin has no SQL engine"
    else:
        assert not out.ran_as_sql and "ORDER BY an entity" in (out.fallback_reason or "")
        ok = run_query(shop.view, SHOP_PREFIXES + "SELECT ?x WHERE { ?c cust:city ?x }")
        assert ok.ran_as_sql and ok.sql is not None and "SELECT" in ok.sql


def test_entity_iris_follow_the_documented_scheme(shop: Loaded) -> None:
    employee = shop.mapping.class_mapping("Employee")
    iri = entity_iri(shop.mapping, employee, ["E/001"])
    assert iri == URIRef("http://ex.org/shop/data/Person/E%2F001")  # root class, escaped key
    ref = parse_entity([shop.mapping], iri)
    assert ref is not None and ref.key == ("E/001",) and ref.root.name == "Person"
    customer = parse_entity([shop.mapping], URIRef("http://ex.org/shop/data/Customer/7"))
    assert customer is not None and customer.key == (7,)
    assert parse_entity([shop.mapping], URIRef("http://ex.org/shop/data/Customer/07")) is None
    assert parse_entity([shop.mapping], URIRef("http://ex.org/shop/data/Customer/x")) is None
    triples = list(shop.view.triples(iri, None, None))
    assert (iri, URIRef("http://ex.org/shop#Person/ssn"), Literal("E/001")) in triples


def test_the_view_reads_storage_live(shop: Loaded) -> None:
    """Nothing is cached: a row written after the view was built is visible at once."""
    q = SHOP_PREFIXES + 'SELECT ?c WHERE { ?c cust:city "Trondheim" }'
    assert run_query(shop.view, q).bindings == []
    row = {"cid": 999, "cname": "late", "city": "Trondheim", "vip": False}
    shop.store.write("customer", [row], mode="upsert")
    try:
        got = run_query(shop.view, q)
        assert [b[Variable("c")] for b in got.bindings] == [URIRef("http://ex.org/shop/data/Customer/999")]
        assert len(run_query(shop.view, q, allow_sql=False).bindings) == 1
    finally:
        shop.store.delete("customer", where=[("cid", "eq", 999)])
