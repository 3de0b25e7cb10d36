"""Ontology extraction quality and speed on generated data sets with known ground truth.

Prints precision, recall and F1 per element kind (classes, attributes, XSD types, keys,
relationships) for each data set — the clean ones (shop, library) and the messy multi-source
ones (wind, fleet: BOMs, headers with units, mixed date formats, yes/no booleans, quoted and
padded values, shared nested objects, references by name or e-mail, link tables; see
tests/ontology/messy.py), where units, date orders and by-name matches are scored too — and
the extraction time per 100k input records on a scaled-up copy of the shop data set. Figures,
never assertions (tests/ontology/test_extract.py and test_messy.py hold the quality bar).

    .venv/bin/python bench/extraction.py [--scale 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ontology import extract
from tests.ontology.datasets import LIBRARY_TRUTH, SHOP_TRUTH, library, score, shop
from tests.ontology.messy import FLEET_TRUTH, WIND_TRUTH, fleet, wind

BASE = "https://example.org/bench#"


def f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100, help="shop size multiplier for timing")
    args = parser.parse_args()

    print(f"{'data set':10} {'kind':14} {'precision':>9} {'recall':>7} {'F1':>6}")
    for name, sources, truth in (
        ("shop", shop(), SHOP_TRUTH),
        ("library", library(), LIBRARY_TRUTH),
        ("wind", wind(), WIND_TRUTH),
        ("fleet", fleet(), FLEET_TRUTH),
    ):
        model = extract(sources, base_iri=BASE).model
        for kind, (precision, recall) in score(model, truth).items():
            print(
                f"{name:10} {kind:14} {precision:9.3f} {recall:7.3f} {f1(precision, recall):6.3f}"
            )

    big = shop(n_customers=60 * args.scale, n_employees=25 * args.scale, n_orders=200 * args.scale)
    records = sum(len(rows) for rows in big.values())
    start = time.perf_counter()
    extract(big, base_iri=BASE)
    seconds = time.perf_counter() - start
    print(
        f"\nshop x{args.scale}: {records:,} top-level records in {seconds:.2f} s "
        f"= {seconds * 100_000 / records:.2f} s per 100k records"
    )


if __name__ == "__main__":
    main()
