"""Ontologies through the in-process REST API: upload and its errors, edits as versions, diffs,
export round-trips, the compiled schema, R2RML, proposals, and what accepting does to storage.

The extraction *flow* runs on the real platform in tests/test_ontology_platform.py; here the
proposal it would post is built with the same `extract` call. Accepting a version whose new
tables get raw records starts the `load-ontology-tables` flow: the tests with raw data use
`flow_client`, an in-process app wired to the session's Prefect and `mimir up`'s worker.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from prefect.settings import PREFECT_API_URL, temporary_settings
from rdflib import Graph
from rdflib.namespace import RDF

from domain.published import published
from domain.raw_area import write_raw
from domain.stores import open_store
from ontology import extract, load_ontology, to_turtle
from tests.conftest import Platform
from tests.utils.runs import completed_result
from tests.utils.servers import PrefectServer
from tests.utils.sqlite_rows import user_rows, user_tables

API = "/api/v1"
SHOP = """@prefix : <http://example.org/shop#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<http://example.org/shop> a owl:Ontology ; rdfs:label "Shop" .

:Customer a owl:Class ; rdfs:label "Customer" ; owl:hasKey ( :customerId ) .
:customerId a owl:DatatypeProperty, owl:FunctionalProperty ;
    rdfs:domain :Customer ; rdfs:range xsd:integer .
:name a owl:DatatypeProperty, owl:FunctionalProperty ; rdfs:domain :Customer ; rdfs:range xsd:string .

:Order a owl:Class ; rdfs:label "Order" ; owl:hasKey ( :orderNo ) .
:orderNo a owl:DatatypeProperty, owl:FunctionalProperty ; rdfs:domain :Order ; rdfs:range xsd:string .
:total a owl:DatatypeProperty, owl:FunctionalProperty ; rdfs:domain :Order ; rdfs:range xsd:decimal .
:customer a owl:ObjectProperty, owl:FunctionalProperty ; rdfs:domain :Order ; rdfs:range :Customer .
"""
BROKEN = """@prefix : <http://example.org/shop#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .

:Customer a owl:Class
:Order a owl:Class .
"""
UNDEFINED = """@prefix : <http://example.org/shop#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

:Order a owl:Class .
:buyer a owl:ObjectProperty ;
    rdfs:domain :Order ; rdfs:range :Buyer .
"""


def onto(project: str, tail: str = "") -> str:
    return f"{API}/projects/{project}/ontologies{tail}"


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def tables_of(project: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    db = Path(urlsplit(project["storage_url"]).path) / "tables.sqlite"
    with sqlite3.connect(db) as connection:
        return {n: user_rows(connection, n) for n in user_tables(connection)}


@pytest.fixture
def flow_client(
    make_client: Any, session_prefect: PrefectServer, platform: Platform
) -> Iterator[TestClient]:
    """An app whose flow runs (loading tables after an accept) run on `mimir up`'s worker."""
    with temporary_settings({PREFECT_API_URL: session_prefect.api_url}):
        yield make_client(prefect_api_url=session_prefect.api_url)


def loaded(client: TestClient, project: str, storage: dict[str, Any]) -> dict[str, Any]:
    """What the load run an accept started recorded (rows_loaded, records_loaded, rejected)."""
    assert storage["load_run_id"], storage
    return completed_result(client.get, API, project, storage["load_run_id"])


def make_shop(client: TestClient) -> dict[str, Any]:
    project = ok(client.post(f"{API}/projects", json={"name": "shop"}), 201)
    saved = ok(
        client.post(onto("shop"), json={"name": "sales", "content": SHOP, "message": "import"}),
        201,
    )
    assert saved["version"]["version"] == 1 and saved["version"]["origin"] == "upload"
    return project


@pytest.fixture
def shop(client: TestClient) -> dict[str, Any]:
    return make_shop(client)


@pytest.fixture
def flow_shop(flow_client: TestClient) -> dict[str, Any]:
    return make_shop(flow_client)


