"""Twins on the running platform (`mimir up`, auth on): CRUD, query_twin over REST and MCP,
the SPARQL 1.1 Protocol endpoint with outside clients (SPARQLWrapper, rdflib's SPARQLStore)
in every format, errors, timeout, row cap, auth, and the sync-twin flow with its event.

The project's ontology is accepted through the API (which creates its tables and publishes
its mapping); the data is written into the project's store with the storage plugin, as an
ingestion would. The oracle is pyoxigraph over a materialised copy of the same view.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from rdflib import Graph, Variable
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TSV, XML, SPARQLWrapper

from ontology import to_turtle
from ontology.compile import SchemaMapping
from ontology.rows import map_records
from storage_plugins.sql import SQLConfig, SQLStoragePlugin
from tests.conftest import Platform
from tests.test_pipelines_platform import wait_for
from tests.test_platform import mcp_http_client
from tests.twin import datasets
from tests.twin.conftest import oracle_of
from tests.twin.corpus import SHOP_PREFIXES
from tests.twin.oracle import expected
from twin.engine import run_query
from twin.view import TwinView

PROJECT = "twin-e2e"
SELECT = SHOP_PREFIXES + "SELECT ?c ?x WHERE { ?c cust:city ?x }"
CONSTRUCT = SHOP_PREFIXES + "CONSTRUCT { ?c s:in ?x } WHERE { ?c cust:city ?x }"


def api(platform: Platform, method: str, tail: str, token: str | None = None,
        **kwargs: Any) -> httpx.Response:
    body_given = any(k in kwargs for k in ("json", "content", "data", "files"))
    if method in ("POST", "PUT", "PATCH") and not body_given:
        kwargs["json"] = {}  # state changes are JSON, even without a body
    return httpx.request(method, f"{platform.api}/projects/{PROJECT}{tail}",
                         headers=platform.headers(token), timeout=120, **kwargs)


class Shop:
    """The project's store as the tests see it (for the oracle)."""

    def __init__(self, store: SQLStoragePlugin, mapping: SchemaMapping) -> None:
        self.store = store
        self.mapping = mapping
        self.view = TwinView(store, [mapping])
        self.oracle = oracle_of(self.view)


@pytest.fixture(scope="module")
def shop(platform: Platform) -> Iterator[Shop]:
    created = httpx.post(f"{platform.api}/projects", json={"name": PROJECT},
                         headers=platform.headers())
    assert created.status_code == 201, created.text
    onto = api(platform, "POST", "/ontologies", json={
        "name": "main", "content": to_turtle(datasets.shop_model()), "format": "turtle"})
    assert onto.status_code == 201, onto.text
    schema = api(platform, "GET", "/ontologies/main/schema")
    assert schema.status_code == 200, schema.text
    mapping = SchemaMapping.model_validate(schema.json()["mapping"])
    db = platform.home / "projects" / PROJECT / "tables.sqlite"
    store = SQLStoragePlugin(SQLConfig(url=f"sqlite:///{db}"))
    link = {t.name for t in mapping.tabular.tables if t.kind == "link"}
    for cls, items in datasets.shop_records(30).items():
        out = map_records(mapping, cls, items)
        for table, rows in sorted(out.rows.items(), key=lambda kv: kv[0] in link):
            store.write(table, rows, mode="upsert")
    twin = api(platform, "POST", "/twins", json={"name": "shop", "ontologies": ["main"],
                                                 "max_rows": 50, "timeout_s": 10})
    assert twin.status_code == 201, twin.text
    try:
        yield Shop(store, mapping)
    finally:
        store.close()


def endpoint(platform: Platform, twin: str = "shop") -> str:
    return f"{platform.api}/projects/{PROJECT}/twins/{twin}/sparql"


def wrapper(platform: Platform, query: str, fmt: str, method: str = "GET") -> SPARQLWrapper:
    client = SPARQLWrapper(endpoint(platform))
    client.addCustomHttpHeader("Authorization", f"Bearer {platform.read_token}")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setMethod(method)
    return client


# --------------------------------------------------------------------------- CRUD


