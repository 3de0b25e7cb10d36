"""Extraction and loading on messy multi-source data (issue 11, item 6).

Quality floor: every element kind must reach F1 >= 0.95 on every messy set, for three seeds
each. 0.95 is the issue's bar; the generated sets are small (about 30 attributes and 7
relationships each), so one wrong element costs 0.03-0.15 of a kind's F1 and the floor
allows no more than that. The sets measure 1.00 today (bench/extraction.py); the margin
is for heuristics trading one element, never for a new class of mistake, which would drop
a kind well below it. The clean sets stay at exactly 1.00 (test_extract.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.ontology_storage import apply_ontology, load_raw, plan_ontology
from domain.raw_area import read_raw_sample, write_raw
from domain.stores import open_store
from flows.actions.builtin.data import CsvParseParams, csv_parse
from ontology.compile import compile_schema
from ontology.extract import extract
from ontology.io import from_turtle, to_turtle
from ontology.model import XSD, OntologyModel, local_name
from ontology.rows import MappedRows, convert, map_records
from storage_plugins.schema import Column, ColumnType
from tests.ontology.datasets import score
from tests.ontology.messy import BOM, FLEET_TRUTH, WIND_TRUTH, fleet, wind

FLOOR = 0.95
BASE = "http://ex.org/messy#"
SETS = {"wind": (wind, WIND_TRUTH), "fleet": (fleet, FLEET_TRUTH)}


def f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@pytest.fixture(scope="module")
def models() -> dict[str, tuple[dict[str, list[dict[str, Any]]], OntologyModel]]:
    out = {}
    for name, (make, _) in SETS.items():
        data = make()
        out[name] = (data, extract(data, base_iri=BASE).model)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(SETS))
def test_f1_per_element_kind_meets_the_floor(name: str, seed: int) -> None:
    make, truth = SETS[name]
    model = extract(make(seed=seed), base_iri=BASE).model
    result = {kind: f1(p, r) for kind, (p, r) in score(model, truth).items()}
    print(name, seed, {k: round(v, 3) for k, v in result.items()})
    assert set(result) >= {"classes", "attributes", "types", "keys", "relationships"}
    assert all(v >= FLOOR for v in result.values()), result


def test_provenance_of_messy_elements(models: dict[str, Any]) -> None:
    _, m = models["wind"]
    for element in (*m.classes, *m.properties):
        assert element.confidence is not None and 0 < element.confidence <= 1
        assert element.source and element.evidence
        for text in (element.label, element.column, element.name):
            assert BOM not in (text or "") and (text or "") == (text or "").strip()
    op_id = m.get_property("Operator/operator_id")
    assert (op_id.label, op_id.column) == ("Operator ID", "Operator ID")  # BOM gone
    power = m.get_property("Turbine/rated_power")
    assert (power.label, power.unit, power.range) == ("Rated Power (kW)", "kW", XSD + "integer")
    assert "unit kW from the header" in power.evidence
    founded = m.get_property("Operator/founded")
    assert founded.date_order == "DMY" and "show the order DMY" in founded.evidence
    assert "written as" in m.get_property("Operator/listed").evidence
    operator = m.get_property("Site/operator")
    assert operator.match_on == BASE + "Operator/operator_name"
    assert "matched to Operator by Operator Name" in operator.evidence
    owner = m.get_class("Owner")
    assert "distinct objects shared by several records" in owner.key_evidence
    assert [local_name(k) for k in m.get_class("Assignment").key] == ["engineer_id", "site_code"]


def test_annotations_survive_turtle(models: dict[str, Any]) -> None:
    _, m = models["wind"]
    again = from_turtle(to_turtle(m))
    for prop in m.properties:
        twin = again.get_property(prop.iri)
        for field in ("unit", "date_order", "match_on"):
            assert getattr(twin, field, None) == getattr(prop, field, None), (prop.iri, field)


# --------------------------------------------------------------------------- ambiguity

def test_day_month_order_that_no_value_shows_is_a_low_confidence_guess() -> None:
    rows = [{"id": i, "on": f"{1 + i % 12:02d}/{1 + i % 12:02d}/2024"} for i in range(40)]
    prop = extract({"things": rows}).model.get_property("on")
    assert (local_name(prop.range), prop.date_order) == ("date", "DMY")
    assert prop.confidence <= 0.6 and "cannot be told" in prop.evidence


def test_both_day_month_orders_keep_the_column_as_text_with_the_reason() -> None:
    rows = [{"on": "25/03/2024"}, {"on": "03/25/2024"}, {"on": "2024-01-01"}]
    prop = extract({"things": rows}).model.get_property("on")
    assert local_name(prop.range) == "string" and prop.date_order is None
    assert "day first (1) and month first (1) both occur" in prop.evidence


def test_a_name_that_fits_two_targets_is_flagged() -> None:
    names = [f"Name {i}" for i in range(8)]
    data = {
        "suppliers": [{"id": i, "name": n} for i, n in enumerate(names)],
        "carriers": [{"id": 100 + i, "name": n} for i, n in enumerate(names)],
        "shipments": [{"no": i, "party": names[i % 8]} for i in range(30)],
    }
    party = extract(data).model.get_property("Shipment/party")
    assert party.kind == "object" and "also fits" in party.evidence
    assert party.confidence < 0.85


def test_brackets_that_are_no_unit_stay_in_the_name() -> None:
    m = extract({"t": [{"Name (optional)": "a", "Share (%)": "5"},
                       {"Name (optional)": "b", "Share (%)": "7"}]}).model
    assert m.get_property("name_optional").unit is None
    assert m.get_property("share").unit == "%"


# --------------------------------------------------------------------------- loading

def _memory_lookup(tables: dict[str, list[dict[str, Any]]],
                   keys: dict[str, list[str]]) -> Callable[..., dict[Any, list[Any]]]:
    def lookup(table: str, column: str, values: list[Any]) -> dict[Any, list[Any]]:
        wanted = set(values)
        return {row[column]: [row[c] for c in keys[table]]
                for row in tables.get(table, []) if row[column] in wanted}
    return lookup


def _load(data: dict[str, list[dict[str, Any]]], model: OntologyModel
          ) -> dict[str, list[dict[str, Any]]]:
    """Load every source through the row mapper like `load_raw` does (classes that match
    by name after their targets); fails on any rejected record."""
    mapping = compile_schema(model)
    keys = {t.name: t.primary_key for t in mapping.tabular.tables}
    tables: dict[str, list[dict[str, Any]]] = {}
    matching = {d for p in model.object_properties if p.match_on for d in p.domain}
    for cls in sorted(model.classes, key=lambda c: c.iri in matching):
        if cls.column is not None:
            continue
        out: MappedRows = map_records(mapping, cls.iri, data[cls.source],
                                      lookup=_memory_lookup(tables, keys))
        assert out.rejected == [], (cls.name, out.rejected[:3])
        for table, rows in out.rows.items():
            tables.setdefault(table, []).extend(rows)
    return tables


def test_wind_loads_with_every_value_read_right(models: dict[str, Any]) -> None:
    data, model = models["wind"]
    tables = _load(data, model)
    operators = {r["operator_id"]: r for r in tables["operator"]}
    assert sorted(operators) == list(range(100, 112))  # padded / quoted ids are integers
    for i in range(12):
        row = operators[100 + i]
        assert row["founded"] == date(1990 + i, 1 + i % 12, 13 + i % 15)  # ISO and d/m/Y
        assert row["operator_name"] == f"Windco {chr(65 + i)} AS"  # no quotes, no padding
        assert isinstance(row["listed"], bool)
    by_name = {r["operator_name"]: r["operator_id"] for r in operators.values()}
    sites = {r["site_code"]: r for r in tables["site"]}
    for record in data["sites"]:
        site = sites[record["site_code"]]
        assert site["operator"] == by_name[record["operator"]]  # matched by the name
        assert site["owner"] == record["owner"]["owner_code"]
        assert site["grid_connected"] is (record["grid_connected"].lower() == "on")
        assert site["commissioned"].tzinfo is not None
    assert len(tables["owner"]) == 6  # shared nested objects stored once each
    assert {r["installed"] for r in tables["turbine"]} <= {
        date(2010 + i % 12, 1 + i % 12, 1 + i % 28) for i in range(160)}
    emails = {r["email"]: r["engineer_id"] for r in tables["engineer"]}
    for record, row in zip(data["inspections"], sorted(tables["inspection"],
                                                       key=lambda r: r["inspection_no"]),
                           strict=True):
        assert row["inspector_email"] == emails[record["inspector_email"].strip(' "')]
        assert row["passed"] is (record["passed"] == "yes")
    assignment = compile_schema(model).tabular.table("assignment")
    assert assignment.primary_key == ["engineer_id", "site_code"]
    assert {fk.references for fk in assignment.foreign_keys} == {"engineer", "site"}
    assert len(tables["assignment"]) == len(data["assignments"])


def test_fleet_reads_month_first_dates(models: dict[str, Any]) -> None:
    data, model = models["fleet"]
    tables = _load(data, model)
    depots = {r["depot_code"]: r for r in tables["depot"]}
    assert depots["D0"]["opened"] == date(2000, 1, 13) and depots["D4"]["opened"] == date(
        2004, 5, 17)
    started = [r["started"] for r in tables["trip"]]
    assert all(isinstance(s, datetime) and s.tzinfo is not None for s in started)
    assert all(s.day >= 13 for s in started)  # month first: the day is the part above 12
    drivers = {r["e_mail"]: r["driver_no"] for r in tables["driver"]}
    assert {r["driver"] for r in tables["trip"]} <= set(drivers.values())


def test_a_reference_by_name_without_its_target_is_rejected_clearly(
        models: dict[str, Any]) -> None:
    data, model = models["wind"]
    mapping = compile_schema(model)
    out = map_records(mapping, "Site", data["sites"][:1], lookup=lambda t, c, v: {})
    assert out.rejected[0].field == "operator"
    assert "no Operator with operator_name" in out.rejected[0].reason
    out = map_records(mapping, "Site", data["sites"][:1])
    assert "needs the stored rows" in out.rejected[0].reason


def test_conversions_of_messy_values() -> None:
    day = Column(name="d", type=ColumnType.DATE)
    moment = Column(name="m", type=ColumnType.DATETIME)
    flag = Column(name="b", type=ColumnType.BOOLEAN)
    text = Column(name="s", type=ColumnType.STRING)
    assert convert("05/03/2024", day, "DMY") == date(2024, 3, 5)
    assert convert("05/03/2024", day, "MDY") == date(2024, 5, 3)
    assert convert(" '2024-03-05' ", day) == date(2024, 3, 5)
    assert convert("25/03/2024", day) == date(2024, 3, 25)  # the text shows the order
    with pytest.raises(ValueError, match="ambiguous"):
        convert("05/03/2024", day)
    assert convert("05/03/2024 14:30 UTC", moment, "DMY") == datetime(2024, 3, 5, 14, 30,
                                                                      tzinfo=UTC)
    assert convert("2024-03-05 14:30 UTC", moment) == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    assert [convert(v, flag) for v in ("yes", " N ", "on", '"off"', "Y")] == [
        True, False, True, False, True]
    assert convert('  "Oslo" ', text) == "Oslo"
    assert convert('"n/a"', day) is None


def test_csv_parse_drops_the_byte_order_mark() -> None:
    out = csv_parse.fn(CsvParseParams(text=BOM + "id,name\n1,a\n"), None)
    assert out["columns"] == ["id", "name"] and out["rows"] == [{"id": "1", "name": "a"}]


def test_the_raw_area_of_messy_sources_loads_into_a_real_store_without_rejects(
        tmp_path: Any) -> None:
    """The platform path: raw records → extraction → accepted tables → load_raw, on SQLite
    (references by name are looked up in the store, after their targets are loaded)."""

    store = open_store((tmp_path / "project").as_uri())
    try:
        data = wind()
        for source, records in data.items():
            write_raw(store, source, records, "run-1")
        model = extract(read_raw_sample(store, 100_000), base_iri=BASE).model
        plan = plan_ontology(store, model)
        apply_ontology(store, plan)
        report = load_raw(store, model, plan.mapping, plan.rebuilt)
        assert report.rejected == 0, report.rejected_sample[:3]
        assert report.records == sum(len(rows) for rows in data.values())
        by_name = {r["operator_name"]: r["operator_id"] for r in store.read("operator").rows}
        sites = {r["site_code"]: r for r in store.read("site").rows}
        assert all(sites[s["site_code"]]["operator"] == by_name[s["operator"]]
                   for s in data["sites"])
        assert store.count("owner") == 6 and store.count("assignment") == len(
            data["assignments"])
    finally:
        store.close()