def test_broken_documents_are_refused_with_lines_and_nothing_is_saved(client: TestClient) -> None:
    ok(client.post(f"{API}/projects", json={"name": "shop"}), 201)
    response = client.post(onto("shop"), json={"name": "sales", "content": BROKEN})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    error = response.json()["errors"][0]
    assert (error["field"], error["line"], error["type"]) == ("body.content", 5, "parse_error")
    assert error["column"] >= 1

    undefined = client.post(onto("shop"), json={"name": "sales", "content": UNDEFINED}).json()
    found = [e for e in undefined["errors"] if e["type"] == "undefined_class"]
    assert found and "Buyer" in found[0]["message"]  # semantic problems are reported too

    bad_format = client.post(onto("shop"), json={"name": "sales", "content": SHOP, "format": "x"})
    assert bad_format.status_code == 422 and bad_format.json()["field"] == "body.format"
    assert ok(client.get(onto("shop")))["items"] == []


def test_upload_in_every_format_gives_the_same_ontology(
    client: TestClient, shop: dict[str, Any]
) -> None:
    exported = {
        fmt: ok(client.get(onto("shop", "/sales/export"), params={"format": fmt}))["content"]
        for fmt in ("xml", "nt", "json-ld")
    }
    for index, (fmt, content) in enumerate(exported.items()):
        name = f"copy-{index}"
        ok(client.post(onto("shop"), json={"name": name, "content": content, "format": fmt}), 201)
        copy = ok(client.get(onto("shop", f"/{name}")))
        assert (copy["class_count"], copy["property_count"]) == (2, 5), fmt
    listed = [o["name"] for o in ok(client.get(onto("shop")))["items"]]
    assert listed == ["copy-0", "copy-1", "copy-2", "sales"]


def test_accepting_drives_storage_and_publishes_for_workers(
    client: TestClient, shop: dict[str, Any]
) -> None:
    tables = tables_of(shop)
    assert {"customer", "order"} <= set(tables)
    schema = ok(client.get(onto("shop", "/sales/schema")))
    order = next(t for t in schema["mapping"]["tabular"]["tables"] if t["name"] == "order")
    assert order["primary_key"] == ["order_no"]
    assert order["foreign_keys"][0]["references"] == "customer"
    [entry] = published(shop["storage_url"])
    assert (entry.name, entry.version) == ("sales", 1)
    assert entry.mapping.class_mapping("Order").table == "order"


def test_edits_are_versions_with_author_and_message(
    client: TestClient, shop: dict[str, Any]
) -> None:
    base = onto("shop", "/sales")
    ok(client.post(f"{base}/classes", json={"class_name": "Product", "message": "catalogue"}), 201)
    added = client.post(
        f"{base}/properties",
        json={"property_name": "sku", "domain": ["Product"], "range": ["xsd:string"]},
    )
    ok(added, 201)
    ok(client.put(f"{base}/key", json={"class_ref": "Product", "properties": ["sku"]}))
    renamed = ok(
        client.post(f"{base}/classes/rename", json={"ref": "Product", "new_name": "Article"})
    )
    assert renamed["version"]["version"] == 5 and renamed["version"]["parent"] == 4
    ok(client.post(f"{base}/properties/rename", json={"ref": "total", "new_name": "amount"}))
    versions = ok(client.get(f"{base}/versions"))["items"]
    assert [v["version"] for v in versions] == [6, 5, 4, 3, 2, 1]
    assert versions[-2]["message"] == "catalogue"
    assert {v["author"] for v in versions} == {"local (open mode)"}
    assert all(v["status"] == "accepted" for v in versions)
    detail = ok(client.get(base))
    assert "Article" in [c["iri"].split("#")[-1] for c in detail["classes"]]
    assert "article" in tables_of(shop)
    old = ok(client.get(f"{base}/versions/1"))
    assert "orderNo" in old["turtle"] and "Article" not in old["turtle"]


def test_bad_edits_leave_the_current_version_untouched(
    client: TestClient, shop: dict[str, Any]
) -> None:
    base = onto("shop", "/sales")
    unknown = client.post(f"{base}/classes/rename", json={"ref": "Invoice", "new_name": "Bill"})
    assert unknown.status_code == 422 and "unknown class 'Invoice'" in unknown.json()["detail"]
    assert unknown.json()["field"] == "body.ref"
    collision = client.post(f"{base}/classes/rename", json={"ref": "Order", "new_name": "Customer"})
    assert collision.status_code == 409
    in_use = client.request("DELETE", f"{base}/classes", params={"ref": "Customer"})
    assert in_use.status_code == 409 and "still referenced" in in_use.json()["detail"]
    stale = client.post(f"{base}/classes", json={"class_name": "X", "expected_version": 7})
    assert stale.status_code == 409
    assert ok(client.get(base))["version"] == 1
    assert len(ok(client.get(f"{base}/versions"))["items"]) == 1
    deleted = ok(
        client.request("DELETE", f"{base}/classes", params={"ref": "Customer", "cascade": "true"})
    )
    assert deleted["version"]["version"] == 2
    assert "customer" in tables_of(shop)  # storage only grows: the table and its rows stay


