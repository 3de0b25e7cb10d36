"""Records written by class become canonical table rows; bad records are reported, whole."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ontology.compile import SURROGATE, SchemaMapping, compile_schema
from ontology.edit import add_class, add_datatype_property, add_object_property, set_key
from ontology.model import OntologyModel
from ontology.rows import map_records, row_mapper
from storage_plugins.rows import key_index, prepare_rows


@pytest.fixture(scope="module")
def shop_mapping(shop_model: OntologyModel) -> SchemaMapping:
    return compile_schema(shop_model)


def _storage_accepts(mapping: SchemaMapping, rows: dict[str, list[dict]]) -> None:
    """The storage layer's own validation takes every row as it is."""
    for table, table_rows in rows.items():
        spec = mapping.tabular.table(table)
        chunks = list(prepare_rows(spec, table_rows, keys=key_index(spec)))
        assert sum(c.size for c in chunks) == len(table_rows)


def test_ingested_orders_map_to_valid_rows(shop_mapping: SchemaMapping, shop_data) -> None:
    out = map_records(shop_mapping, "Order", shop_data["orders"])
    assert out.accepted == len(shop_data["orders"]) and out.rejected == []
    n_lines = sum(len(o["lines"]) for o in shop_data["orders"])
    assert {t: len(r) for t, r in out.rows.items()} == {
        "order": 200, "shipping": 200, "line": n_lines, "order_lines": n_lines}
    first = out.rows["order"][0]
    assert first["customer_id"] == int(shop_data["orders"][0]["customer_id"])
    assert first["ordered_at"] == datetime(2024, 3, 1, 0, 15, tzinfo=UTC)
    assert first["note"] == "n/a"  # strings keep their text
    _storage_accepts(shop_mapping, out.rows)
    for cls in ("Customer", "Employee"):
        rows = map_records(shop_mapping, cls, shop_data[cls.lower() + "s"])
        assert rows.rejected == []
        _storage_accepts(shop_mapping, rows.rows)


def test_rejected_rows_say_where_and_why(shop_mapping: SchemaMapping) -> None:
    records = [
        {"order_id": 1, "total": "12.5", "lines": [{"sku": "a", "quantity": "2"}]},
        {"order_id": "x1"},
        {"total": 3},
        {"order_id": 4, "lines": [{"sku": "a"}, {"sku": "b", "quantity": "two"}]},
        {"order_id": 5, "ordered_at": "yesterday"},
        {"order_id": 6, "colour": "red"},
        {"order_id": 7, "customer_id": {"name": "no key"}},
        "not a record",
    ]
    out = map_records(shop_mapping, "Order", records)
    assert out.accepted == 1
    assert [(r.row, r.field) for r in out.rejected] == [
        (1, "order_id"), (2, "order_id"), (3, "lines[1].quantity"), (4, "ordered_at"),
        (5, "colour"), (6, "customer_id.id"), (7, None)]
    reasons = [r.reason for r in out.rejected]
    assert reasons[0] == "expected an integer" and out.rejected[0].value == "'x1'"
    assert "missing key value" in reasons[1]
    assert "unknown field for Order" in reasons[4] and "order_id" in reasons[4]
    assert set(out.rows) == {"order", "line", "order_lines"}  # nothing of rejected records
    assert len(out.rows["line"]) == 1
    lenient = map_records(shop_mapping, "Order", [{"order_id": 6, "colour": "red"}],
                          unknown="ignore")
    assert lenient.accepted == 1


def test_identity_is_stable_and_duplicates_collapse(shop_mapping: SchemaMapping) -> None:
    order = {"order_id": 9, "shipping": {"city": "Oslo"}, "lines": [{"sku": "a"}, {"sku": "a"}]}
    one = map_records(shop_mapping, "Order", [order])
    two = map_records(shop_mapping, "Order", [order, dict(order, total="1.005")])
    assert one.rows["line"] == two.rows["line"]  # same ids: re-ingesting upserts
    assert len(one.rows["line"]) == 2  # two positions, two line items
    assert [r["total"] for r in two.rows["order"]] == [Decimal("1.0050000000")]
    customers = map_records(shop_mapping, "Order", [
        {"order_id": 1, "customer_id": 7}, {"order_id": 2, "customer_id": {"id": "7", "name": "Ann"}}])
    assert [r["customer_id"] for r in customers.rows["order"]] == [7, 7]
    assert customers.rows["customer"] == [
        {"id": 7, "name": "Ann", "website": None, "credit_limit": None, "zip": None}]


