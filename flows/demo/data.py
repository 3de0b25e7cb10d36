"""The sample project's data: a small wind-farm operator, generated deterministically.

Why generated rather than shipped: the same seed gives the same files on every machine, the
ground truth (which turbines fail, which readings are anomalous) is known to the tests, and
nothing is fetched from outside. The sources are deliberately a little messy, the way real
exports are, so the demo exercises extraction on what users actually have:

* ``sites.json`` — an API export: each site embeds its operator (a nested object shared by
  several sites).
* ``turbines.csv`` — a spreadsheet export: a byte-order mark, human headers with units
  ("Rated Power (kW)", "Hub height [m]"), dates in two formats, and a yes/no label ``Failed``
  that depends on the turbine's sensors (a relationship), not on the turbine's own columns.
* ``sensors.csv`` — sensors on turbines, each of a ``kind`` (temperature or vibration).
* ``readings.csv`` — readings of the sensors. Each sensor has its own baseline within its
  kind. Two kinds of injected anomaly: values that are ordinary for the *other* kind (only a
  peer-group view — temperature against temperature — finds them), and a few sensors that
  drift: their later readings step away from their own history while staying inside the
  kind's usual range (only the sensor's own time series shows it).
* ``new-site/*.json`` — a site commissioned later, already in the ontology's terms (a
  processing pipeline writes it straight into the class tables): twenty turbines of a model
  the failure model never saw, with new sensors and no failure label yet. Monitoring then
  finds the model's inputs drifted, which is what the demo's drift trigger reacts to.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

SEED = 20261202
REGIONS = ("North Sea", "Baltic", "Highlands", "Irish Sea")
MODELS = (("V90", 2000, 80), ("V112", 3450, 94), ("SG 8.0", 8000, 110))
OPERATORS = (
    {"name": "Aegir Power", "email": "ops@aegir.example"},
    {"name": "Boreas Renewables", "email": "control@boreas.example"},
)
# Per kind: (mean of sensor baselines, spread of baselines, a sensor's own noise). Peer
# anomalies are drawn from the other kind; drifts step by DRIFT_STEP x the sensor's own noise.
KINDS = {"temperature": (45.0, 4.0, 0.6), "vibration": (2.0, 0.3, 0.05)}
DRIFT_STEP = 9.0
DRIFTING_SENSORS = 4
START = datetime(2026, 11, 1, tzinfo=UTC)
NEW_SITE = {"site_id": "S5", "name": "Celtic Sea 5", "region": "Celtic Sea",
            "operator": OPERATORS[1]["name"]}
NEW_MODEL = ("SG 14-222", 14000, 150)
NEW_TURBINES = 20


@dataclass
class SampleData:
    """The generated sources (file name → bytes) and the ground truth the tests check."""

    files: dict[str, bytes]
    failed_turbines: set[str] = field(default_factory=set)
    anomalous_readings: set[str] = field(default_factory=set)
    drifted_readings: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    commissioned: dict[str, int] = field(default_factory=dict)


def _csv(header: list[str], rows: list[list[object]], *, bom: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def _mixed_date(rng: random.Random, day: datetime) -> str:
    """A date as a spreadsheet user typed it: ISO or dd/mm/yyyy."""
    return day.strftime("%Y-%m-%d") if rng.random() < 0.6 else day.strftime("%d/%m/%Y")


def generate(
    *, sites: int = 4, turbines_per_site: int = 15, readings_per_sensor: int = 20, seed: int = SEED
) -> SampleData:
    """Generate the sample sources; the same arguments always give the same bytes."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not secrets
    data = SampleData(files={})

    site_rows = []
    for s in range(1, sites + 1):
        site_rows.append(
            {
                "site_id": f"S{s}",
                "name": f"{REGIONS[(s - 1) % len(REGIONS)]} {s}",
                "region": REGIONS[(s - 1) % len(REGIONS)],
                "operator": dict(OPERATORS[(s - 1) % len(OPERATORS)]),
            }
        )
    data.files["sites.json"] = json.dumps(site_rows, indent=2).encode()

    drifting = 0
    turbine_rows: list[list[object]] = []
    sensor_rows: list[list[object]] = []
    reading_rows: list[list[object]] = []
    for site in site_rows:
        for t in range(1, turbines_per_site + 1):
            turbine_id = f"{site['site_id']}-T{t:02d}"
            model, power, hub = MODELS[rng.randrange(len(MODELS))]
            commissioned = START - timedelta(days=rng.randrange(400, 3000))
            # Wear of the turbine's sensors decides failure: a label only relationships explain.
            wear = [round(rng.random(), 3) for _ in range(4)]
            failed = sum(wear) / len(wear) > 0.55
            if failed:
                data.failed_turbines.add(turbine_id)
            turbine_rows.append(
                [
                    turbine_id,
                    site["site_id"],
                    model,
                    power,
                    hub,
                    _mixed_date(rng, commissioned),
                    "yes" if failed else "no",
                ]
            )
            for k, sensor_wear in enumerate(wear):
                kind = "temperature" if k % 2 == 0 else "vibration"
                sensor_id = f"{turbine_id}-{kind[:4].upper()}{k // 2 + 1}"
                sensor_rows.append([sensor_id, turbine_id, kind, sensor_wear])
                mean, between, noise = KINDS[kind]
                baseline = rng.gauss(mean, between)
                other = "vibration" if kind == "temperature" else "temperature"
                other_mean, other_between, _ = KINDS[other]
                drifts = len(sensor_rows) % 40 == 7 and drifting < DRIFTING_SENSORS
                drifting += int(drifts)
                drift_from = readings_per_sensor * 2 // 3
                for r in range(readings_per_sensor):
                    reading_id = f"{sensor_id}-R{r:03d}"
                    value = rng.gauss(baseline, noise)
                    if drifts and r >= drift_from:
                        value += DRIFT_STEP * noise
                        data.drifted_readings.add(reading_id)
                    elif r >= 10 and rng.random() < 0.01:
                        # A value normal for the other kind: invisible without peer groups.
                        value = rng.gauss(other_mean, other_between)
                        data.anomalous_readings.add(reading_id)
                    stamp = START + timedelta(hours=r, minutes=rng.randrange(60))
                    reading_rows.append([reading_id, sensor_id, stamp.isoformat(), round(value, 3)])

    data.files["turbines.csv"] = _csv(
        [
            "Turbine ID",
            "Site",
            "Model",
            "Rated Power (kW)",
            "Hub height [m]",
            "Commissioned",
            "Failed",
        ],
        turbine_rows,
        bom=True,
    )
    data.files["sensors.csv"] = _csv(["sensor_id", "turbine_id", "kind", "wear"], sensor_rows)
    data.files["readings.csv"] = _csv(["reading_id", "sensor_id", "ts", "value"], reading_rows)
    data.counts = {
        "sites": len(site_rows),
        "turbines": len(turbine_rows),
        "sensors": len(sensor_rows),
        "readings": len(reading_rows),
    }
    _add_new_site(data, rng)
    return data