def test_twin_crud_and_validation(platform: Platform, shop: Shop) -> None:
    got = api(platform, "GET", "/twins/shop").json()
    assert (got["ontologies"], got["max_rows"], got["timeout_s"]) == (["main"], 50, 10)
    assert got["sparql_endpoint"] == f"/api/v1/projects/{PROJECT}/twins/shop/sparql"
    assert [t["name"] for t in api(platform, "GET", "/twins").json()["items"]] == ["shop"]
    again = api(platform, "POST", "/twins", json={"name": "shop"})
    assert again.status_code == 409 and again.json()["field"] == "body.name"
    bad = api(platform, "POST", "/twins", json={"name": "other", "ontologies": ["nope"]})
    assert bad.status_code == 422 and "nope" in bad.json()["detail"]
    reader = api(platform, "POST", "/twins", token=platform.read_token, json={"name": "x1"})
    assert reader.status_code == 403
    extra = api(platform, "POST", "/twins", json={"name": "extra", "description": "temp"})
    assert extra.status_code == 201
    patched = api(platform, "PATCH", "/twins/extra", json={"max_rows": 3})
    assert patched.status_code == 200 and patched.json()["max_rows"] == 3
    assert api(platform, "DELETE", "/twins/extra").status_code == 200
    missing = api(platform, "GET", "/twins/extra")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


# --------------------------------------------------------------------------- query_twin


def test_query_twin_over_rest_matches_the_oracle(platform: Platform, shop: Shop) -> None:
    q = SHOP_PREFIXES + ("SELECT ?x (COUNT(?o) AS ?n) WHERE { ?o ord:customer ?c . "
                         "?c cust:city ?x } GROUP BY ?x")
    answer = api(platform, "POST", "/twins/shop/query", token=platform.read_token,
                 json={"query": q})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ran_as_sql"] is True and body["truncated"] is False
    mine = {(b["x"]["value"], int(b["n"]["value"])) for b in body["bindings"]}
    _, rows = expected(shop.oracle, q)
    assert mine == {(r[0][1], int(r[1][2])) for r in rows}


def test_query_twin_is_an_mcp_tool(platform: Platform, shop: Shop) -> None:
    async def call() -> Any:
        async with mcp_http_client(platform, platform.read_token) as client:
            return await client.call_tool("query_twin", {
                "project": PROJECT, "twin": "shop", "query": SELECT})

    result = anyio.run(call)
    data = result.structured_content
    assert data["type"] == "SELECT" and data["truncated"] is False
    local = run_query(shop.view, SELECT)
    assert sorted((b["c"]["value"], b["x"]["value"]) for b in data["bindings"]) == sorted(
        (str(b[Variable("c")]), str(b[Variable("x")])) for b in local.bindings)


# --------------------------------------------------------------------------- protocol


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_json_matches_the_oracle(platform: Platform, shop: Shop,
                                               method: str) -> None:
    q = SHOP_PREFIXES + "SELECT ?o ?t WHERE { ?o ord:total ?t FILTER(?t > 300) }"
    data = wrapper(platform, q, JSON, method).queryAndConvert()
    assert isinstance(data, dict)
    got = sorted((b["o"]["value"], b["t"]["value"]) for b in data["results"]["bindings"])
    _, rows = expected(shop.oracle, q)
    assert len(got) == len(rows) > 0
    assert {g[0] for g in got} == {r[0][1] for r in rows}
    assert all(b["t"]["datatype"].endswith("#decimal") for b in data["results"]["bindings"])


def test_every_result_format(platform: Platform, shop: Shop) -> None:
    q = SHOP_PREFIXES + "SELECT ?c ?x WHERE { ?c cust:city ?x } ORDER BY ?x LIMIT 5"
    xml = wrapper(platform, q, XML).query()
    assert xml.response.headers["content-type"].startswith("application/sparql-results+xml")
    xml_rows = xml.convert().getElementsByTagName("result")  # type: ignore[union-attr]
    assert len(xml_rows) == 5
    for fmt, sep in ((CSV, ","), (TSV, "\t")):
        raw = wrapper(platform, q, fmt).queryAndConvert()
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        table = list(csv.reader(io.StringIO(text), delimiter=sep))
        assert table[0] in (["c", "x"], ["?c", "?x"]) and len(table) == 6
    ask = wrapper(platform, SHOP_PREFIXES + 'ASK { ?c cust:city "Oslo" }', JSON).queryAndConvert()
    assert isinstance(ask, dict)
    assert ask["boolean"] == expected(shop.oracle, SHOP_PREFIXES + 'ASK { ?c cust:city "Oslo" }')
    want = expected(shop.oracle, CONSTRUCT)
    for accept, fmt in (("text/turtle", "turtle"), ("application/n-triples", "nt"),
                        ("application/ld+json", "json-ld")):
        response = httpx.get(endpoint(platform), params={"query": CONSTRUCT}, timeout=60,
                             headers={**platform.headers(platform.read_token), "Accept": accept})
        assert response.status_code == 200 and response.headers["content-type"].startswith(accept)
        graph = Graph().parse(data=response.text, format=fmt)
        from tests.twin.oracle import ours

        assert sorted({(ours(s), ours(p), ours(o)) for s, p, o in graph}, key=repr) == want


