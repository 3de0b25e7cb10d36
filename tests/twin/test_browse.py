"""Entity browsing on every backend, checked against SPARQL over the materialised oracle."""

from __future__ import annotations

import pytest

from tests.twin.conftest import Loaded
from tests.twin.corpus import SHOP_PREFIXES
from tests.twin.oracle import expected
from twin.browse import (
    BrowseError,
    entity_class,
    get_entity,
    list_entities,
    search_entities,
)

pytestmark = pytest.mark.usefixtures("twin_backend")


def _oracle_iris(data: Loaded, body: str) -> set[str]:
    _, rows = expected(data.oracle, SHOP_PREFIXES + body)
    return {r[0][1] for r in rows}


def test_list_entities_filters_and_pages(shop: Loaded) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = list_entities(shop.view, "Order", [("qty", "ge", 5), ("total", "lt", "600")],
                                     limit=7, cursor=cursor)
        assert len(page) <= 7
        seen += [e.iri for e in page]
        if cursor is None:
            break
    want = _oracle_iris(shop, "SELECT ?o WHERE { ?o ord:qty ?q ; ord:total ?t "
                              "FILTER(?q >= 5 && ?t < 600) }")
    assert len(seen) == len(set(seen)) and set(seen) == want and len(want) > 7
    first, _ = list_entities(shop.view, "Order", [("qty", "ge", 5)], limit=1)
    assert set(first[0].attributes) >= {"no", "qty", "total", "placed", "customer"}
    assert first[0].attributes["customer"].startswith("http://ex.org/shop/data/Customer/")


def test_list_entities_of_a_subclass_has_inherited_attributes(shop: Loaded) -> None:
    page, _ = list_entities(shop.view, "Employee", [], limit=100)
    want = _oracle_iris(shop, "SELECT ?e WHERE { ?e a s:Employee }")
    assert {e.iri for e in page} == want
    assert all("name" in e.attributes and "salary" in e.attributes for e in page)


def test_bad_filters_name_the_problem(shop: Loaded) -> None:
    with pytest.raises(BrowseError, match="no attribute 'colour'"):
        list_entities(shop.view, "Order", [("colour", "eq", "red")])
    with pytest.raises(BrowseError, match="unknown class 'Nope'"):
        list_entities(shop.view, "Nope", [])


def test_get_entity_both_directions(shop: Loaded) -> None:
    iri = "http://ex.org/shop/data/Customer/3"
    entity = get_entity(shop.view, iri)
    assert entity.classes == ["Customer"] and entity.attributes["cid"] == 3
    incoming = {r["entity"] for r in entity.incoming if r["property"] == "customer"}
    assert incoming == _oracle_iris(shop, f"SELECT ?o WHERE {{ ?o ord:customer <{iri}> }}")
    employee = get_entity(shop.view, "http://ex.org/shop/data/Person/E%2F001")
    assert employee.classes == ["Employee", "Person"]
    assert [r["property"] for r in employee.outgoing] in (["dept"], [])
    with pytest.raises(BrowseError, match="not an entity IRI"):
        get_entity(shop.view, "http://elsewhere.org/x")
    with pytest.raises(BrowseError, match="no entity"):
        get_entity(shop.view, "http://ex.org/shop/data/Customer/99999")


def test_entity_class_is_the_most_specific_class_holding_it(shop: Loaded) -> None:
    view = shop.view.for_one_query()
    assert entity_class(view, "http://ex.org/shop/data/Customer/3") == "Customer"
    # Person and Employee share the IRI; the Employee table holds this key, so it is one
    assert entity_class(view, "http://ex.org/shop/data/Person/E%2F001") == "Employee"
    assert entity_class(view, "http://ex.org/shop/data/Person/P-0001") == "Person"
    # the pattern of the Person hierarchy, held by no table: its root class
    assert entity_class(view, "http://ex.org/shop/data/Person/nobody") == "Person"
    assert entity_class(view, "http://elsewhere.org/x") is None
    assert entity_class(view, "http://ex.org/shop/data/Customer/abc") is None  # integer key


def test_search_entities(shop: Loaded) -> None:
    found = search_entities(shop.view, "%b_")
    assert {e.iri for e in found} == _oracle_iris(
        shop, 'SELECT DISTINCT ?c WHERE { ?c ?p ?v FILTER(isLiteral(?v) && '
              'DATATYPE(?v) = xsd:string && CONTAINS(?v, "%b_")) }')
    delta = search_entities(shop.view, "Delta", class_ref="Person", limit=500)
    assert delta and all("Delta" in e.attributes["name"] for e in delta)