def _add_new_site(data: SampleData, rng: random.Random) -> None:
    """The later site's records, keyed and named as the accepted ontology has them."""
    model, power, hub = NEW_MODEL
    turbines, sensors = [], []
    for t in range(1, NEW_TURBINES + 1):
        turbine_id = f"{NEW_SITE['site_id']}-T{t:02d}"
        turbines.append({"turbine_id": turbine_id, "site": NEW_SITE["site_id"], "model": model,
                         "rated_power": power, "hub_height": hub,
                         "commissioned": (START + timedelta(days=t)).strftime("%Y-%m-%d"),
                         "failed": None})
        for k in range(4):
            kind = "temperature" if k % 2 == 0 else "vibration"
            sensors.append({"sensor_id": f"{turbine_id}-{kind[:4].upper()}{k // 2 + 1}",
                            "turbine_id": turbine_id, "kind": kind,
                            "wear": round(rng.random() * 0.08, 3)})
    data.files["new-site/sites.json"] = json.dumps([NEW_SITE], indent=2).encode()
    data.files["new-site/turbines.json"] = json.dumps(turbines, indent=2).encode()
    data.files["new-site/sensors.json"] = json.dumps(sensors, indent=2).encode()
    data.commissioned = {"sites": 1, "turbines": len(turbines), "sensors": len(sensors)}