def test_conversions() -> None:
    m = add_class(OntologyModel(iri="http://ex.org/t"), "Thing")
    for name, rng in [("when", "xsd:dateTime"), ("day", "xsd:date"), ("ok", "xsd:boolean"),
                      ("label", "xsd:string"), ("price", "xsd:decimal"), ("n", "xsd:integer"),
                      ("at", "xsd:time"), ("web", "xsd:anyURI"), ("ratio", "xsd:double")]:
        m = add_datatype_property(m, name, domain=["Thing"], range=rng)
    mapping = compile_schema(m)
    out = map_records(mapping, "Thing", [{
        "when": "2024-05-06T07:08:09", "day": "2024-05-06", "ok": "Yes", "label": 12,
        "price": 0.1 + 0.2, "n": "n/a", "at": "10:30", "web": "https://ex.org", "ratio": "0.5",
    }])
    row = out.rows["thing"][0]
    assert row["when"] == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)  # naive → UTC
    assert row["ok"] is True and row["label"] == "12" and row["n"] is None
    assert row["price"] == Decimal("0.3000000000") and row["ratio"] == 0.5
    assert str(row["at"]) == "10:30:00" and row[SURROGATE]
    _storage_accepts(mapping, out.rows)
    bad = map_records(mapping, "Thing", [{"ok": "maybe"}, {"day": "2024-05-06T10:00:00"},
                                         {"n": 1.5}, {"label": {"a": 1}}])
    assert [r.field for r in bad.rejected] == ["ok", "day", "n", "label"]


def test_subclass_records_fill_every_table_of_their_lineage() -> None:
    m = OntologyModel(iri="http://ex.org/hr")
    m = add_class(m, "Person")
    m = add_class(m, "Employee", superclasses=["Person"])
    m = add_class(m, "Team")
    m = add_datatype_property(m, "ssn", domain=["Person"])
    m = add_datatype_property(m, "name", domain=["Person"])
    m = add_datatype_property(m, "salary", domain=["Employee"], range="xsd:integer")
    m = add_object_property(m, "teams", domain=["Employee"], range=["Team"])
    m = add_datatype_property(m, "title", domain=["Team"])
    m = set_key(m, "Person", ["ssn"])
    mapping = compile_schema(m)
    mapper = row_mapper(mapping, "Employee")
    out = mapper.map([{"ssn": "1-2", "name": "Ann", "salary": "10", "teams": [{"title": "A"}, {"title": "B"}]}])
    assert out.rows["person"] == [{"ssn": "1-2", "name": "Ann"}]
    assert out.rows["employee"] == [{"ssn": "1-2", "salary": 10}]
    assert [r["employee_ssn"] for r in out.rows["employee_teams"]] == ["1-2", "1-2"]
    assert len({r["team_mimir_id"] for r in out.rows["employee_teams"]}) == 2
    _storage_accepts(mapping, out.rows)
    assert mapper.map([{"name": "no key"}]).rejected[0].field == "ssn"


def test_raw_area_records_map_through_their_source_class(shop_model: OntologyModel,
                                                         shop_mapping: SchemaMapping) -> None:
    """Raw rows keep source field names and may hold nested values as JSON text."""
    from ontology.edit import rename_property

    renamed = rename_property(shop_model, "Order/approver", "approvedBy")
    mapping = compile_schema(renamed)
    cls = renamed.class_for_source("orders")
    assert cls is not None and cls.name == "Order"
    assert renamed.class_for_source("orders", "lines").name == "Line"
    raw = {"order_id": 1, "approver": "E1001",
           "lines": '[{"sku": "a", "quantity": 2}]', "shipping": '{"city": "Oslo"}'}
    out = map_records(mapping, cls.iri, [raw])
    assert out.rejected == []
    assert out.rows["order"][0]["approved_by"] == "E1001"
    assert [r["sku"] for r in out.rows["line"]] == ["a"]
    assert out.rows["shipping"][0]["city"] == "Oslo"
