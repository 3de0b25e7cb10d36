"""Schema types, the naming rule and schema diffs."""

from __future__ import annotations

import doctest
import importlib

import pytest
from pydantic import ValidationError

from storage_plugins.errors import SchemaError, TableNotFound
from storage_plugins.migrate import diff_schemas
from storage_plugins.schema import (
    MAX_IDENTIFIER_LENGTH,
    Column,
    ForeignKey,
    Index,
    NameAllocator,
    Table,
    TabularSchema,
    is_identifier,
    link_table,
    to_identifier,
)


def _table(name: str = "thing", *cols: Column, **kw: object) -> Table:
    columns = [Column(name="id", type="integer", nullable=False), *cols]
    return Table(name=name, columns=columns, primary_key=["id"], **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("OrderLine", "order_line"),
        ("order_line", "order_line"),
        ("hasHTTPStatus", "has_http_status"),
        ("XMLHttpRequest", "xml_http_request"),
        ("version2Name", "version2_name"),
        ("3DModel", "n_3d_model"),
        ("Straße", "strae"),
        ("Café au lait", "cafe_au_lait"),
        ("http://example.org/onto#Customer", "customer"),
        ("http://example.org/onto/Customer/", "customer"),
        ("urn:x:has-part", "urn_x_has_part"),
        ("__weird__--name__", "weird_name"),
        ("SELECT", "select"),
    ],
)
def test_to_identifier(name: str, expected: str) -> None:
    assert to_identifier(name) == expected
    assert is_identifier(to_identifier(name))


def test_to_identifier_edge_cases() -> None:
    assert is_identifier(to_identifier("日本語"))  # nothing ASCII left: a hash-based name
    assert to_identifier("日本語") != to_identifier("中文")
    long_a, long_b = "a" * 80 + "X", "a" * 80 + "Y"
    assert len(to_identifier(long_a)) == MAX_IDENTIFIER_LENGTH
    assert to_identifier(long_a) != to_identifier(long_b)
    assert to_identifier(long_a) == to_identifier(long_a)  # stable


def test_name_allocator_resolves_collisions_stably() -> None:
    names = NameAllocator()
    first = names.assign("OrderLine")
    second = names.assign("order_line")
    assert first == "order_line" and second != first and is_identifier(second)
    assert names.assign("OrderLine") == first
    # a later ontology version: same inputs, seeded with the previous mapping
    again = NameAllocator({"OrderLine": first, "order_line": second})
    assert again.assign("order_line") == second
    assert again.assign("Order-Line") not in {first, second}
    reserved = NameAllocator()
    reserved.reserve("id")
    assert reserved.assign("ID") != "id"


def test_allocators_from_schema() -> None:
    table = Table(
        name="order_line",
        source="http://x/OrderLine",
        columns=[Column(name="id", type="integer", nullable=False, source="http://x/id")],
        primary_key=["id"],
    )
    schema = TabularSchema(tables=[table])
    assert NameAllocator.for_tables(schema).assign("http://x/OrderLine") == "order_line"
    assert NameAllocator.for_tables(schema).assign("http://y/OrderLine") != "order_line"
    assert NameAllocator.for_columns(table).assign("http://x/id") == "id"


def test_column_defaults_and_options() -> None:
    dec = Column(name="price", type="decimal")
    assert (dec.precision, dec.scale) == (38, 10)
    assert Column(name="p", type="decimal", precision=5).scale == 5
    assert dec.type_label() == "decimal(38,10)"
    key = Table(
        name="t",
        columns=[Column(name="code", type="string", nullable=False)],
        primary_key=["code"],
    )
    assert key.column("code").max_length == 255  # MySQL can only index bounded strings
    with pytest.raises(ValidationError, match="max_length"):
        Column(name="n", type="integer", max_length=3)
    with pytest.raises(ValidationError, match="decimals only"):
        Column(name="n", type="double", scale=2)
    with pytest.raises(ValidationError, match="scale"):
        Column(name="n", type="decimal", precision=4, scale=6)
    with pytest.raises(ValidationError):
        Column(name="Bad Name", type="string")
    with pytest.raises(ValidationError):
        Column(name="x" * 64, type="string")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"primary_key": ["nope"]}, "unknown column"),
        ({"primary_key": []}, "at least 1"),
        ({"columns_extra": [Column(name="id", type="string")]}, "duplicate columns"),
        ({"columns_extra": [Column(name="doc", type="json")], "indexes": [Index(columns=["doc"])]},
         "cannot be a key or be indexed"),
        ({"indexes": [Index(columns=["id"]), Index(columns=["id"])]}, "two indexes"),
        ({"kind": "link"}, "exactly two foreign keys"),
    ],
)
def test_invalid_tables(kwargs: dict[str, object], message: str) -> None:
    columns = [Column(name="id", type="integer", nullable=False)]
    columns += kwargs.pop("columns_extra", [])  # type: ignore[operator]
    data = {"name": "t", "columns": columns, "primary_key": ["id"], **kwargs}
    with pytest.raises(ValidationError, match=message):
        Table.model_validate(data)


