"""Re-extraction proposes; it never overwrites what a person edited."""

from __future__ import annotations

import pytest

from ontology.edit import PropertyPatch, delete_property, rename_class, update_property
from ontology.errors import InvalidEdit
from ontology.extract import extract
from ontology.model import XSD, OntologyModel
from ontology.propose import accept, propose
from tests.ontology.conftest import SHOP_BASE
from tests.ontology.datasets import shop


def _again(seed: int = 99, **changes) -> OntologyModel:
    data = shop(n_orders=120, seed=seed)
    for order in data["orders"]:
        order.update(changes)
    for i, customer in enumerate(data["customers"]):
        customer["segment"] = ["retail", "b2b"][i % 2]
    return extract(data, base_iri=SHOP_BASE).model


def test_first_extraction_is_a_complete_proposal(shop_model: OntologyModel) -> None:
    proposal = propose(None, shop_model)
    assert {c.action for c in proposal.changes} == {"add"}
    assert len(proposal.changes) == len(shop_model.classes) + len(shop_model.properties)
    accepted = accept(proposal)
    assert {e.iri for e in accepted.properties} == {e.iri for e in shop_model.properties}
    assert [c.change for c in proposal.diff.classes] == ["added"] * len(shop_model.classes)


def test_unchanged_data_proposes_nothing(shop_model: OntologyModel) -> None:
    again = extract(shop(), base_iri=SHOP_BASE).model
    proposal = propose(shop_model, again)
    assert proposal.changes == [] and proposal.diff.is_empty


def test_user_edits_survive_re_extraction(shop_model: OntologyModel) -> None:
    mine = rename_class(shop_model, "Customer", "Client")
    mine = update_property(mine, "Order/note", PropertyPatch(label="Remark"))
    mine = update_property(mine, "Order/quantity", PropertyPatch(range=["xsd:decimal"]))
    mine = delete_property(mine, "Order/tags")
    # the new data turns `quantity` into text and `note` into numbers: extraction disagrees
    proposal = propose(mine, _again(quantity="many", note=5))
    assert [c.id for c in proposal.changes] == [f"add:datatype_property:{SHOP_BASE}Client/segment"]
    # edited elements are the user's: kept as the user left them, reported as kept
    assert proposal.kept == [f"{SHOP_BASE}Order/note", f"{SHOP_BASE}Order/quantity"]
    draft = proposal.draft
    assert draft.get_property("Order/quantity").range == XSD + "decimal"
    note = draft.get_property("Order/note")
    assert (note.label, note.range) == ("Remark", XSD + "string")
    assert "Order/tags" not in {p.iri.split("#")[1] for p in draft.properties}  # deleted stays deleted
    assert draft.get_property("Client/segment").domain == [SHOP_BASE + "Client"]
    assert draft.get_property("Order/customer_id").range == [SHOP_BASE + "Client"]
    assert {c.name for c in draft.classes} == {c.name for c in mine.classes}


def test_partial_accept_takes_dependencies_and_rejects_unknown_ids(shop_model: OntologyModel) -> None:
    base = OntologyModel(iri=shop_model.iri, prefixes=shop_model.prefixes)
    proposal = propose(base, shop_model)
    approver = f"add:object_property:{SHOP_BASE}Order/approver"
    change = next(c for c in proposal.changes if c.id == approver)
    assert set(change.requires) == {f"add:class:{SHOP_BASE}Order", f"add:class:{SHOP_BASE}Employee"}
    model = accept(proposal, [approver])
    assert {c.name for c in model.classes} == {"Order", "Employee"}
    # a class comes with its key properties, nothing else
    assert {p.name for p in model.properties} == {"approver", "order_id", "employee_no"}
    assert model.get_class("Order").key == [SHOP_BASE + "Order/order_id"]
    with pytest.raises(InvalidEdit, match="unknown change id"):
        accept(proposal, ["add:class:nope"])
    assert accept(proposal, []) == base


def test_machine_made_elements_are_updated(shop_model: OntologyModel) -> None:
    proposal = propose(shop_model, _again(note=5))
    note = next(c for c in proposal.changes if c.iri.endswith("Order/note"))
    assert note.action == "update" and note.element.range == XSD + "integer"
    assert "range string → integer" in note.summary
    model = accept(proposal, [note.id])
    assert model.get_property("Order/note").range == XSD + "integer"
    assert all(not p.iri.endswith("segment") for p in model.properties)