def test_form_and_direct_post_bodies(platform: Platform, shop: Shop) -> None:
    headers = {**platform.headers(platform.read_token),
               "Accept": "application/sparql-results+json"}
    form = httpx.post(endpoint(platform), data={"query": SELECT}, headers=headers)
    direct = httpx.post(endpoint(platform), content=SELECT.encode(), headers={
        **headers, "Content-Type": "application/sparql-query"})
    assert form.status_code == direct.status_code == 200
    assert form.json() == direct.json()
    assert form.headers["mimir-ran-as-sql"] == "true"


def test_rdflib_sparqlstore_reads_the_twin(platform: Platform, shop: Shop) -> None:
    store = SPARQLStore(endpoint(platform),
                        headers={"Authorization": f"Bearer {platform.read_token}"})
    graph = Graph(store=store)
    q = SHOP_PREFIXES + "SELECT ?e ?n WHERE { ?e a s:Employee ; person:name ?n }"
    got = sorted((str(r[0]), str(r[1])) for r in graph.query(q))  # type: ignore[index]
    local = run_query(shop.view, q)
    assert got == sorted((str(b[Variable("e")]), str(b[Variable("n")])) for b in local.bindings)
    assert len(got) > 0


def test_row_cap_is_flagged(platform: Platform, shop: Shop) -> None:
    q = SHOP_PREFIXES + "SELECT ?o WHERE { ?o ord:qty ?q }"
    response = httpx.get(endpoint(platform), params={"query": q},
                         headers=platform.headers(platform.read_token))
    assert response.status_code == 200
    assert response.headers["mimir-truncated"] == "true"
    assert len(response.json()["results"]["bindings"]) == 50
    small = SHOP_PREFIXES + "SELECT ?o WHERE { ?o ord:qty 9 }"
    ok = httpx.get(endpoint(platform), params={"query": small},
                   headers=platform.headers(platform.read_token))
    assert ok.headers["mimir-truncated"] == "false"


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def test_protocol_errors(platform: Platform, shop: Shop) -> None:
    headers = platform.headers(platform.read_token)
    bad = httpx.get(endpoint(platform), params={"query": "SELECT ?s WHERE {\n ?s ?p ?o\n FILTER( }"},
                    headers=headers)
    problem = _problem(bad, 400)
    assert (problem["errors"][0]["line"], problem["errors"][0]["column"]) == (3, 2)
    update = httpx.post(endpoint(platform), data={"update": "CLEAR ALL"}, headers=headers)
    assert "read-only" in _problem(update, 400)["detail"]
    update_text = httpx.get(endpoint(platform), params={"query": "DELETE WHERE { ?s ?p ?o }"},
                            headers=headers)
    assert "read-only" in _problem(update_text, 400)["detail"]
    _problem(httpx.get(endpoint(platform), headers=headers), 422)
    _problem(httpx.get(endpoint(platform, "nope"), params={"query": SELECT}, headers=headers),
             404)
    _problem(httpx.get(endpoint(platform), params={"query": SELECT}), 401)
    _problem(httpx.get(endpoint(platform), params={"query": SELECT},
                       headers={"Authorization": "Bearer wrong"}), 401)
    _problem(httpx.get(endpoint(platform), params={"query": SELECT},
                       headers={**headers, "Accept": "image/png"}), 406)
    graph_in_json = httpx.get(endpoint(platform), params={"query": CONSTRUCT},
                              headers={**headers, "Accept": "application/sparql-results+json"})
    _problem(graph_in_json, 406)
    ask_csv = httpx.get(endpoint(platform), params={"query": "ASK { ?s ?p ?o }"},
                        headers={**headers, "Accept": "text/csv"})
    assert "json" in _problem(ask_csv, 406)["detail"]
    service = httpx.get(endpoint(platform), headers=headers, params={
        "query": "SELECT * { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"})
    assert "SERVICE" in _problem(service, 400)["detail"]


def test_a_query_past_the_timeout_is_stopped(platform: Platform, shop: Shop) -> None:
    assert api(platform, "PATCH", "/twins/shop", json={"timeout_s": 0.5}).status_code == 200
    try:
        # an aggregate must consume the whole 4-way cross product: no row cap can end it
        q = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
        slow = httpx.get(endpoint(platform), params={"query": q}, timeout=120,
                         headers=platform.headers(platform.read_token))
        problem = _problem(slow, 503)
        assert problem["type"].endswith("query-timeout") and "0.5 s" in problem["detail"]
    finally:
        api(platform, "PATCH", "/twins/shop", json={"timeout_s": 10})