def test_diff_between_any_two_versions_as_json_and_text(
    client: TestClient, shop: dict[str, Any]
) -> None:
    base = onto("shop", "/sales")
    ok(client.post(f"{base}/classes", json={"class_name": "Product"}), 201)
    ok(client.post(f"{base}/classes/rename", json={"ref": "Order", "new_name": "Purchase"}))
    result = ok(client.get(f"{base}/diff", params={"from_version": 1, "to_version": 3}))
    changes = {(c["name"], c["change"]) for c in result["diff"]["classes"]}
    assert {("Product", "added"), ("Order", "removed"), ("Purchase", "added")} <= changes
    assert result["text"].startswith("Version 1 → 3")
    assert "  + Product" in result["text"] and "  - Order" in result["text"]
    current = ok(client.get(f"{base}/diff", params={"from_version": 2}))
    assert current["to_version"] == 3
    missing = client.get(f"{base}/diff", params={"from_version": 9})
    assert missing.status_code == 404


def test_export_round_trips_and_r2rml_parses(client: TestClient, shop: dict[str, Any]) -> None:
    base = onto("shop", "/sales")
    turtle = ok(client.get(f"{base}/export"))
    assert turtle["media_type"] == "text/turtle" and turtle["version"] == 1
    again = load_ontology(turtle["content"], "turtle")
    original = load_ontology(SHOP, "turtle")
    assert again.ok and original.model is not None and again.model is not None
    assert {c.iri for c in again.model.classes} == {c.iri for c in original.model.classes}
    assert {p.iri for p in again.model.properties} == {p.iri for p in original.model.properties}
    xml = ok(client.get(f"{base}/export", params={"format": "xml"}))
    assert len(Graph().parse(data=xml["content"], format="xml")) == len(
        Graph().parse(data=turtle["content"], format="turtle")
    )
    r2rml = ok(client.get(f"{base}/r2rml"))
    graph = Graph().parse(data=r2rml["content"], format="turtle")
    maps = set(graph.subjects(RDF.type, graph.namespace_manager.expand_curie("rr:TriplesMap")))
    assert len(maps) == 2


def test_consistency_check_is_bounded(client: TestClient, shop: dict[str, Any]) -> None:
    report = ok(client.post(onto("shop", "/sales/consistency"), json={"timeout_s": 60}))
    assert report["status"] == "consistent" and report["consistent"] is True
    assert report["version"] == 1


def _raw_orders(project: dict[str, Any], rows: list[dict[str, Any]], run: str) -> None:
    store = open_store(project["storage_url"])
    try:
        write_raw(store, "orders", rows, run)
    finally:
        store.close()


def _extracted(rows: list[dict[str, Any]], project: str = "shop") -> str:
    base = f"https://mimir-aip.dev/projects/{project}/ontology#"
    return to_turtle(extract({"orders": rows}, base_iri=base).model)


ORDERS = [{"no": f"A{i}", "total": 10.5 * i, "placed": f"2024-05-0{i}"} for i in range(1, 5)]


def test_first_extraction_is_accepted_and_loads_the_raw_area(
    flow_client: TestClient, flow_shop: dict[str, Any]
) -> None:
    client, shop = flow_client, flow_shop
    _raw_orders(shop, ORDERS, "run-1")
    submitted = ok(
        client.post(onto("shop", "/main/proposals"), json={"extracted": _extracted(ORDERS)}), 201
    )
    assert submitted["status"] == "accepted" and submitted["version"] == 1
    storage = loaded(client, "shop", submitted["result"]["storage"])
    assert storage["records_loaded"] == 4 and storage["rejected"] == 0
    version = ok(client.get(onto("shop", "/main/versions/1")))
    assert (version["author"], version["origin"]) == ("extraction", "extraction")
    # the shop ontology's own `order` table is taken, so the extracted Order gets another name
    table = next(
        t["name"]
        for t in ok(client.get(onto("shop", "/main/schema")))["mapping"]["tabular"]["tables"]
        if t["source"].endswith("#Order")
    )
    assert table != "order"
    assert sorted(r[0] for r in tables_of(shop)[table]) == ["A1", "A2", "A3", "A4"]


