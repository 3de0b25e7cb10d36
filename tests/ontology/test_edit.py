"""Edit operations: references follow renames, deletes refuse or cascade, bad edits fail clean."""

from __future__ import annotations

import pytest

from ontology.edit import (
    ClassPatch,
    PropertyPatch,
    add_class,
    add_datatype_property,
    add_object_property,
    delete_class,
    delete_property,
    rename_class,
    rename_property,
    set_key,
    update_class,
    update_property,
)
from ontology.errors import (
    AmbiguousReference,
    ElementInUse,
    InvalidEdit,
    NameConflict,
    UnknownElement,
)
from ontology.io import export_ontology, load_ontology
from ontology.model import OntologyModel

NS = "http://ex.org/shop#"


@pytest.fixture
def shop() -> OntologyModel:
    m = OntologyModel(iri="http://ex.org/shop")
    m = add_class(m, "Party")
    m = add_class(m, "Customer", superclasses=["Party"], label="Our customers")
    m = add_class(m, "Order")
    m = add_datatype_property(m, "id", domain=["Customer"], range="xsd:integer")
    m = add_datatype_property(m, "no", domain=["Order"], range="string")
    m = add_object_property(m, "customer", domain=["Order"], range=["Customer"], functional=True)
    m = set_key(m, "Customer", ["id"])
    return m


def test_add_builds_iris_and_marks_elements_as_edited(shop: OntologyModel) -> None:
    assert [c.iri for c in shop.classes] == [NS + "Party", NS + "Customer", NS + "Order"]
    assert shop.get_property("Order/customer").range == [NS + "Customer"]
    assert shop.get_class("Customer").key == [NS + "Customer/id"]
    assert all(e.edited for e in (*shop.classes, *shop.properties))


def test_invalid_adds_raise_and_change_nothing(shop: OntologyModel) -> None:
    with pytest.raises(NameConflict):
        add_class(shop, "Order")
    with pytest.raises(InvalidEdit, match="invalid name"):
        add_class(shop, "2 bad")
    with pytest.raises(UnknownElement, match="unknown class 'Invoice'"):
        add_datatype_property(shop, "total", domain=["Invoice"])
    with pytest.raises(InvalidEdit, match="unknown datatype"):
        add_datatype_property(shop, "total", domain=["Order"], range="xsd:money")
    with pytest.raises(InvalidEdit, match="does not belong"):
        set_key(shop, "Order", ["Customer/id"])
    with pytest.raises(InvalidEdit, match="cycle"):
        update_class(shop, "Party", ClassPatch(superclasses=["Customer"]))
    assert len(shop.classes) == 3 and len(shop.properties) == 3


def test_rename_class_updates_every_reference(shop: OntologyModel) -> None:
    m = rename_class(shop, "Customer", "Client")
    client = m.get_class("Client")
    assert client.label == "Our customers"  # a label that differs from the name is kept
    assert rename_class(shop, "Order", "Purchase").get_class("Purchase").label is None
    assert client.key == [NS + "Client/id"]
    assert m.get_property("Order/customer").range == [NS + "Client"]
    assert m.get_property("Client/id").domain == [NS + "Client"]
    assert NS + "Customer" not in export_ontology(m)
    with pytest.raises(NameConflict):
        rename_class(m, "Client", "Order")


def test_rename_property_updates_keys_and_axioms(shop: OntologyModel) -> None:
    doc = export_ontology(shop) + f"<{NS}Customer/id> <http://www.w3.org/2000/01/rdf-schema#seeAlso> <{NS}Order/no> .\n"
    m = load_ontology(doc, "turtle").model
    m = rename_property(m, "Customer/id", "number")
    assert m.get_class("Customer").key == [NS + "Customer/number"]
    assert f"<{NS}Customer/number> <http://www.w3.org/2000/01/rdf-schema#seeAlso>" in m.extra
    with pytest.raises(NameConflict):
        rename_property(m, "Order/no", "customer")


def test_delete_refuses_while_referenced_then_cascades(shop: OntologyModel) -> None:
    with pytest.raises(ElementInUse) as refused:
        delete_class(shop, "Customer")
    assert {how for _, how in refused.value.references} == {"domain", "range"}
    m = delete_class(shop, "Customer", cascade=True)
    assert [c.name for c in m.classes] == ["Party", "Order"]
    assert {p.name for p in m.properties} == {"no"}
    with pytest.raises(ElementInUse, match="key"):
        delete_property(shop, "Customer/id")
    m = delete_property(shop, "Customer/id", cascade=True)
    assert m.get_class("Customer").key == []
    m = delete_class(delete_class(shop, "Customer", cascade=True), "Party")
    assert [c.name for c in m.classes] == ["Order"]


def test_delete_cascade_removes_restrictions_mentioning_the_class(shop: OntologyModel) -> None:
    doc = export_ontology(shop) + f"""
<{NS}Order> <http://www.w3.org/2000/01/rdf-schema#subClassOf> [
    a <http://www.w3.org/2002/07/owl#Restriction> ;
    <http://www.w3.org/2002/07/owl#onProperty> <{NS}Order/customer> ;
    <http://www.w3.org/2002/07/owl#someValuesFrom> <{NS}Customer> ] .
"""
    m = load_ontology(doc, "turtle").model
    assert "Restriction" in m.extra
    with pytest.raises(ElementInUse):
        delete_class(m, "Customer")
    gone = delete_class(m, "Customer", cascade=True)
    assert gone.extra == ""


def test_update_property_switches_kind_and_range(shop: OntologyModel) -> None:
    m = update_property(shop, "Order/no", PropertyPatch(kind="object", range=["Customer"]))
    assert m.get_property("Order/no").kind == "object"
    m = update_property(m, "Order/no", PropertyPatch(kind="datatype", range=["xsd:integer"],
                                                     functional=True))
    prop = m.get_property("Order/no")
    assert (prop.kind, prop.range, prop.functional) == ("datatype", "http://www.w3.org/2001/XMLSchema#integer", True)
    with pytest.raises(InvalidEdit, match="needs a range"):
        update_property(shop, "Order/no", PropertyPatch(kind="object"))


def test_references_by_label_and_ambiguity(shop: OntologyModel) -> None:
    m = add_datatype_property(shop, "id", domain=["Order"], range="xsd:integer")
    with pytest.raises(AmbiguousReference):
        m.get_property("id")
    assert m.get_property("id", domain=NS + "Order").iri == NS + "Order/id"
    assert m.get_class("customer").iri == NS + "Customer"