# --------------------------------------------------------------------------- sync


def test_sync_twin_runs_the_flow_and_emits_the_event(platform: Platform, shop: Shop) -> None:
    started = api(platform, "POST", "/twins/shop/syncs")
    assert started.status_code == 201, started.text
    run_id = started.json()["flow_run_id"]
    prefect = platform.env["PREFECT_API_URL"]

    def finished() -> dict[str, Any] | None:
        run = httpx.get(f"{prefect}/flow_runs/{run_id}").json()
        return run if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED") else None

    run = wait_for(finished, timeout=180)
    assert run["state_type"] == "COMPLETED", run
    point = api(platform, "GET", "/twins/shop").json()["last_sync"]
    assert point["ok"] is True and point["issues"] == []
    assert point["counts"]["Customer"] == shop.store.count("customer") == 30
    assert point["counts"]["Order"] == 60

    def event() -> list[dict[str, Any]]:
        found = httpx.post(f"{prefect}/events/filter", json={
            "filter": {"event": {"name": ["mimir.twin.synced"]},
                       "resource": {"id": [f"mimir.twin.{PROJECT}.shop"]}}}).json()
        return list(found.get("events", []))

    [synced, *_] = wait_for(event, timeout=60)
    assert synced["payload"]["counts"] == point["counts"]
    assert json.dumps(synced["payload"]["counts"])  # a plain JSON object


# --------------------------------------------------------------------------- browsing


def test_entity_browsing_over_rest(platform: Platform, shop: Shop) -> None:
    token = platform.read_token
    page = api(platform, "POST", "/twins/shop/entities/list", token=token, json={
        "class_name": "Order", "where": [{"attribute": "total", "op": "ge", "value": "500"}],
        "limit": 5})
    assert page.status_code == 200, page.text
    body = page.json()
    _, rows = expected(shop.oracle, SHOP_PREFIXES + "SELECT ?o { ?o ord:total ?t FILTER(?t >= 500) }")
    assert len(body["items"]) == min(5, len(rows)) and body["next_cursor"]
    nxt = api(platform, "POST", "/twins/shop/entities/list", token=token, json={
        "class_name": "Order", "where": [{"attribute": "total", "op": "ge", "value": "500"}],
        "limit": 5, "cursor": body["next_cursor"]}).json()
    assert not {e["iri"] for e in nxt["items"]} & {e["iri"] for e in body["items"]}
    bad = api(platform, "POST", "/twins/shop/entities/list", token=token, json={
        "class_name": "Order", "where": [{"attribute": "total", "op": "ge", "value": "lots"}]})
    assert bad.status_code == 422 and bad.json()["field"] == "body.where"
    iri = "http://ex.org/shop/data/Customer/3"
    entity = api(platform, "GET", "/twins/shop/entity", token=token, params={"iri": iri})
    assert entity.status_code == 200 and entity.json()["classes"] == ["Customer"]
    assert {r["entity"] for r in entity.json()["incoming"]} == {
        r[0][1] for r in expected(shop.oracle, SHOP_PREFIXES + f"SELECT ?o {{ ?o ord:customer <{iri}> }}")[1]}
    missing = api(platform, "GET", "/twins/shop/entity", token=token,
                  params={"iri": "http://ex.org/shop/data/Customer/999"})
    assert missing.status_code == 404
    found = api(platform, "GET", "/twins/shop/search", token=token,
                params={"text": "Oslo", "class_name": "Customer"})
    assert found.status_code == 200
    assert all(e["attributes"]["city"] == "Oslo" for e in found.json()["items"])


# --------------------------------------------------------------------------- export


