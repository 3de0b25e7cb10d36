"""Two generated data sets for the twin tests, built through the real ontology pipeline.

* ``shop``: Person ← Employee (subclass, shares Person's key), Department, Customer,
  Order (references Customer and Employee), Product, Order.items → Product (link table).
  Strings, integers, decimals, doubles, booleans, dates, dateTimes; optional attributes.
* ``plant``: Site, Sensor (references Site; ``neighbour`` is a Sensor → Sensor link table),
  Reading (references Sensor), with integer keys and a compound-free, string-keyed Site.

Values are drawn from a seeded generator so every run (and every backend) holds the same
data; a few strings carry characters that need IRI escaping and LIKE escaping.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ontology.compile import SchemaMapping, compile_schema
from ontology.edit import add_class, add_datatype_property, add_object_property, set_key
from ontology.model import OntologyModel
from ontology.rows import map_records
from storage_plugins.base import StoragePlugin

SHOP = "http://ex.org/shop#"
PLANT = "http://ex.org/plant#"

CITIES = ["Oslo", "Bergen", "Zürich", "São Paulo", "Ōsaka", "new york", "a%b_c"]
WORDS = ["alpha", "beta", "gamma", "delta", "Delta", "epsilon", "zeta", "eta", "theta"]


def shop_model() -> OntologyModel:
    m = OntologyModel(iri=SHOP.rstrip("#"))
    for name in ("Person", "Department", "Customer", "Order", "Product"):
        m = add_class(m, name)
    m = add_class(m, "Employee", superclasses=["Person"])
    props = [
        ("ssn", "Person", "xsd:string"), ("name", "Person", "xsd:string"),
        ("age", "Person", "xsd:integer"),
        ("salary", "Employee", "xsd:decimal"), ("code", "Department", "xsd:string"),
        ("title", "Department", "xsd:string"), ("budget", "Department", "xsd:double"),
        ("cid", "Customer", "xsd:integer"), ("cname", "Customer", "xsd:string"),
        ("city", "Customer", "xsd:string"), ("vip", "Customer", "xsd:boolean"),
        ("joined", "Customer", "xsd:date"), ("rating", "Customer", "xsd:double"),
        ("no", "Order", "xsd:integer"), ("total", "Order", "xsd:decimal"),
        ("placed", "Order", "xsd:dateTime"), ("qty", "Order", "xsd:integer"),
        ("sku", "Product", "xsd:string"), ("label", "Product", "xsd:string"),
        ("price", "Product", "xsd:double"),
    ]
    for name, domain, rng in props:
        m = add_datatype_property(m, name, domain=[domain], range=rng)
    m = add_object_property(m, "dept", domain=["Employee"], range=["Department"],
                            functional=True)
    m = add_object_property(m, "customer", domain=["Order"], range=["Customer"],
                            functional=True)
    m = add_object_property(m, "approver", domain=["Order"], range=["Employee"],
                            functional=True)
    m = add_object_property(m, "items", domain=["Order"], range=["Product"], functional=False)
    for cls, key in (("Person", "ssn"), ("Department", "code"), ("Customer", "cid"),
                     ("Order", "no"), ("Product", "sku")):
        m = set_key(m, cls, [key])
    return m


def shop_records(n: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rnd = random.Random(seed)
    depts = [{"code": f"D{i}", "title": rnd.choice(WORDS),
              "budget": round(rnd.uniform(1000, 90000), 2)} for i in range(max(3, n // 20))]
    people = [{"ssn": f"P-{i:04d}", "name": f"{rnd.choice(WORDS)} {i}",
               "age": rnd.choice([None, *range(18, 70)])} for i in range(n // 2)]
    employees = [{"ssn": f"E/{i:03d}", "name": f"{rnd.choice(WORDS).title()} {i}",
                  "age": rnd.randint(20, 65),
                  "salary": str(Decimal(rnd.randint(30000, 120000)) / 4),
                  "dept": rnd.choice(depts)["code"] if rnd.random() > 0.1 else None}
                 for i in range(max(4, n // 5))]
    customers = [{"cid": i, "cname": f"{rnd.choice(WORDS)}-{i}", "city": rnd.choice(CITIES),
                  "vip": rnd.random() < 0.3,
                  "joined": (date(2020, 1, 1) + timedelta(days=rnd.randint(0, 1500))).isoformat(),
                  "rating": None if rnd.random() < 0.2 else round(rnd.uniform(0, 5), 1)}
                 for i in range(1, n + 1)]
    products = [{"sku": f"S{i:03d}", "label": rnd.choice(WORDS) + " " + rnd.choice(WORDS),
                 "price": round(rnd.uniform(1, 500), 2)} for i in range(max(5, n // 4))]
    orders = []
    for i in range(1, 2 * n + 1):
        orders.append({
            "no": i, "total": str(Decimal(rnd.randint(100, 99999)) / 100),
            "placed": (datetime(2024, 1, 1, tzinfo=UTC)
                       + timedelta(minutes=rnd.randint(0, 500000))).isoformat(),
            "qty": rnd.randint(1, 9),
            "customer": rnd.randint(1, n),
            "approver": rnd.choice(employees)["ssn"] if rnd.random() < 0.6 else None,
            "items": sorted({rnd.choice(products)["sku"] for _ in range(rnd.randint(0, 3))}),
        })
    return {"Department": depts, "Person": people, "Employee": employees,
            "Customer": customers, "Product": products, "Order": orders}


def plant_model() -> OntologyModel:
    m = OntologyModel(iri=PLANT.rstrip("#"))
    for name in ("Site", "Sensor", "Reading"):
        m = add_class(m, name)
    for name, domain, rng in [
        ("siteId", "Site", "xsd:string"), ("siteName", "Site", "xsd:string"),
        ("region", "Site", "xsd:string"), ("sensorId", "Sensor", "xsd:integer"),
        ("kind", "Sensor", "xsd:string"), ("installed", "Sensor", "xsd:date"),
        ("readingId", "Reading", "xsd:integer"), ("value", "Reading", "xsd:double"),
        ("at", "Reading", "xsd:dateTime"), ("flag", "Reading", "xsd:boolean"),
    ]:
        m = add_datatype_property(m, name, domain=[domain], range=rng)
    m = add_object_property(m, "site", domain=["Sensor"], range=["Site"], functional=True)
    m = add_object_property(m, "sensor", domain=["Reading"], range=["Sensor"], functional=True)
    m = add_object_property(m, "neighbour", domain=["Sensor"], range=["Sensor"],
                            functional=False)
    for cls, key in (("Site", "siteId"), ("Sensor", "sensorId"), ("Reading", "readingId")):
        m = set_key(m, cls, [key])
    return m


def plant_records(n: int, seed: int = 11) -> dict[str, list[dict[str, Any]]]:
    rnd = random.Random(seed)
    sites = [{"siteId": f"site {i}", "siteName": rnd.choice(WORDS),
              "region": rnd.choice(["north", "south", "east", None])} for i in range(6)]
    sensors = []
    for i in range(1, max(6, n // 5) + 1):
        sensors.append({
            "sensorId": i, "kind": rnd.choice(["temp", "flow", "pressure"]),
            "installed": (date(2022, 1, 1) + timedelta(days=rnd.randint(0, 700))).isoformat(),
            "site": rnd.choice(sites)["siteId"],
            "neighbour": sorted({rnd.randint(1, max(6, n // 5)) for _ in range(rnd.randint(0, 2))}),
        })
    readings = [{"readingId": i, "value": round(rnd.uniform(-20, 120), 3),
                 "at": (datetime(2025, 1, 1, tzinfo=UTC)
                        + timedelta(seconds=rnd.randint(0, 10**7))).isoformat(),
                 "flag": rnd.random() < 0.1, "sensor": rnd.randint(1, len(sensors))}
                for i in range(1, n * 2 + 1)]
    return {"Site": sites, "Sensor": sensors, "Reading": readings}


def load(store: StoragePlugin, model: OntologyModel, records: dict[str, list[dict[str, Any]]]
         ) -> SchemaMapping:
    """Compile `model`, create its tables in `store` and write `records` by class."""
    mapping = compile_schema(model)
    store.apply_schema(mapping.tabular)
    for cls, items in records.items():
        out = map_records(mapping, cls, items)
        assert out.rejected == [], out.rejected[:3]
        link = {t.name for t in mapping.tabular.tables if t.kind == "link"}
        for table, rows in sorted(out.rows.items(), key=lambda kv: kv[0] in link):
            store.write(table, rows, mode="upsert")
    return mapping
