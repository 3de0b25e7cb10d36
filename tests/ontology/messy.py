"""Generated *messy* multi-source data sets with known ground truth (issue 11, item 6).

Each set mixes CSV exports (read the way an ingestion reads them: every value text, the
byte-order mark of a spreadsheet export left in the first header, human headers with
units, padded and quoted values) with JSON from an API (nested objects shared by many
records). Every situation extraction must cope with occurs at least once:

=====================================  ==================================================
situation                              where
=====================================  ==================================================
byte-order mark in the first header    ``operators`` / ``depots`` CSV
human headers with units / brackets    ``Rated Power (kW)``, ``Hub height [m]``, ``Fuel [l]``
dates mixing ISO and dd/mm/yyyy,       ``Founded``, ``Installed``, ``inspected_at``;
with or without time, with a zone      month-first (US) dates in the fleet set
booleans as yes/no, y/n, on/off        ``Listed``, ``Active``, ``grid_connected``, ``passed``
padded and quoted values               most CSV columns
nested objects shared by many records  ``sites[].owner``, ``vehicles[].model``
reference by a unique non-key value    ``sites.operator`` (a name), ``inspector_email``,
                                       ``trips.driver`` (an e-mail)
link table with a composite key        ``assignments`` (engineer and site),
                                       ``driver_vehicles``
=====================================  ==================================================

The ``*_TRUTH`` dictionaries use the clean names a careful person would give (snake case,
no unit); `tests.ontology.datasets.score` compares an extracted model with them.
"""

from __future__ import annotations

import csv
import io
import random
from typing import Any

BOM = "\ufeff"


def read_csv(text: str) -> list[dict[str, Any]]:
    """Rows of CSV text as a naive ingestion gets them (the BOM stays in the first header)."""
    return list(csv.DictReader(io.StringIO(text)))


