"""domain/ontology_storage.py, published.py and raw_area.py on a real SQLite store: additive schema merges, loading the raw
area, the published copy workers read, and writes by class (all records or none)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.ontology_storage import (
    BreakingSchemaChange,
    ClassRowsRejected,
    apply_ontology,
    load_raw,
    plan_ontology,
    write_class,
)
from domain.published import find_class, publish, published, published_turtle, unpublish
from domain.raw_area import read_raw_sample, write_raw
from domain.stores import open_store
from ontology import (
    OntologyModel,
    delete_property,
    extract,
    rename_property,
    set_key,
    to_turtle,
)
from storage_plugins.base import StoragePlugin

ORDERS = [{"no": f"A{i}", "total": 2.5 * i, "lines": [{"sku": "x", "qty": i}]} for i in (1, 2, 3)]


@pytest.fixture
def storage_url(tmp_path: Path) -> str:
    return (tmp_path / "project").as_uri()


@pytest.fixture
def store(storage_url: str) -> Iterator[StoragePlugin]:
    store = open_store(storage_url)
    yield store
    store.close()


def accepted(store: StoragePlugin, model: OntologyModel, **kwargs: Any) -> Any:
    plan = plan_ontology(store, model, **kwargs)
    apply_ontology(store, plan)
    return plan, load_raw(store, model, plan.mapping, plan.rebuilt)


def test_raw_sample_drops_repeats_and_keeps_original_names(store: StoragePlugin) -> None:
    write_raw(store, "orders", [{"Order No": "A1", "total": 1}], "r1")
    write_raw(store, "orders", [{"Order No": "A1", "total": 1}, {"Order No": "A2"}], "r2")
    assert read_raw_sample(store, 100) == {
        "orders": [{"Order No": "A1", "total": 1}, {"Order No": "A2"}]
    }


def test_accepting_loads_new_tables_and_later_changes_are_additive(store: StoragePlugin) -> None:
    write_raw(store, "orders", ORDERS, "r1")
    model = extract(read_raw_sample(store, 100), base_iri="http://ex.org/shop#").model
    plan, report = accepted(store, model)
    assert {"order", "line", "order_lines"} <= plan.rebuilt
    assert report.records == 3 and report.rejected == 0
    assert sorted(r["no"] for r in store.read("order").rows) == ["A1", "A2", "A3"]
    assert store.count("line") == 3 and store.count("order_lines") == 3

    renamed = rename_property(model, "Order/total", "amount")
    plan, report = accepted(store, renamed)
    assert [str(c) for c in plan.change.changes] == ["add_column order.amount"]
    assert report.records == 0  # existing tables are not reloaded
    assert "total" in store.describe("order").column_names  # the old column and data stay
    slimmer = delete_property(renamed, "Order/amount")
    assert not plan_ontology(store, slimmer).change.breaking


def test_data_losing_changes_need_force(store: StoragePlugin) -> None:
    write_raw(store, "orders", ORDERS, "r1")
    model = extract(read_raw_sample(store, 100), base_iri="http://ex.org/shop#").model
    accepted(store, model)
    rekeyed = set_key(model, "Order", ["Order/total"])
    with pytest.raises(BreakingSchemaChange, match="recreate_table order"):
        plan_ontology(store, rekeyed)
    plan, report = accepted(store, rekeyed, force=True)
    assert "order" in plan.rebuilt and report.rows["order"] == 3  # rebuilt, reloaded from raw


def test_published_copy_and_writes_by_class(storage_url: str, store: StoragePlugin) -> None:
    write_raw(store, "orders", ORDERS, "r1")
    model = extract(read_raw_sample(store, 100), base_iri="http://ex.org/shop#").model
    plan, _ = accepted(store, model)
    assert published(storage_url) == []
    publish(storage_url, "main", 3, to_turtle(model), plan.mapping)
    [entry] = published(storage_url)
    assert (entry.name, entry.version) == ("main", 3)
    assert published_turtle(storage_url, entry) == to_turtle(model)

    found, iri = find_class([entry], "order")
    assert found is entry and iri.endswith("#Order")
    with pytest.raises(ValueError, match="unknown class 'Invoice'; known: Line, Order"):
        find_class([entry], "Invoice")
    with pytest.raises(ValueError, match="no accepted ontology 'other'"):
        find_class([entry], "Order", "other")
    with pytest.raises(ValueError, match="in several ontologies"):
        find_class([entry, entry], "Order")

    good = [{"no": "B1", "total": "4.5", "lines": [{"sku": "y", "qty": 2}]}]
    result = write_class(store, entry.mapping, iri, good)
    assert result["tables"] == {"order": 1, "line": 1, "order_lines": 1}
    before = {t: store.count(t) for t in ("order", "line", "order_lines")}
    bad: list[dict[str, Any]] = [
        {"no": "B2", "total": 1},
        {"no": "B3", "total": "lots"},
        {"no": "B4", "colour": 1},
    ]
    with pytest.raises(ClassRowsRejected) as caught:
        write_class(store, entry.mapping, iri, bad)
    assert [(r.row, r.field) for r in caught.value.rejected] == [(1, "total"), (2, "colour")]
    assert "2 of 3 Order record(s) rejected, nothing written" in str(caught.value)
    assert {t: store.count(t) for t in before} == before
    ignored = write_class(store, entry.mapping, iri, [bad[2]], unknown="ignore")
    assert ignored["rows"] == 1

    unpublish(storage_url, "main")
    assert published(storage_url) == []
