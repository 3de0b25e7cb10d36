"""`twin.query` in a real pipeline run (a Prefect flow run on the session's server), reading
the project's store through the mapping the API publishes into the storage object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from rdflib import Variable

from domain.published import publish
from ontology import to_turtle
from storage_plugins.sql import SQLConfig, SQLStoragePlugin
from tests.twin import datasets
from tests.twin.corpus import SHOP_PREFIXES
from tests.utils.servers import PrefectServer
from twin.engine import run_query
from twin.view import TwinView

QUERY = SHOP_PREFIXES + ("SELECT ?x (COUNT(?c) AS ?n) WHERE { ?c cust:city ?x } GROUP BY ?x "
                         "ORDER BY DESC(?n) ?x")
PIPELINE = """
name: twin-report
type: output
steps:
  - name: cities
    action: twin.query
    with:
      query: {query}
      max_rows: 3
  - name: ask
    action: twin.query
    with: {{query: "ASK {{ ?s ?p ?o }}"}}
"""


def _run(prefect: PrefectServer, storage: Path, text: str) -> dict[str, Any]:
    from flows.pipeline.flow import run_pipeline

    with temporary_settings({PREFECT_API_URL: prefect.api_url}):
        return run_pipeline(text, {}, storage_url=storage.as_uri(), project="twin-action")


def test_twin_query_step(session_prefect: PrefectServer, tmp_path: Path) -> None:
    storage = tmp_path / "project"
    storage.mkdir()
    store = SQLStoragePlugin(SQLConfig(url=f"sqlite:///{storage}/tables.sqlite"))
    model = datasets.shop_model()
    mapping = datasets.load(store, model, datasets.shop_records(20))
    publish(storage.as_uri(), "main", 1, to_turtle(model), mapping)
    local = run_query(TwinView(store, [mapping]), QUERY)
    store.close()
    import json

    summary = _run(session_prefect, storage, PIPELINE.format(query=json.dumps(QUERY)))
    assert summary["status"] == "completed"
    cities = summary["context"]["cities"]
    assert cities["type"] == "SELECT" and cities["ran_as_sql"] is True
    assert cities["truncated"] is True and len(cities["rows"]) == 3
    assert cities["rows"] == [{"x": str(b[Variable("x")]), "n": int(b[Variable("n")])}
                              for b in local.bindings[:3]]
    assert summary["context"]["ask"]["boolean"] is True


def test_twin_query_step_errors_are_permanent(session_prefect: PrefectServer,
                                              tmp_path: Path) -> None:
    storage = tmp_path / "project"
    storage.mkdir()
    text = PIPELINE.replace("twin-report", "no-ontology").format(query='"SELECT * {}"')
    with pytest.raises(Exception, match="no accepted, published version"):
        _run(session_prefect, storage, text)


PAST = """
name: twin-then
type: output
steps:
  - name: then
    action: twin.query
    with:
      query: {query}
      as_of: {at}
  - name: before
    action: twin.query
    with: {{query: "ASK {{ ?s ?p ?o }}", as_of: "2000-01-01T00:00:00Z"}}
"""


def test_twin_query_step_as_of(session_prefect: PrefectServer, tmp_path: Path) -> None:
    import json

    from tests.twin.conftest import last_change

    storage = tmp_path / "project"
    storage.mkdir()
    store = SQLStoragePlugin(SQLConfig(url=f"sqlite:///{storage}/tables.sqlite"))
    model = datasets.shop_model()
    mapping = datasets.load(store, model, datasets.shop_records(20))
    publish(storage.as_uri(), "main", 1, to_turtle(model), mapping)
    then = run_query(TwinView(store, [mapping]), QUERY)
    at = last_change(store)
    datasets.load(store, model, datasets.shop_records(20, seed=99))
    assert run_query(TwinView(store, [mapping]), QUERY).bindings != then.bindings
    store.close()
    text = PAST.format(query=json.dumps(QUERY), at=json.dumps(at.isoformat()))
    summary = _run(session_prefect, storage, text)
    assert summary["status"] == "completed"
    assert summary["context"]["then"]["rows"] == [
        {"x": str(b[Variable("x")]), "n": int(b[Variable("n")])} for b in then.bindings]
    assert summary["context"]["before"]["boolean"] is False
