"""History in the twin on the running platform: ``as_of`` through query_twin, the SPARQL 1.1
Protocol endpoint, entity browsing and export, combined with a what-if scenario, and the
problem+json naming ``as_of`` for a bad instant.

The project's data is written, then rewritten from another seed with some orders deleted;
the oracle is pyoxigraph over the copy materialised before the rewrite. A model trained through the API
(a real `train-model` flow run) predicts on the twin's scenario and past state.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from rdflib import Graph, Literal, URIRef

from ontology import to_turtle
from ontology.compile import SchemaMapping
from ontology.rows import map_records
from storage_plugins.query import Filter
from storage_plugins.sql import SQLConfig, SQLStoragePlugin
from tests.conftest import Platform
from tests.twin import datasets
from tests.twin.conftest import last_change, oracle_of
from tests.twin.corpus import SHOP_PREFIXES
from tests.twin.oracle import expected, ours, theirs
from twin.view import TwinView

PROJECT = "twin-past"
D = "http://ex.org/shop/data/"
QTY = SHOP_PREFIXES + "SELECT ?o ?q WHERE { ?o ord:qty ?q }"


@dataclass
class Past:
    at: datetime
    oracle: Any


def api(platform: Platform, method: str, tail: str, **kwargs: Any) -> httpx.Response:
    token = kwargs.pop("token", None)
    if method == "POST" and "json" not in kwargs:
        kwargs["json"] = {}
    return httpx.request(method, f"{platform.api}/projects/{PROJECT}{tail}",
                         headers=platform.headers(token), timeout=120, **kwargs)


def _write(store: SQLStoragePlugin, mapping: SchemaMapping, records: dict[str, Any]) -> None:
    link = {t.name for t in mapping.tabular.tables if t.kind == "link"}
    for cls, items in records.items():
        out = map_records(mapping, cls, items)
        for table, rows in sorted(out.rows.items(), key=lambda kv: kv[0] in link):
            store.write(table, rows, mode="upsert")


@pytest.fixture(scope="module")
def past(platform: Platform) -> Iterator[Past]:
    created = httpx.post(f"{platform.api}/projects", json={"name": PROJECT},
                         headers=platform.headers())
    assert created.status_code == 201, created.text
    onto = api(platform, "POST", "/ontologies", json={
        "name": "main", "content": to_turtle(datasets.shop_model()), "format": "turtle"})
    assert onto.status_code == 201, onto.text
    mapping = SchemaMapping.model_validate(
        api(platform, "GET", "/ontologies/main/schema").json()["mapping"])
    db = platform.home / "projects" / PROJECT / "tables.sqlite"
    store = SQLStoragePlugin(SQLConfig(url=f"sqlite:///{db}"))
    try:
        _write(store, mapping, datasets.shop_records(20))
        oracle = oracle_of(TwinView(store, [mapping]))
        at = last_change(store)
        _write(store, mapping, datasets.shop_records(25, seed=99))
        order = mapping.class_mapping(datasets.SHOP + "Order")
        store.delete(order.table, where=[Filter("no", "gt", 30)])
        twin = api(platform, "POST", "/twins", json={"name": "shop", "ontologies": ["main"]})
        assert twin.status_code == 201, twin.text
        yield Past(at, oracle)
    finally:
        store.close()


def _rows(bindings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    def term(t: dict[str, Any]) -> Any:
        if t["type"] == "uri":
            return ours(URIRef(t["value"]))
        string = "http://www.w3.org/2001/XMLSchema#string"
        return ours(Literal(t["value"], datatype=t.get("datatype") or string))

    return sorted((tuple(term(b[v]) for v in ("o", "q")) for b in bindings), key=repr)


def test_query_as_of_over_rest_and_the_protocol(platform: Platform, past: Past) -> None:
    _, want = expected(past.oracle, QTY)
    want = sorted(want, key=repr)
    body = {"query": QTY, "as_of": past.at.isoformat()}
    got = api(platform, "POST", "/twins/shop/query", token=platform.read_token, json=body)
    assert got.status_code == 200, got.text
    assert got.json()["ran_as_sql"] is True
    assert _rows(got.json()["bindings"]) == want
    now = api(platform, "POST", "/twins/shop/query", json={"query": QTY}).json()
    assert _rows(now["bindings"]) != want
    url = f"{platform.api}/projects/{PROJECT}/twins/shop/sparql"
    headers = {**platform.headers(platform.read_token),
               "Accept": "application/sparql-results+json"}
    proto = httpx.get(url, params={"query": QTY, "as_of": past.at.isoformat()}, headers=headers)
    assert proto.status_code == 200, proto.text
    assert _rows(proto.json()["results"]["bindings"]) == want
    empty = httpx.get(url, params={"query": QTY, "as_of": "2000-01-01T00:00:00Z"},
                      headers=headers)
    assert empty.status_code == 200 and empty.json()["results"]["bindings"] == []


def test_a_bad_as_of_is_a_problem_naming_it(platform: Platform, past: Past) -> None:
    url = f"{platform.api}/projects/{PROJECT}/twins/shop/sparql"
    headers = platform.headers(platform.read_token)
    for value in ("last week", "2026-01-01T00:00:00"):  # not a time; no time zone
        proto = httpx.get(url, params={"query": QTY, "as_of": value}, headers=headers)
        assert proto.status_code == 422, proto.text
        assert proto.headers["content-type"] == "application/problem+json"
        assert proto.json()["field"] == "as_of"
        rest = api(platform, "POST", "/twins/shop/query", token=platform.read_token,
                   json={"query": QTY, "as_of": value})
        assert rest.status_code == 422 and "as_of" in rest.json()["field"], rest.text
        got = api(platform, "GET", "/twins/shop/entity", token=platform.read_token,
                  params={"iri": D + "Order/1", "as_of": value})
        assert got.status_code == 422 and "as_of" in got.json()["field"], got.text


def test_browsing_and_export_as_of(platform: Platform, past: Past) -> None:
    token = platform.read_token
    at = past.at.isoformat()
    gone = D + "Order/35"  # deleted after `at`
    assert api(platform, "GET", "/twins/shop/entity", token=token,
               params={"iri": gone}).status_code == 404
    then = api(platform, "GET", "/twins/shop/entity", token=token,
               params={"iri": gone, "as_of": at})
    assert then.status_code == 200, then.text
    _, [[qty]] = expected(past.oracle, SHOP_PREFIXES + f"SELECT ?q {{ <{gone}> ord:qty ?q }}")
    assert then.json()["attributes"]["qty"] == int(qty[2])
    listed = api(platform, "POST", "/twins/shop/entities/list", token=token, json={
        "class_name": "Order", "where": [{"attribute": "qty", "op": "ge", "value": 5}],
        "limit": 1000, "as_of": at})
    assert listed.status_code == 200, listed.text
    _, rows = expected(past.oracle, SHOP_PREFIXES + "SELECT ?o { ?o ord:qty ?q FILTER(?q >= 5) }")
    assert sorted(e["iri"] for e in listed.json()["items"]) == sorted(r[0][1] for r in rows)
    found = api(platform, "GET", "/twins/shop/search", token=token,
                params={"text": "alpha", "class_name": "Customer", "limit": 500, "as_of": at})
    assert found.status_code == 200, found.text
    _, rows = expected(past.oracle, SHOP_PREFIXES + 'SELECT DISTINCT ?c { ?c cust:cname ?n '
                                                    'FILTER(CONTAINS(?n, "alpha")) }')
    assert sorted(e["iri"] for e in found.json()["items"]) == sorted(r[0][1] for r in rows)
    want = {(theirs(q.subject), theirs(q.predicate), theirs(q.object)) for q in past.oracle}
    url = f"{platform.api}/projects/{PROJECT}/twins/shop/export"
    streamed = httpx.get(url, params={"format": "nt", "as_of": at}, timeout=120,
                         headers=platform.headers(token))
    assert streamed.status_code == 200, streamed.text
    graph = Graph().parse(data=streamed.text, format="nt")
    assert {(ours(s), ours(p), ours(o)) for s, p, o in graph} == want
    small = api(platform, "GET", "/twins/shop/rdf", token=token,
                params={"format": "nt", "max_triples": 1_000_000, "as_of": at}).json()
    assert small["triples"] == len(want)


def test_a_scenario_on_the_past(platform: Platform, past: Past) -> None:
    made = api(platform, "POST", "/twins/shop/scenarios", json={"name": "then"})
    assert made.status_code == 201, made.text
    edit = api(platform, "POST", "/twins/shop/scenarios/then/edits", json={
        "kind": "set_attribute", "entity": D + "Order/1", "property": "qty", "value": 77})
    assert edit.status_code == 201, edit.text
    at = past.at.isoformat()
    got = api(platform, "POST", "/twins/shop/query", token=platform.read_token,
              json={"query": QTY, "scenario": "then", "as_of": at}).json()
    _, want = expected(past.oracle, QTY)
    one = ("iri", D + "Order/1")
    rows = _rows(got["bindings"])
    assert [r for r in rows if r[0] == one] == [
        (one, ours(Literal(77)))]
    assert [r for r in rows if r[0] != one] == sorted((r for r in want if r[0] != one), key=repr)
    listed = api(platform, "POST", "/twins/shop/entities/list", token=platform.read_token,
                 json={"class_name": "Order", "where": [{"attribute": "qty", "op": "eq",
                                                         "value": 77}],
                       "scenario": "then", "as_of": at}).json()
    assert [e["iri"] for e in listed["items"]] == [D + "Order/1"]
    entity = api(platform, "GET", "/twins/shop/entity", token=platform.read_token,
                 params={"iri": D + "Order/35", "scenario": "then", "as_of": at})
    assert entity.status_code == 200


def test_stored_predictions_show_in_the_twin(platform: Platform, past: Past) -> None:
    from ml.workflow import write_predictions

    made = api(platform, "POST", "/models", json={
        "name": "order-total", "spec": {"entity_class": "Order", "target": "total",
                                        "algorithm": "linear"}})
    assert made.status_code == 201, made.text
    db = platform.home / "projects" / PROJECT / "tables.sqlite"
    store = SQLStoragePlugin(SQLConfig(url=f"sqlite:///{db}"))
    try:  # what the infer flow writes
        write_predictions(store, "order-total", [
            {"entity": str(n), "model_version": 1, "prediction": float(n) * 10,
             "probabilities": None} for n in (1, 2, 3)])
    finally:
        store.close()
    prop = D + "model/order-total#prediction"
    got = api(platform, "POST", "/twins/shop/query", token=platform.read_token,
              json={"query": f"SELECT ?o ?p WHERE {{ ?o <{prop}> ?p }} ORDER BY ?p"}).json()
    assert [(b["o"]["value"], float(b["p"]["value"])) for b in got["bindings"]] == [
        (D + "Order/1", 10.0), (D + "Order/2", 20.0), (D + "Order/3", 30.0)]
    entity = api(platform, "GET", "/twins/shop/entity", token=platform.read_token,
                 params={"iri": D + "Order/2"}).json()
    assert entity["attributes"]["order-total.prediction"] == 20.0
    before = api(platform, "GET", "/twins/shop/entity", token=platform.read_token,
                 params={"iri": D + "Order/2", "as_of": past.at.isoformat()}).json()
    assert "order-total.prediction" not in before["attributes"]
    mixed = api(platform, "POST", "/models/order-total/predict",
                json={"records": [{}], "scenario": "then"})
    assert mixed.status_code == 422 and "scenario" in mixed.json()["field"]


def test_predict_on_a_scenario_and_the_past(platform: Platform, past: Past) -> None:
    from tests.test_pipelines_platform import FINAL, wait_for

    started = api(platform, "POST", "/models/order-total/versions")
    assert started.status_code == 202, started.text

    def trained() -> dict[str, Any] | None:
        detail = api(platform, "GET", "/models/order-total").json()
        return detail if detail["latest"]["state"] in FINAL else None

    detail = wait_for(trained, timeout=900, every=2)
    assert detail["latest"]["state"] == "COMPLETED", detail["latest"]

    def predict(**body: Any) -> httpx.Response:
        return api(platform, "POST", "/models/order-total/predict", token=platform.read_token,
                   json=body)

    base = predict(entities=["1", "2"])
    assert base.status_code == 200, base.text
    what_if = predict(entities=["1", "2"], scenario="then")  # Order/1's qty is 77 there
    assert what_if.status_code == 200, what_if.text
    b, w = base.json()["items"], what_if.json()["items"]
    assert w[0]["prediction"] != b[0]["prediction"] and w[1] == b[1]
    assert predict(entities=["1", "2"]).json()["items"] == b  # the base prediction stays
    gone = predict(entities=["35"])  # deleted after `at`
    assert gone.status_code == 422, gone.text
    then = predict(entities=["35"], as_of=past.at.isoformat())
    assert then.status_code == 200 and then.json()["items"][0]["entity"] == "35", then.text
    unknown = predict(entities=["1"], scenario="nope")
    assert unknown.status_code == 404 and unknown.json()["field"].endswith("scenario")