def test_nullable_primary_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="nullable=False"):
        Table(name="t", columns=[Column(name="id", type="integer")], primary_key=["id"])


def test_schema_validates_foreign_keys() -> None:
    parent = _table("parent")
    child = _table(
        "child",
        Column(name="parent_id", type="integer"),
        foreign_keys=[ForeignKey(columns=["parent_id"], references="parent", ref_columns=["id"])],
    )
    assert TabularSchema(tables=[parent, child]).table("child") == child
    with pytest.raises(ValidationError, match="unknown table"):
        TabularSchema(tables=[child])
    wrong_type = _table(
        "child",
        Column(name="parent_id", type="string"),
        foreign_keys=[ForeignKey(columns=["parent_id"], references="parent", ref_columns=["id"])],
    )
    with pytest.raises(ValidationError, match="has type string"):
        TabularSchema(tables=[parent, wrong_type])
    with pytest.raises(ValidationError, match="duplicate tables"):
        TabularSchema(tables=[parent, parent])
    with pytest.raises(TableNotFound, match="parent"):
        TabularSchema(tables=[parent]).table("nope")


def test_link_table() -> None:
    order = _table("order")
    product = Table(
        name="product",
        columns=[Column(name="sku", type="string", nullable=False, max_length=40)],
        primary_key=["sku"],
    )
    link = link_table("order_product", order, product, source="http://x/contains")
    assert link.kind == "link"
    assert link.column_names == ["order_id", "product_sku"]
    assert link.primary_key == ["order_id", "product_sku"]
    assert link.column("product_sku").max_length == 40
    assert [fk.references for fk in link.foreign_keys] == ["order", "product"]
    assert link.indexes == [Index(columns=["product_sku"])]
    schema = TabularSchema(tables=[order, product, link])
    assert schema.table("order_product").source == "http://x/contains"
    with pytest.raises(SchemaError, match="prefix"):
        link_table("x", order, order, left_prefix="a", right_prefix="a")


def test_schema_json_round_trip_and_helpers() -> None:
    schema = TabularSchema(tables=[_table("a"), _table("b")], source="urn:onto:1")
    assert TabularSchema.model_validate_json(schema.model_dump_json()) == schema
    assert schema.with_table(_table("c")).table_names == ["a", "b", "c"]
    replaced = schema.with_table(_table("a", Column(name="x", type="string")))
    assert replaced.table_names == ["a", "b"] and "x" in replaced.table("a").column_names
    assert schema.without_table("a").table_names == ["b"]
    changed = schema.tables[0].model_copy(update={"kind": "entity", "description": "d"})
    assert TabularSchema(tables=[changed]).tables[0].description == "d"


def test_diff_classifies_changes() -> None:
    v1 = TabularSchema(tables=[_table("a", Column(name="x", type="string")), _table("gone")])
    v2 = TabularSchema(
        tables=[
            _table("a", Column(name="x", type="string"), Column(name="y", type="date"),
                   indexes=[Index(columns=["y"])]),
            _table("new"),
        ]
    )
    change = diff_schemas(v1, v2)
    kinds = [(c.kind, c.table, c.breaking) for c in change.changes]
    assert ("drop_table", "gone", True) in kinds
    assert ("create_table", "new", False) in kinds
    assert ("add_column", "a", False) in kinds
    assert ("add_index", "a", False) in kinds
    assert [c.table for c in change.breaking] == ["gone"]
    assert diff_schemas(v2, v2).empty


def test_diff_recreates_on_type_or_key_change() -> None:
    v1 = TabularSchema(tables=[_table("a", Column(name="x", type="string"))])
    retyped = TabularSchema(tables=[_table("a", Column(name="x", type="integer"))])
    change = diff_schemas(v1, retyped)
    assert [(c.kind, c.breaking) for c in change.changes] == [("recreate_table", True)]
    assert "string -> integer" in change.changes[0].detail
    tightened = TabularSchema(tables=[_table("a", Column(name="x", type="string",
                                                           nullable=False))])
    assert diff_schemas(v1, tightened).changes[0].kind == "recreate_table"
    described = TabularSchema(tables=[_table("a", Column(name="x", type="string",
                                                           description="now described"))])
    meta = diff_schemas(v1, described)
    assert [(c.kind, c.breaking) for c in meta.changes] == [("update_metadata", False)]


def test_diff_drops_indexes_before_columns() -> None:
    v1 = TabularSchema(tables=[_table("a", Column(name="x", type="string"),
                                      indexes=[Index(columns=["x"])])])
    v2 = TabularSchema(tables=[_table("a")])
    assert [c.kind for c in diff_schemas(v1, v2).changes] == ["drop_index", "drop_column"]


@pytest.mark.parametrize(
    "module",
    [
        "storage_plugins.schema",
        "storage_plugins.query",
        "storage_plugins.sql.config",
        "storage_plugins.objectstore.config",
    ],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0
    assert result.attempted > 0