def test_reextraction_proposes_without_overwriting_edits_and_accepts_in_part(
    flow_client: TestClient, flow_shop: dict[str, Any]
) -> None:
    client, shop = flow_client, flow_shop
    _raw_orders(shop, ORDERS, "run-1")
    ok(client.post(onto("shop", "/main/proposals"), json={"extracted": _extracted(ORDERS)}), 201)
    base = onto("shop", "/main")
    ok(client.post(f"{base}/properties/rename", json={"ref": "Order/total", "new_name": "amount"}))
    newer = [r | {"channel": "web", "coupon": "X" if i % 2 else None} for i, r in enumerate(ORDERS)]
    unchanged = ok(client.post(f"{base}/proposals", json={"extracted": _extracted(ORDERS)}), 201)
    assert unchanged["status"] == "unchanged"
    proposed = ok(client.post(f"{base}/proposals", json={"extracted": _extracted(newer)}), 201)
    assert proposed["status"] == "proposed" and proposed["version"] == 3
    again = ok(client.post(f"{base}/proposals", json={"extracted": _extracted(newer)}), 201)
    assert again["duplicate"] is True and again["version"] == 3
    [proposal] = ok(client.get(f"{base}/proposals"))["items"]
    ids = [c["id"] for c in proposal["changes"]]
    assert len(ids) == 2 and all(i.startswith("add:datatype_property:") for i in ids)
    assert ok(client.get(base))["version"] == 2  # a proposal is not current
    channel = next(i for i in ids if i.endswith("/channel"))
    unknown = client.post(f"{base}/proposals/3/accept", json={"changes": ["add:nothing"]})
    assert unknown.status_code == 422
    accepted = ok(client.post(f"{base}/proposals/3/accept", json={"changes": [channel]}))
    assert accepted["version"]["version"] == 4
    detail = ok(client.get(base))
    names = {p["iri"].rsplit("/", 1)[-1] for p in detail["datatype_properties"]}
    assert {"amount", "channel"} <= names and "total" not in names and "coupon" not in names
    assert ok(client.get(f"{base}/versions/3"))["status"] == "accepted"
    twice = client.post(f"{base}/proposals/3/accept", json={})
    assert twice.status_code == 409


def test_a_newer_proposal_supersedes_older_open_ones(
    client: TestClient, shop: dict[str, Any]
) -> None:
    base = onto("shop", "/sales")
    one = ok(client.post(f"{base}/proposals", json={"extracted": _extracted(ORDERS)}), 201)
    newer = [r | {"channel": "web"} for r in ORDERS]
    two = ok(client.post(f"{base}/proposals", json={"extracted": _extracted(newer)}), 201)
    assert (one["status"], two["status"]) == ("proposed", "proposed")
    assert one["superseded"] == [] and two["superseded"] == [one["version"]]
    assert [p["version"] for p in ok(client.get(f"{base}/proposals"))["items"]] == [two["version"]]
    closed = ok(client.get(f"{base}/proposals", params={"status": "superseded"}))["items"]
    assert [p["version"] for p in closed] == [one["version"]]
    assert f"superseded by proposal {two['version']}" in closed[0]["message"]
    refused = client.post(f"{base}/proposals/{one['version']}/accept", json={})
    assert refused.status_code == 409


def test_stale_and_rejected_proposals(flow_client: TestClient, flow_shop: dict[str, Any]) -> None:
    client, shop = flow_client, flow_shop
    _raw_orders(shop, ORDERS, "run-1")
    base = onto("shop", "/main")
    ok(client.post(f"{base}/proposals", json={"extracted": _extracted(ORDERS)}), 201)
    newer = [r | {"channel": "web"} for r in ORDERS]
    ok(client.post(f"{base}/proposals", json={"extracted": _extracted(newer)}), 201)
    ok(client.post(f"{base}/classes", json={"class_name": "Note"}), 201)
    stale = client.post(f"{base}/proposals/2/accept", json={})
    assert stale.status_code == 409 and "run the extraction again" in stale.json()["detail"]
    rejected = ok(client.post(f"{base}/proposals/2/reject", json={}))
    assert rejected["version"]["status"] == "rejected"
    assert ok(client.get(f"{base}/proposals"))["items"] == []
    assert len(ok(client.get(f"{base}/proposals", params={"status": "all"}))["items"]) == 1