def test_export_streamed_and_as_an_operation(platform: Platform, shop: Shop) -> None:
    from tests.twin.oracle import ours, theirs

    want = {(theirs(q.subject), theirs(q.predicate), theirs(q.object)) for q in shop.oracle}
    url = f"{platform.api}/projects/{PROJECT}/twins/shop/export"
    with httpx.stream("GET", url, params={"format": "nt"}, timeout=120,
                      headers=platform.headers(platform.read_token)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/n-triples")
        text = b"".join(response.iter_bytes()).decode()
    graph = Graph().parse(data=text, format="nt")
    assert {(ours(s), ours(p), ours(o)) for s, p, o in graph} == want
    small = api(platform, "GET", "/twins/shop/rdf", token=platform.read_token,
                params={"format": "turtle", "max_triples": 10})
    assert small.status_code == 200
    body = small.json()
    assert (body["triples"], body["truncated"]) == (10, True)
    assert len(Graph().parse(data=body["content"], format="turtle")) == 10
    bad = httpx.get(url, params={"format": "xml"}, headers=platform.headers(platform.read_token))
    assert bad.status_code == 422


# --------------------------------------------------------------------------- scenarios


def test_scenarios_store_deltas_only(platform: Platform, shop: Shop) -> None:
    import hashlib
    import time

    db = platform.home / "projects" / PROJECT / "tables.sqlite"

    def digest() -> str:
        """Every stored byte of every table, as SQLite dumps it (WAL checkpoints may move
        pages between the -wal file and the main file without changing a stored value)."""
        import sqlite3

        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()

    before = digest()
    made = api(platform, "POST", "/twins/shop/scenarios",
               json={"name": "what-if", "description": "Oslo doubles"})
    assert made.status_code == 201, made.text
    order1 = "http://ex.org/shop/data/Order/1"
    edits = [
        {"kind": "set_attribute", "entity": order1, "property": "qty", "value": 77,
         "rationale": "bulk order"},
        {"kind": "remove_entity", "entity": "http://ex.org/shop/data/Customer/2"},
        {"kind": "add_entity", "entity": "http://ex.org/shop/data/Customer/900",
         "value": "Customer", "attributes": {"cid": 900, "cname": "new", "city": "Oslo"}},
    ]
    for edit in edits:
        done = api(platform, "POST", "/twins/shop/scenarios/what-if/edits", json=edit)
        assert done.status_code == 201, done.text
    stored = api(platform, "GET", "/twins/shop/scenarios/what-if").json()["edits"]
    assert [e["kind"] for e in stored] == [e["kind"] for e in edits]
    assert stored[0]["old_value"] and stored[0]["new_value"] == 77
    assert stored[0]["rationale"] == "bulk order" and stored[0]["author"] == "test-admin"
    q = SHOP_PREFIXES + f"SELECT ?q WHERE {{ <{order1}> ord:qty ?q }}"
    headers = platform.headers(platform.read_token)
    seen = httpx.get(endpoint(platform), params={"query": q, "scenario": "what-if"},
                     headers=headers).json()["results"]["bindings"]
    assert [b["q"]["value"] for b in seen] == ["77"]
    base = httpx.get(endpoint(platform), params={"query": q}, headers=headers).json()
    assert [b["q"]["value"] for b in base["results"]["bindings"]] != ["77"]
    oslo = SHOP_PREFIXES + 'SELECT (COUNT(?c) AS ?n) WHERE { ?c cust:city "Oslo" }'
    in_scenario = api(platform, "POST", "/twins/shop/query", token=platform.read_token,
                      json={"query": oslo, "scenario": "what-if"}).json()
    in_base = api(platform, "POST", "/twins/shop/query", token=platform.read_token,
                  json={"query": oslo}).json()
    assert int(in_scenario["bindings"][0]["n"]["value"]) == int(
        in_base["bindings"][0]["n"]["value"]) + 1
    # the scenario runs as SQL too: its edits are VALUES rows in place of theirs
    assert in_scenario["ran_as_sql"] is True and in_base["ran_as_sql"] is True
    diff = api(platform, "GET", "/twins/shop/scenarios/what-if/diff",
               token=platform.read_token).json()
    assert any(c["subject"] == order1 and c["object"].startswith('"77"') for c in diff["added"])
    assert any(c["subject"].endswith("Customer/2") for c in diff["removed"])
    entity = api(platform, "GET", "/twins/shop/entity", token=platform.read_token,
                 params={"iri": order1, "scenario": "what-if"}).json()
    assert entity["attributes"]["qty"] == 77
    bad = api(platform, "POST", "/twins/shop/scenarios/what-if/edits",
              json={"kind": "set_attribute", "entity": order1, "property": "qty", "value": "x"})
    assert bad.status_code == 422
    missing = httpx.get(endpoint(platform), params={"query": q, "scenario": "nope"},
                        headers=headers)
    assert _problem(missing, 404)["field"] == "scenario"
    assert digest() == before  # base data byte-for-byte unchanged
    deleted = api(platform, "DELETE", "/twins/shop/scenarios/what-if").json()
    assert deleted["edits_removed"] == 3
    short = api(platform, "POST", "/twins/shop/scenarios", json={"name": "brief",
                                                                  "ttl_hours": 0.0005})
    assert short.status_code == 201
    time.sleep(2.5)
    assert api(platform, "GET", "/twins/shop/scenarios/brief").status_code == 404
    assert "brief" not in [s["name"] for s in
                           api(platform, "GET", "/twins/shop/scenarios").json()["items"]]
