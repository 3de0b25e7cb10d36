"""Ontology → tabular schema: tables, keys, foreign keys, link tables, subclasses, names."""

from __future__ import annotations

import pytest

from ontology.compile import SURROGATE, compile_schema
from ontology.edit import (
    add_class,
    add_datatype_property,
    add_object_property,
    set_key,
)
from ontology.io import load_ontology
from ontology.model import OntologyModel
from storage_plugins.schema import ColumnType, TabularSchema

NS = "http://ex.org/hr#"


def test_shop_schema(shop_model: OntologyModel) -> None:
    mapping = compile_schema(shop_model)
    schema = mapping.tabular
    assert schema.table_names == ["customer", "employee", "order", "shipping", "line", "order_lines"]
    order = schema.table("order")
    assert order.primary_key == ["order_id"]
    assert order.column("order_id").type is ColumnType.INTEGER
    assert order.column("ordered_at").type is ColumnType.DATETIME
    assert order.column("total").type is ColumnType.DECIMAL
    assert order.column("tags").type is ColumnType.JSON
    assert {(tuple(fk.columns), fk.references, tuple(fk.ref_columns)) for fk in order.foreign_keys} == {
        (("customer_id",), "customer", ("id",)),
        (("approver",), "employee", ("employee_no",)),
        (("shipping",), "shipping", (SURROGATE,)),
    }
    assert order.column("approver").type is ColumnType.STRING
    employee = schema.table("employee")
    assert [(fk.columns, fk.references) for fk in employee.foreign_keys] == [(["manager"], "employee")]
    link = schema.table("order_lines")
    assert link.kind == "link" and link.primary_key == ["order_order_id", "line_mimir_id"]
    assert schema.table("line").primary_key == [SURROGATE]
    assert mapping.notes == []
    assert TabularSchema.model_validate_json(schema.model_dump_json()) == schema


@pytest.fixture
def hr() -> OntologyModel:
    m = OntologyModel(iri="http://ex.org/hr")
    m = add_class(m, "Person")
    m = add_class(m, "Employee", superclasses=["Person"])
    m = add_class(m, "Manager", superclasses=["Employee"])
    m = add_class(m, "Team")
    m = add_datatype_property(m, "ssn", domain=["Person"])
    m = add_datatype_property(m, "name", domain=["Person"])
    m = add_datatype_property(m, "emp_no", domain=["Employee"], range="xsd:integer")
    m = add_datatype_property(m, "budget", domain=["Manager"], range="xsd:decimal")
    m = add_datatype_property(m, "title", domain=["Team"])
    m = add_object_property(m, "leads", domain=["Manager"], range=["Team"])
    m = add_object_property(m, "team", domain=["Employee"], range=["Team"], functional=True)
    m = set_key(m, "Person", ["ssn"])
    m = set_key(m, "Employee", ["emp_no"])
    return m


def test_subclasses_share_the_root_key_and_reference_their_parent(hr: OntologyModel) -> None:
    mapping = compile_schema(hr)
    s = mapping.tabular
    person, employee, manager = s.table("person"), s.table("employee"), s.table("manager")
    assert person.column_names == ["ssn", "name"]
    assert employee.column_names == ["ssn", "emp_no", "team"]
    assert manager.column_names == ["ssn", "budget"]
    assert employee.primary_key == manager.primary_key == ["ssn"]
    assert [(fk.columns, fk.references) for fk in manager.foreign_keys] == [(["ssn"], "employee")]
    assert [(fk.columns, fk.references) for fk in employee.foreign_keys] == [
        (["team"], "team"), (["ssn"], "person")]
    # its own key, and the relationship column (joins and "linked to X" lookups use it)
    assert [ix.columns for ix in employee.indexes] == [["emp_no"], ["team"]]
    assert s.table("team").primary_key == [SURROGATE]
    assert s.table("manager_leads").column_names == ["manager_ssn", "team_mimir_id"]
    assert any("own key is kept as an index" in n for n in mapping.notes)
    assert [cm.name for cm in mapping.lineage("Manager")] == ["Manager", "Employee", "Person"]


def test_identifier_collisions_and_reserved_names() -> None:
    m = OntologyModel(iri="http://ex.org/x")
    for name in ("OrderLine", "order_line", "Order"):
        m = add_class(m, name)
    m = add_datatype_property(m, "Name", domain=["OrderLine"])
    m = add_datatype_property(m, "name", domain=["OrderLine"])
    m = add_datatype_property(m, "mimir_id", domain=["Order"])
    m = add_datatype_property(m, "_3D-Modell", domain=["Order"])
    s = compile_schema(m).tabular
    first, second = s.table_names[:2]
    assert first == "order_line" and second.startswith("order_line_") and len(second) == 19
    cols = s.table("order_line").column_names
    assert cols[:2] == [SURROGATE, "name"] and cols[2].startswith("name_")
    assert s.table("order").column_names[0] == SURROGATE
    assert s.table("order").column_names[1].startswith("mimir_id_")
    assert s.table("order").column_names[2] == "n_3d_modell"


def test_recompiling_with_the_previous_schema_keeps_names() -> None:
    m = add_class(OntologyModel(iri="http://ex.org/x"), "order_line")
    before = compile_schema(m).tabular
    m2 = add_class(OntologyModel(iri="http://ex.org/x"), "OrderLine")
    m2 = add_class(m2, "order_line")
    fresh = compile_schema(m2).tabular
    kept = compile_schema(m2, previous=before).tabular
    assert fresh.table("order_line").source == "http://ex.org/x#OrderLine"
    assert kept.table("order_line").source == "http://ex.org/x#order_line"


def test_unmappable_properties_become_iris_or_notes() -> None:
    doc = """@prefix ex: <http://ex.org/o#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:A a owl:Class . ex:B a owl:Class . ex:C a owl:Class .
ex:any a owl:ObjectProperty , owl:FunctionalProperty ; rdfs:domain ex:A ; rdfs:range ex:B, ex:C .
ex:many a owl:ObjectProperty ; rdfs:domain ex:A .
ex:free a owl:DatatypeProperty ; rdfs:range xsd:string .
ex:dur a owl:DatatypeProperty ; rdfs:domain ex:A ; rdfs:range xsd:gYear .
ex:odd a owl:DatatypeProperty ; rdfs:domain ex:A ; rdfs:range <http://ex.org/Money> .
"""
    result = load_ontology(doc, "turtle")
    mapping = compile_schema(result.model)
    a = mapping.tabular.table("a")
    assert a.column("any").type is ColumnType.ANY_URI
    assert a.column("many").type is ColumnType.JSON
    assert a.column("dur").type is ColumnType.STRING
    assert a.column("odd").type is ColumnType.STRING
    text = "\n".join(mapping.notes)
    assert "free: no domain class" in text and "Money" in text and "A.any: range" in text
