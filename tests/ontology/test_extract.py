"""Extraction on generated data sets with known ground truth, and on messy corner cases."""

from __future__ import annotations

import itertools

import pytest

from ontology.extract import ExtractOptions, extract
from ontology.model import RDF, XSD, OntologyModel, local_name
from ontology.profile import ProfileOptions, classify, profile_sources
from tests.ontology.conftest import SHOP_BASE
from tests.ontology.datasets import LIBRARY_TRUTH, SHOP_TRUTH, library, score


@pytest.mark.parametrize(("make", "truth"), [(None, SHOP_TRUTH), (library, LIBRARY_TRUTH)],
                         ids=["shop", "library"])
def test_precision_and_recall_per_element_kind(make, truth, shop_model: OntologyModel) -> None:
    model = shop_model if make is None else extract(make(), base_iri="http://ex.org/lib#").model
    result = score(model, truth)
    print({kind: f"P={p:.2f} R={r:.2f}" for kind, (p, r) in result.items()})
    assert result == dict.fromkeys(result, (1.0, 1.0))


def test_shop_details(shop_model: OntologyModel) -> None:
    m = shop_model
    approver = m.get_property("Order/approver")
    assert approver.kind == "object" and approver.functional
    assert approver.range == [SHOP_BASE + "Employee"]
    assert "name evidence 0.00" in approver.evidence and approver.confidence >= 0.9
    assert (approver.source, approver.column) == ("orders", "approver")
    lines = m.get_property("Order/lines")
    assert lines.kind == "object" and not lines.functional
    assert m.get_class("Line").column == "lines" and m.get_class("Line").source == "orders"
    assert m.get_property("Line/quantity").column == "lines.quantity"
    # `quantity` (1..10) fits inside customer ids 1..60 but is no reference
    assert m.get_property("Order/quantity").kind == "datatype"
    total = m.get_property("Order/total")
    assert "given as text" in total.evidence and total.range == XSD + "decimal"
    zip_code = m.get_property("Customer/zip")
    assert zip_code.range == XSD + "string"  # leading zeros: an identifier, not a number
    for element in (*m.classes, *m.properties):
        assert element.confidence is not None and 0 < element.confidence <= 1
        assert element.source and element.evidence


def test_types_are_robust_to_mixed_and_missing_values() -> None:
    rows = [
        {"a": 1, "b": "1.5", "c": "2024-01-01", "d": "yes", "e": None, "f": "x"},
        {"a": "2", "b": 2, "c": "2024-01-01T10:00:00+02:00", "d": "no", "e": "", "f": 3},
        {"a": None, "b": "n/a", "c": None, "d": None, "f": None},
        {"a": " 4 ", "b": 4.25, "c": "2024-02-01", "d": "", "e": "NULL", "f": "y"},
    ]
    m = extract({"things": rows}).model
    ranges = {p.name: local_name(p.range) for p in m.datatype_properties}
    assert ranges == {"a": "integer", "b": "decimal", "c": "dateTime", "d": "boolean",
                      "e": "string", "f": "string"}  # yes/no is a boolean (issue 11.6)
    assert m.get_property("e").confidence == 0.3  # never seen a value
    assert m.get_property("b").confidence < m.get_property("a").confidence  # widened


def test_type_tolerance_lets_rare_outliers_pass() -> None:
    rows = [{"n": i} for i in range(199)] + [{"n": "12a"}]
    strict = extract({"t": rows}).model.get_property("n")
    lenient = extract({"t": rows}, options=ExtractOptions(type_tolerance=0.01)).model
    assert local_name(strict.range) == "string"
    assert local_name(lenient.get_property("n").range) == "integer"
    assert "1 value(s) do not fit integer" in lenient.get_property("n").evidence


def test_composite_key_and_list_of_references() -> None:
    lines = [{"order_no": o, "line_no": n, "sku": f"S{(o * n) % 5}"}
             for o in range(1, 30) for n in range(1, 4)]
    m = extract({"order_lines": lines}).model
    cls = m.get_class("OrderLine")
    assert [local_name(k) for k in cls.key] == ["order_no", "line_no"]
    assert 0 < cls.key_confidence < 0.8


def test_no_key_without_unique_column_and_low_confidence_on_tiny_samples() -> None:
    m = extract({"events": [{"kind": "a"}, {"kind": "a"}, {"kind": "b"}]}).model
    assert m.get_class("Event").key == []
    tiny = extract({"people": [{"id": 1}, {"id": 2}]}).model.get_class("Person")
    assert tiny.key and tiny.key_confidence <= 0.5


def test_nested_json_strings_are_parsed_and_objects_become_classes() -> None:
    rows = [{"id": i, "address": '{"city": "Oslo", "zip": "0150"}',
             "payload": '[1, 2]' if i % 2 else '{"x": 1}'} for i in range(10)]
    m = extract({"sites": rows}).model
    assert m.get_property("Site/address").range == [m.namespace + "Address"]
    assert m.get_class("Address").column == "address"
    payload = m.get_property("Site/payload")  # objects here, lists of numbers there
    assert (payload.kind, payload.range) == ("datatype", RDF + "JSON")
    items = extract({"carts": [{"items": [{"sku": "a"}]}, {"items": {"sku": "b"}}]}).model
    assert not items.get_property("Cart/items").functional  # a list once is enough


def test_sampling_bounds_reading() -> None:
    consumed = 0

    def rows():
        nonlocal consumed
        for i in itertools.count():
            consumed += 1
            yield {"id": i, "v": str(i)}

    result = extract({"big": rows()}, options=ExtractOptions(sample_rows=500, max_distinct=100))
    assert consumed == 501  # the sample plus one look-ahead to know it was truncated
    assert result.sources[0].rows == 500 and result.sources[0].truncated
    profile = profile_sources({"big": ({"id": i} for i in range(1000))},
                              ProfileOptions(sample_rows=1000, max_distinct=100))
    assert len(profile["Big"].columns["id"].distinct) == 100
    assert profile["Big"].columns["id"].overflow
    assert result.model.get_class("Big").key == []  # uniqueness cannot be confirmed


def test_value_classification() -> None:
    assert classify("42") == ("integer", "42", True)
    assert classify(42.0) == ("integer", "42", False)
    assert classify(" 007 ")[0] == "string"
    assert classify("1e3")[0] == "decimal"
    assert classify("2024-02-30")[0] == "string"
    assert classify("urn:isbn:0451450523")[0] == "anyURI"
    assert classify({"a": 1})[0] == "object"
