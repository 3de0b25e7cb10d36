"""Generated multi-table data sets with known ground truth, for extraction tests.

Deterministic (seeded) and small enough to keep the suite fast; the shapes are those of
real ingestions: tabular rows with numbers and dates given as text, missing values in
several spellings, nested JSON with lists of line items, and references whose column
names say nothing (``approver`` holds employee numbers).
"""

from __future__ import annotations

import random
from typing import Any


def shop(n_customers: int = 60, n_employees: int = 25, n_orders: int = 200,
         seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """customers, employees and orders (with nested customer-facing line items)."""
    rnd = random.Random(seed)
    employees = []
    for i in range(n_employees):
        employees.append({
            "employee_no": f"E{1000 + i}",
            "name": f"Employee {i}",
            "email": f"e{i}@example.org",
            "hired_on": f"20{10 + i % 10:02d}-0{1 + i % 9}-1{i % 9}",
            "manager": f"E{1000 + (i // 5)}" if i >= 5 else None,
            "active": rnd.choice([True, False, "true", "FALSE"]),
        })
    customers = []
    for i in range(1, n_customers + 1):
        customers.append({
            "id": i,
            "name": f"Customer {i}",
            "website": f"https://customer{i}.example.com/" if i % 4 else "",
            "credit_limit": rnd.choice([1000, 2500.5, "3000", "1200.75", None]),
            "zip": f"0{rnd.randint(1000, 9999)}",
        })
    orders = []
    for i in range(n_orders):
        lines = [
            {"sku": f"SKU-{rnd.randint(1, 30)}", "quantity": rnd.randint(1, 10),
             "unit_price": round(rnd.uniform(1, 100), 2)}
            for _ in range(rnd.randint(1, 4))
        ]
        orders.append({
            "order_id": 5000 + i,
            "customer_id": str(rnd.randint(1, n_customers)) if i % 3 else rnd.randint(1, n_customers),
            "approver": f"E{1000 + rnd.randint(0, n_employees - 1)}",
            "ordered_at": f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:15:00Z",
            "total": f"{rnd.uniform(5, 500):.2f}" if i % 7 else None,
            "quantity": rnd.randint(1, 10),
            "note": rnd.choice(["", "n/a", "rush", None, "gift"]),
            "shipping": {"city": rnd.choice(["Oslo", "Lyon", "Kyiv"]), "express": i % 2 == 0},
            "lines": lines,
            "tags": rnd.sample(["new", "vip", "promo", "bulk"], k=rnd.randint(0, 2)),
        })
    return {"customers": customers, "employees": employees, "orders": orders}


SHOP_TRUTH: dict[str, Any] = {
    "classes": {"Customer", "Employee", "Order", "Shipping", "Line"},
    "types": {
        ("Customer", "id"): "integer", ("Customer", "name"): "string",
        ("Customer", "website"): "anyURI", ("Customer", "credit_limit"): "decimal",
        ("Customer", "zip"): "string",
        ("Employee", "employee_no"): "string", ("Employee", "name"): "string",
        ("Employee", "email"): "string", ("Employee", "hired_on"): "date",
        ("Employee", "active"): "boolean",
        ("Order", "order_id"): "integer", ("Order", "ordered_at"): "dateTime",
        ("Order", "total"): "decimal", ("Order", "quantity"): "integer",
        ("Order", "note"): "string", ("Order", "tags"): "JSON",
        ("Shipping", "city"): "string", ("Shipping", "express"): "boolean",
        ("Line", "sku"): "string", ("Line", "quantity"): "integer",
        ("Line", "unit_price"): "decimal",
    },
    "keys": {"Customer": ["id"], "Employee": ["employee_no"], "Order": ["order_id"]},
    "relationships": {
        ("Order", "customer_id"): ("Customer", True),
        ("Order", "approver"): ("Employee", True),
        ("Employee", "manager"): ("Employee", True),
        ("Order", "shipping"): ("Shipping", True),
        ("Order", "lines"): ("Line", False),
    },
}


def library(seed: int = 11) -> dict[str, list[dict[str, Any]]]:
    """members, authors, books (nested publisher, co-author lists) and loans."""
    rnd = random.Random(seed)
    authors = [{"author_id": 10 + i, "full_name": f"Author {i}",
                "born": rnd.choice([f"19{50 + i % 40}-02-0{1 + i % 8}", None, "unknown"])}
               for i in range(40)]
    members = [{"member_code": f"M-{i:04d}", "joined": f"2023-0{1 + i % 9}-1{i % 9}T08:00:00",
                "age": rnd.choice([str(20 + i % 50), 20 + i % 50, None]),
                "homepage": rnd.choice(["https://m.example.org/" + str(i), None])}
               for i in range(80)]
    books = []
    for i in range(120):
        books.append({
            "isbn": f"978{rnd.randint(10**9, 10**10 - 1)}",
            "title": f"Book {i}",
            "author_id": 10 + rnd.randint(0, 39),
            "co_authors": [10 + rnd.randint(0, 39) for _ in range(rnd.randint(0, 2))],
            "price": rnd.choice([9.99, "12.50", 20, "7"]),
            "in_print": rnd.choice([True, False, "true"]),
            "publisher": {"name": rnd.choice(["Acme", "Blue", "Crane"]), "founded": 1900 + i % 80},
        })
    loans = []
    for i in range(300):
        loans.append({
            "loan_no": i + 1,
            "book": rnd.choice(books)["isbn"],
            "borrower": f"M-{rnd.randint(0, 79):04d}",
            "lent_at": rnd.choice([f"2024-04-{1 + i % 28:02d}", f"2024-04-{1 + i % 28:02d}T10:00:00Z"]),
            "returned": rnd.choice([True, False, None]),
            "fee": rnd.choice(["0.50", "1", None, ""]),
        })
    return {"authors": authors, "members": members, "books": books, "loans": loans}


LIBRARY_TRUTH: dict[str, Any] = {
    "classes": {"Author", "Member", "Book", "Publisher", "Loan"},
    "types": {
        ("Author", "author_id"): "integer", ("Author", "full_name"): "string",
        ("Author", "born"): "string",
        ("Member", "member_code"): "string", ("Member", "joined"): "dateTime",
        ("Member", "age"): "integer", ("Member", "homepage"): "anyURI",
        ("Book", "isbn"): "integer", ("Book", "title"): "string",
        ("Book", "price"): "decimal", ("Book", "in_print"): "boolean",
        ("Publisher", "name"): "string", ("Publisher", "founded"): "integer",
        ("Loan", "loan_no"): "integer", ("Loan", "lent_at"): "dateTime",
        ("Loan", "returned"): "boolean", ("Loan", "fee"): "decimal",
    },
    "keys": {"Author": ["author_id"], "Member": ["member_code"], "Book": ["isbn"],
             "Loan": ["loan_no"]},
    "relationships": {
        ("Book", "author_id"): ("Author", True),
        ("Book", "co_authors"): ("Author", False),
        ("Book", "publisher"): ("Publisher", True),
        ("Loan", "book"): ("Book", True),
        ("Loan", "borrower"): ("Member", True),
    },
}


def score(model: Any, truth: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """(precision, recall) per element kind of an extracted model against `truth`."""
    from ontology.model import DatatypeProperty, local_name

    def pr(found: set[Any], expected: set[Any]) -> tuple[float, float]:
        hits = len(found & expected)
        return (hits / len(found) if found else 1.0, hits / len(expected) if expected else 1.0)

    classes = {c.name for c in model.classes}
    types = set()
    rels = set()
    for p in model.properties:
        owner = local_name(p.domain[0])
        if isinstance(p, DatatypeProperty):
            types.add(((owner, p.name), local_name(p.range or "")))
        else:
            rels.add(((owner, p.name), (local_name(p.range[0]), p.functional)))
    keys = {(c.name, tuple(local_name(k) for k in c.key)) for c in model.classes if c.key}
    result = {
        "classes": pr(classes, set(truth["classes"])),
        "attributes": pr({t[0] for t in types}, set(truth["types"])),
        "types": pr(types, set(truth["types"].items())),
        "keys": pr(keys, {(c, tuple(k)) for c, k in truth["keys"].items()}),
        "relationships": pr(rels, set(truth["relationships"].items())),
    }
    # the annotations messy sources need (scored only where the truth lists them)
    extras = {
        "units": lambda p: getattr(p, "unit", None),
        "date_orders": lambda p: getattr(p, "date_order", None),
        "match_on": lambda p: local_name(p.match_on) if getattr(p, "match_on", None) else None,
    }
    for kind, read in extras.items():
        if kind in truth:
            found = {((local_name(p.domain[0]), p.name), read(p))
                     for p in model.properties if read(p) is not None}
            result[kind] = pr(found, set(truth[kind].items()))
    return result