def to_csv(header: list[str], rows: list[list[Any]], bom: bool = False) -> str:
    """CSV text of `rows` (values written as given, quoted where CSV needs it)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return (BOM if bom else "") + out.getvalue()


def _pad(rnd: random.Random, text: str) -> str:
    """The value as exports write it now and then: padded, or quoted inside the field."""
    return rnd.choice([text, text, f" {text} ", f'"{text}"', f"{text}  "])


def _date(rnd: random.Random, y: int, m: int, d: int, order: str = "DMY") -> str:
    day_month = f"{d:02d}/{m:02d}/{y}" if order == "DMY" else f"{m:02d}/{d:02d}/{y}"
    return rnd.choice([f"{y}-{m:02d}-{d:02d}", day_month])


def _moment(rnd: random.Random, y: int, m: int, d: int, h: int, order: str = "DMY") -> str:
    day_month = f"{d:02d}/{m:02d}/{y}" if order == "DMY" else f"{m:02d}/{d:02d}/{y}"
    return rnd.choice([
        f"{y}-{m:02d}-{d:02d}T{h:02d}:30:00Z", f"{y}-{m:02d}-{d:02d} {h:02d}:30",
        f"{y}-{m:02d}-{d:02d}T{h:02d}:30:00+02:00", f"{day_month} {h:02d}:30",
        f"{day_month} {h:02d}:30:15 UTC", f"{y}-{m:02d}-{d:02d}",
    ])


def wind(seed: int = 3, n_sites: int = 40, n_turbines: int = 160,
         n_inspections: int = 400) -> dict[str, list[dict[str, Any]]]:
    """Wind farms: operators (CSV), sites (JSON), turbines, engineers, assignments and
    inspections (CSV)."""
    rnd = random.Random(seed)
    n_operators, n_engineers, n_owners = 12, 20, 6
    operators = to_csv(
        ["Operator ID", "Operator Name", "Contact Email", "Founded", "Listed"],
        [[_pad(rnd, str(100 + i)), _pad(rnd, f"Windco {chr(65 + i)} AS"),
          f"ops{i}@windco{i}.example", _date(rnd, 1990 + i, 1 + i % 12, 13 + i % 15),
          _pad(rnd, rnd.choice(["yes", "no", "Yes", "NO"]))] for i in range(n_operators)],
        bom=True,
    )
    owners = [{"owner_code": f"OW{i}", "owner_name": f"Fund {i}", "country": c}
              for i, c in enumerate(["NO", "DK", "DE", "NL", "UK", "SE"][:n_owners])]
    sites = []
    for i in range(n_sites):
        m, d = 1 + i % 12, 1 + (i * 7) % 28
        sites.append({
            "site_code": f"S-{i:03d}",
            "name": f"Site {i}",
            "operator": f"Windco {chr(65 + rnd.randrange(n_operators))} AS",
            "owner": dict(owners[rnd.randrange(n_owners)]),
            "commissioned": _moment(rnd, 2005 + i % 15, m, d, i % 24),
            "grid_connected": rnd.choice(["on", "off", "ON"]),
            "capacity_mw": round(rnd.uniform(10, 400), 1),
        })
    turbines = to_csv(
        ["Serial No", "Site", "Rated Power (kW)", "Hub height [m]", "Installed", "Active"],
        [[f"T{5000 + i}", _pad(rnd, f"S-{rnd.randrange(n_sites):03d}"),
          _pad(rnd, str(rnd.choice([2000, 3600, 4200, 6000]))),
          _pad(rnd, f"{rnd.uniform(80, 140):.1f}"),
          _date(rnd, 2010 + i % 12, 1 + i % 12, 1 + i % 28),
          _pad(rnd, rnd.choice(["y", "n", "Y"]))] for i in range(n_turbines)],
    )
    engineers = [{"engineer_id": f"EN-{i:02d}", "full_name": f"Engineer {i}",
                  "email": f"engineer{i}@service.example",
                  "certified": rnd.choice([True, False])} for i in range(n_engineers)]
    pairs = sorted({(rnd.randrange(n_engineers), rnd.randrange(n_sites)) for _ in range(90)})
    assignments = to_csv(
        ["engineer_id", "site_code", "since"],
        [[f"EN-{e:02d}", f"S-{s:03d}", _date(rnd, 2020 + e % 4, 1 + s % 12, 14 + e % 14)]
         for e, s in pairs],
    )
    inspections = to_csv(
        ["inspection_no", "turbine", "inspector_email", "inspected_at", "passed", "notes"],
        [[str(i + 1), f"T{5000 + rnd.randrange(n_turbines)}",
          _pad(rnd, f"engineer{rnd.randrange(n_engineers)}@service.example"),
          _moment(rnd, 2023 + i % 2, 1 + i % 12, 13 + i % 15, i % 24),
          rnd.choice(["yes", "no"]), rnd.choice(["", "n/a", "blade wear", "ok", '"loose bolt"'])]
         for i in range(n_inspections)],
    )
    return {
        "operators": read_csv(operators), "sites": sites, "turbines": read_csv(turbines),
        "engineers": engineers, "assignments": read_csv(assignments),
        "inspections": read_csv(inspections),
    }


WIND_TRUTH: dict[str, Any] = {
    "classes": {"Operator", "Site", "Owner", "Turbine", "Engineer", "Assignment", "Inspection"},
    "types": {
        ("Operator", "operator_id"): "integer", ("Operator", "operator_name"): "string",
        ("Operator", "contact_email"): "string", ("Operator", "founded"): "date",
        ("Operator", "listed"): "boolean",
        ("Site", "site_code"): "string", ("Site", "name"): "string",
        ("Site", "commissioned"): "dateTime", ("Site", "grid_connected"): "boolean",
        ("Site", "capacity_mw"): "decimal",
        ("Owner", "owner_code"): "string", ("Owner", "owner_name"): "string",
        ("Owner", "country"): "string",
        ("Turbine", "serial_no"): "string", ("Turbine", "rated_power"): "integer",
        ("Turbine", "hub_height"): "decimal", ("Turbine", "installed"): "date",
        ("Turbine", "active"): "boolean",
        ("Engineer", "engineer_id"): "string", ("Engineer", "full_name"): "string",
        ("Engineer", "email"): "string", ("Engineer", "certified"): "boolean",
        ("Assignment", "since"): "date",
        ("Inspection", "inspection_no"): "integer", ("Inspection", "inspected_at"): "dateTime",
        ("Inspection", "passed"): "boolean", ("Inspection", "notes"): "string",
    },
    "keys": {"Operator": ["operator_id"], "Site": ["site_code"], "Owner": ["owner_code"],
             "Turbine": ["serial_no"], "Engineer": ["engineer_id"],
             "Assignment": ["engineer_id", "site_code"], "Inspection": ["inspection_no"]},
    "relationships": {
        ("Site", "operator"): ("Operator", True),
        ("Site", "owner"): ("Owner", True),
        ("Turbine", "site"): ("Site", True),
        ("Assignment", "engineer_id"): ("Engineer", True),
        ("Assignment", "site_code"): ("Site", True),
        ("Inspection", "turbine"): ("Turbine", True),
        ("Inspection", "inspector_email"): ("Engineer", True),
    },
    "units": {("Turbine", "rated_power"): "kW", ("Turbine", "hub_height"): "m"},
    "date_orders": {("Operator", "founded"): "DMY", ("Turbine", "installed"): "DMY",
                    ("Site", "commissioned"): "DMY", ("Inspection", "inspected_at"): "DMY",
                    ("Assignment", "since"): "DMY"},
    "match_on": {("Site", "operator"): "operator_name",
                 ("Inspection", "inspector_email"): "email"},
}


def fleet(seed: int = 5, n_vehicles: int = 50, n_drivers: int = 30,
          n_trips: int = 500) -> dict[str, list[dict[str, Any]]]:
    """A delivery fleet exported from a US system (month-first dates): depots (CSV),
    vehicles (JSON with a nested vehicle model), drivers (CSV), driver_vehicles (a link
    table) and trips (CSV referring to drivers by e-mail)."""
    rnd = random.Random(seed)
    depots = to_csv(
        ["Depot Code", "City", "Opened", "24h"],
        [[f"D{i}", _pad(rnd, city), _date(rnd, 2000 + i, 1 + i, 13 + i, "MDY"),
          rnd.choice(["on", "off"])]
         for i, city in enumerate(["Austin", "Boise", "Chicago", "Denver", "Erie"])],
        bom=True,
    )
    models = [{"model_code": f"M{i}", "make": make, "payload_kg": 800 + 150 * i}
              for i, make in enumerate(["Ford", "Iveco", "Mercedes", "Renault"])]
    vehicles = [{
        "plate": f"TX-{1000 + i}",
        "depot": f"D{rnd.randrange(5)}",
        "model": dict(models[rnd.randrange(len(models))]),
        "electric": rnd.choice(["yes", "no"]),
        "registered": _moment(rnd, 2015 + i % 8, 1 + i % 12, 13 + i % 15, i % 24, "MDY"),
    } for i in range(n_vehicles)]
    drivers = to_csv(
        ["Driver No", "Name", "E-mail", "Licensed Since", "Night Shifts"],
        [[str(700 + i), _pad(rnd, f"Driver {i}"), f"driver{i}@fleet.example",
          _date(rnd, 1995 + i % 20, 1 + i % 12, 13 + i % 15, "MDY"),
          rnd.choice(["y", "n"])] for i in range(n_drivers)],
    )
    pairs = sorted({(rnd.randrange(n_drivers), rnd.randrange(n_vehicles)) for _ in range(80)})
    driver_vehicles = to_csv(
        ["driver_no", "vehicle_plate"],
        [[str(700 + d), f"TX-{1000 + v}"] for d, v in pairs],
    )
    trips = to_csv(
        ["Trip ID", "Driver", "Vehicle", "Started", "Distance (km)", "Fuel [l]", "Late"],
        [[str(90000 + i), _pad(rnd, f"driver{rnd.randrange(n_drivers)}@fleet.example"),
          f"TX-{1000 + rnd.randrange(n_vehicles)}",
          _moment(rnd, 2024, 1 + i % 12, 13 + i % 15, i % 24, "MDY"),
          _pad(rnd, f"{rnd.uniform(5, 600):.1f}"), f"{rnd.uniform(1, 90):.2f}",
          rnd.choice(["yes", "no", ""])] for i in range(n_trips)],
    )
    return {
        "depots": read_csv(depots), "vehicles": vehicles, "drivers": read_csv(drivers),
        "driver_vehicles": read_csv(driver_vehicles), "trips": read_csv(trips),
    }


FLEET_TRUTH: dict[str, Any] = {
    "classes": {"Depot", "Vehicle", "Model", "Driver", "DriverVehicle", "Trip"},
    "types": {
        ("Depot", "depot_code"): "string", ("Depot", "city"): "string",
        ("Depot", "opened"): "date", ("Depot", "_24h"): "boolean",
        ("Vehicle", "plate"): "string", ("Vehicle", "electric"): "boolean",
        ("Vehicle", "registered"): "dateTime",
        ("Model", "model_code"): "string", ("Model", "make"): "string",
        ("Model", "payload_kg"): "integer",
        ("Driver", "driver_no"): "integer", ("Driver", "name"): "string",
        ("Driver", "e_mail"): "string", ("Driver", "licensed_since"): "date",
        ("Driver", "night_shifts"): "boolean",
        ("Trip", "trip_id"): "integer", ("Trip", "started"): "dateTime",
        ("Trip", "distance"): "decimal", ("Trip", "fuel"): "decimal",
        ("Trip", "late"): "boolean",
    },
    "keys": {"Depot": ["depot_code"], "Vehicle": ["plate"], "Model": ["model_code"],
             "Driver": ["driver_no"], "DriverVehicle": ["driver_no", "vehicle_plate"],
             "Trip": ["trip_id"]},
    "relationships": {
        ("Vehicle", "depot"): ("Depot", True),
        ("Vehicle", "model"): ("Model", True),
        ("DriverVehicle", "driver_no"): ("Driver", True),
        ("DriverVehicle", "vehicle_plate"): ("Vehicle", True),
        ("Trip", "driver"): ("Driver", True),
        ("Trip", "vehicle"): ("Vehicle", True),
    },
    "units": {("Trip", "distance"): "km", ("Trip", "fuel"): "l"},
    "date_orders": {("Depot", "opened"): "MDY", ("Driver", "licensed_since"): "MDY",
                    ("Vehicle", "registered"): "MDY", ("Trip", "started"): "MDY"},
    "match_on": {("Trip", "driver"): "e_mail"},
}
