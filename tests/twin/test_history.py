"""History in the twin: queries, browsing, export and scenarios as of a past instant.

`shop_past` (conftest) is the shop data set rewritten after `at`; its oracle is the copy
materialised at `at`. The corpus itself runs as of `at` in test_differential.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from rdflib import URIRef

from tests.twin.conftest import Past
from tests.twin.corpus import SHOP_PREFIXES
from tests.twin.oracle import actual, expected, same
from twin.browse import get_entity, list_entities, search_entities
from twin.engine import run_query
from twin.errors import HistoryUnavailable
from twin.export import stream
from twin.scenario import ScenarioView, check_edit
from twin.view import TwinView

D = "http://ex.org/shop/data/"
TICK = timedelta(microseconds=1)
ORDER_QTY = SHOP_PREFIXES + "SELECT ?o ?q WHERE { ?o ord:qty ?q }"


def _iris(past: Past, body: str) -> set[str]:
    _, rows = expected(past.oracle, SHOP_PREFIXES + body)
    return {r[0][1] for r in rows}


def test_the_present_differs_from_the_past(shop_past: Past) -> None:
    now = actual(run_query(shop_past.present, ORDER_QTY))
    then = actual(run_query(shop_past.view, ORDER_QTY))
    assert same(then, expected(shop_past.oracle, ORDER_QTY), ordered=False)
    assert not same(now, then, ordered=False)


def test_before_any_data_the_twin_is_empty(shop_past: Past) -> None:
    view = TwinView(shop_past.store, [shop_past.mapping], as_of=shop_past.first - TICK)
    assert view.count() == 0
    assert list(view.triples(None, None, None)) == []
    for allow_sql in (True, False):
        result = run_query(view, SHOP_PREFIXES + "SELECT * WHERE { ?s ?p ?o }",
                           allow_sql=allow_sql)
        assert result.bindings == []
    assert run_query(view, "ASK { ?s ?p ?o }").ask is False
    assert list_entities(view, "Order", [])[0] == []
    assert search_entities(view, "a") == []
    assert b"".join(stream(view, "nt")) == b""


def test_browsing_as_of(shop_past: Past) -> None:
    view = shop_past.view
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = list_entities(view, "Order", [("qty", "ge", 5)], limit=7,
                                     cursor=cursor)
        seen += [e.iri for e in page]
        if cursor is None:
            break
    want = _iris(shop_past, "SELECT ?o WHERE { ?o ord:qty ?q FILTER(?q >= 5) }")
    assert sorted(seen) == sorted(want)
    order = get_entity(view, D + "Order/80")  # deleted after `at`
    _, rows = expected(shop_past.oracle, SHOP_PREFIXES + "SELECT ?q WHERE { <"
                       + D + "Order/80> ord:qty ?q }")
    assert order.attributes["qty"] == int(rows[0][0][2])
    found = {e.iri for e in search_entities(view, "alpha", "Customer", limit=500)}
    assert found == _iris(shop_past, 'SELECT ?c WHERE { ?c cust:cname ?n '
                                     'FILTER(CONTAINS(?n, "alpha")) }')


def test_export_as_of_is_the_past_copy(shop_past: Past) -> None:
    from rdflib import Graph

    text = b"".join(stream(shop_past.view, "nt")).decode()
    graph = Graph()
    graph.parse(data=text, format="nt")
    assert len(graph) == len(shop_past.oracle)


def test_a_scenario_on_the_past(shop_past: Past) -> None:
    view = shop_past.view
    edit = check_edit(view, "set_attribute", D + "Order/1", "qty", 77, None)
    what_if = ScenarioView(view, [edit])
    assert what_if.as_of == shop_past.at
    one = ("iri", D + "Order/1")
    _, got = actual(run_query(what_if, ORDER_QTY))
    _, want = expected(shop_past.oracle, ORDER_QTY)
    # Order/1 has the edited value; every other order its past value (not the present one)
    assert sorted(r for r in got if r[0] == one) == [(one, ("num", True, Decimal(77)))]
    assert sorted((r for r in got if r[0] != one), key=repr) == \
        sorted((r for r in want if r[0] != one), key=repr)
    qty = URIRef("http://ex.org/shop#Order/qty")
    assert [str(o) for _, _, o in what_if.triples(URIRef(D + "Order/1"), qty, None)] == ["77"]


def test_invalid_as_of_is_refused(shop_past: Past) -> None:
    with pytest.raises(HistoryUnavailable, match="as_of"):
        TwinView(shop_past.store, [shop_past.mapping], as_of=datetime(2020, 1, 1))