def test_breaking_storage_changes_need_force_when_rows_would_be_lost(
    client: TestClient, shop: dict[str, Any]
) -> None:
    base = onto("shop", "/sales")
    ok(client.put(f"{base}/key", json={"class_ref": "Order", "properties": ["total"]}))
    store = open_store(shop["storage_url"])
    try:  # an empty table is rebuilt freely; one holding rows is not
        store.write("customer", [{"customer_id": 1, "name": "Ada"}])
    finally:
        store.close()
    key = {"class_ref": "Customer", "properties": ["name"]}
    refused = client.put(f"{base}/key", json=key)
    assert refused.status_code == 409 and "breaking" in refused.json()["detail"]
    assert refused.json()["field"].endswith("force")
    assert ok(client.get(base))["version"] == 2
    assert tables_of(shop)["customer"] == [(1, "Ada")]
    forced = ok(client.put(f"{base}/key", json=key | {"force": True}))
    assert any(c.startswith("recreate_table customer") for c in forced["storage"]["changes"])
    assert tables_of(shop)["customer"] == []


def test_deleting_the_project_removes_its_ontologies(
    client: TestClient, shop: dict[str, Any]
) -> None:
    ok(client.delete(f"{API}/projects/shop"))
    ok(client.post(f"{API}/projects", json={"name": "shop"}), 201)
    assert ok(client.get(onto("shop")))["items"] == []
    assert client.get(onto("shop", "/sales")).status_code == 404


def test_read_scope_reads_and_write_scope_edits(make_client: Any, tmp_path: Path) -> None:
    from mimir_api.core.security import Scope, create_token

    client = make_client()
    engine = client.app.state.engine
    reader = create_token(engine, "reader", frozenset({Scope.READ}))
    writer = create_token(engine, "writer", frozenset({Scope.WRITE}))
    as_writer = {"Authorization": f"Bearer {writer}"}
    as_reader = {"Authorization": f"Bearer {reader}"}
    ok(client.post(f"{API}/projects", json={"name": "shop"}, headers=as_writer), 201)
    ok(client.post(onto("shop"), json={"name": "sales", "content": SHOP}, headers=as_writer), 201)
    ok(client.get(onto("shop", "/sales"), headers=as_reader))
    denied = client.post(
        onto("shop", "/sales/classes"), json={"class_name": "X"}, headers=as_reader
    )
    assert denied.status_code == 403
    submit = client.post(
        onto("shop", "/sales/proposals"), json={"extracted": SHOP}, headers=as_reader
    )
    assert submit.status_code == 403


def test_automatic_extraction_can_be_held_and_released(
    client: TestClient, shop: dict[str, Any]
) -> None:
    hold = f"{API}/projects/shop/extraction-hold"
    assert ok(client.get(hold))["held"] is False
    held = ok(client.put(hold, json={"reason": "waiting for the sites export"}))
    assert held["held"] is True and held["reason"] == "waiting for the sites export"
    assert held["by"] and held["since"]
    assert ok(client.get(hold)) == held
    assert ok(client.delete(hold))["held"] is False
    assert ok(client.get(hold))["held"] is False
    assert client.put(hold, json={"reason": "x", "until": "later"}).status_code == 422


def test_listing_still_answers_when_extraction_runs_cannot_be_read(
    client: TestClient, shop: dict[str, Any]
) -> None:
    # this app's Prefect is unreachable: the ontologies are listed, and the listing says why
    # the newest extraction is unknown instead of failing or pretending there was none
    listing = ok(client.get(onto("shop")))
    assert [o["name"] for o in listing["items"]] == ["sales"]
    assert listing["latest_extraction"] is None
    assert listing["extraction_unavailable"].startswith("could not read extraction runs")
    detail = ok(client.get(onto("shop", "/sales")))
    assert detail["latest_extraction"] is None and detail["extraction_unavailable"]
