"""`load-ontology-tables` when a person accepts a newer version while the load waits.

The newer accept (a comment on a class, right after the extraction's accept) creates no table,
so it starts no load of its own; the first load must still fill the tables — through the
newest published mapping — rather than fail and leave them empty.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from domain.ontology_storage import apply_ontology, plan_ontology
from domain.published import publish, unpublish
from domain.raw_area import read_raw_sample, write_raw
from domain.stores import open_store
from flows.table_flows import PublishedVersionMissing, load_ontology_tables
from ontology import ClassPatch, extract, to_turtle, update_class
from tests.utils.servers import PrefectServer

ORDERS = [{"no": f"A{i}", "total": 2.5 * i} for i in (1, 2, 3)]


def _accept_v1_then_describe(storage_url: str) -> list[str]:
    """Version 1 created the tables (its load is owed); version 2 only adds a comment."""
    store = open_store(storage_url)
    try:
        write_raw(store, "orders", ORDERS, "r1")
        model = extract(read_raw_sample(store, 100), base_iri="http://ex.org/shop#").model
        plan = plan_ontology(store, model)
        apply_ontology(store, plan)
        publish(storage_url, "main", 1, to_turtle(model), plan.mapping)
        described = update_class(model, "Order", ClassPatch(comment="An order as placed."))
        again = plan_ontology(store, described)
        assert not again.rebuilt  # nothing for version 2's own load to do
        apply_ontology(store, again)
        publish(storage_url, "main", 2, to_turtle(described), again.mapping)
        return sorted(plan.rebuilt)
    finally:
        store.close()


def test_a_load_started_for_an_older_version_loads_through_the_newest(
    session_prefect: PrefectServer, tmp_path: Path
) -> None:
    storage_url = (tmp_path / "project").as_uri()
    tables = _accept_v1_then_describe(storage_url)
    with temporary_settings({PREFECT_API_URL: session_prefect.api_url}):
        result = load_ontology_tables("shop", storage_url, "main", 1, tables)
    assert (result["version"], result["started_for_version"]) == (2, 1)
    assert result["records_loaded"] == 3 and result["rejected"] == 0
    store = open_store(storage_url)
    try:
        assert sorted(r["no"] for r in store.read("order").rows) == ["A1", "A2", "A3"]
    finally:
        store.close()


def test_a_load_for_a_deleted_ontology_fails_saying_so(
    session_prefect: PrefectServer, tmp_path: Path
) -> None:
    storage_url = (tmp_path / "project").as_uri()
    tables = _accept_v1_then_describe(storage_url)
    unpublish(storage_url, "main")
    with temporary_settings({PREFECT_API_URL: session_prefect.api_url}), pytest.raises(
        PublishedVersionMissing, match="version 1 is not published"
    ):
        load_ontology_tables("shop", storage_url, "main", 1, tables)
