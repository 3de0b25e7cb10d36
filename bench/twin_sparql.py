"""Benchmark the twin's SPARQL engine against pyoxigraph and rdflib, in one run (ratios).

Data: the plant data set of the twin tests (sites, sensors, readings; readings reference
sensors, sensors reference sites and each other), written into SQLite and PostgreSQL through
the ontology pipeline. The twin answers from storage; pyoxigraph answers from a materialised
copy (its load time is reported on its own); rdflib answers from an in-memory Graph of the
same triples. Every answer is checked to be the same size as pyoxigraph's.

Query shapes (the issue's): a selective BGP + FILTER, a GROUP BY aggregate over everything,
a two-hop join along relationships, and the same join inside a what-if scenario with 1,000
edits (each sets a reading's value), which the evaluator answers over the overlaid view.

    .venv/bin/python bench/twin_sparql.py --readings 20000          # ~125k triples
    .venv/bin/python bench/twin_sparql.py --readings 160000 --rdflib-max 200000   # ~1M

Ratios: twin / pyoxigraph (goal ≤ 2) and rdflib / twin (goal ≥ 10). Never asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from rdflib import Graph

from storage_plugins.base import StoragePlugin
from storage_plugins.sql import SQLConfig, SQLStoragePlugin
from tests.twin import datasets
from tests.twin.conftest import oracle_of
from tests.twin.corpus import PLANT_PREFIXES
from twin.engine import run_query
from twin.scenario import ScenarioView, check_edit
from twin.view import TwinView

QUERIES = {
    "selective BGP+FILTER": (
        "SELECT ?r ?v WHERE { ?r rd:sensor <http://ex.org/plant/data/Sensor/7> ; rd:value ?v "
        "FILTER(?v > 60) }"),
    "GROUP BY over all": (
        "SELECT ?s (COUNT(?r) AS ?n) (MAX(?v) AS ?hi) WHERE { ?r rd:sensor ?s ; rd:value ?v } "
        "GROUP BY ?s"),
    "two-hop join": (
        'SELECT ?r ?v WHERE { ?site site:region "north" . ?s sensor:site ?site . '
        "?r rd:sensor ?s ; rd:value ?v FILTER(?v > 110) }"),
}
SCENARIO_QUERY = "two-hop join"
SCENARIO_EDITS = 1_000
POSTGRES = os.environ.get("MIMIR_TEST_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def timed(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_backend(name: str, store: StoragePlugin, readings: int, rdflib_max: int,
                repeat: int) -> None:
    records = datasets.plant_records(readings // 2)
    started = time.perf_counter()
    mapping = datasets.load(store, datasets.plant_model(), records)
    print(f"\n## {name}: {len(records['Reading'])} readings written in "
          f"{time.perf_counter() - started:.1f} s")
    view = TwinView(store, [mapping])
    started = time.perf_counter()
    triples = list(view.triples(None, None, None))
    extract_s = time.perf_counter() - started
    started = time.perf_counter()
    oracle = oracle_of(view)
    ox_load = time.perf_counter() - started
    print(f"{len(triples):,} triples; materialise {extract_s:.2f} s; "
          f"pyoxigraph load {ox_load:.2f} s (excluded from its query times)")
    graph = None
    if len(triples) <= rdflib_max:
        graph = Graph()
        started = time.perf_counter()
        for t in triples:
            graph.add(t)
        print(f"rdflib in-memory load {time.perf_counter() - started:.2f} s")
    del triples
    print("\n| query | twin (s) | SQL | pyoxigraph (s) | rdflib (s) | twin/oxigraph | "
          "rdflib/twin |")
    print("|---|---|---|---|---|---|---|")
    for label, body in QUERIES.items():
        text = PLANT_PREFIXES + body
        t_twin, res = timed(lambda text=text: run_query(view, text), repeat)
        t_ox, ox_rows = timed(lambda text=text: list(oracle.query(text)), repeat)
        assert len(res.bindings) == len(ox_rows), (label, len(res.bindings), len(ox_rows))
        t_rdf = float("nan")
        if graph is not None:
            t_rdf, rows = timed(lambda text=text: list(graph.query(text)), 1)
            assert len(rows) == len(ox_rows)
        print(f"| {label} | {t_twin:.4f} | {'yes' if res.ran_as_sql else 'no'} | {t_ox:.4f} | "
              f"{t_rdf:.4f} | {t_twin / t_ox:.2f} | {t_rdf / t_twin:.1f} |")
    run_scenario_shape(view, repeat)
    print(f"\npeak RSS of this process so far: {rss_mb():.0f} MB")


def run_scenario_shape(view: TwinView, repeat: int) -> None:
    """The two-hop join inside a scenario whose 1,000 edits move readings above the filter."""
    # the edits as the service makes them (`check_edit`: the property's datatype, xsd:double)
    edits = [check_edit(view, "set_attribute", f"http://ex.org/plant/data/Reading/{i}", "value",
                        115.5, None)
             for i in range(1, SCENARIO_EDITS + 1)]
    scenario = ScenarioView(view, edits)
    started = time.perf_counter()
    oracle = oracle_of(scenario)
    print(f"\nscenario with {len(edits):,} edits: pyoxigraph load of its materialised copy "
          f"{time.perf_counter() - started:.2f} s (excluded)")
    text = PLANT_PREFIXES + QUERIES[SCENARIO_QUERY]
    t_twin, res = timed(lambda: run_query(scenario, text), repeat)
    t_ox, ox_rows = timed(lambda: list(oracle.query(text)), repeat)
    t_eval, _ = timed(lambda: run_query(scenario, text, allow_sql=False), 1)
    base = run_query(view, text)
    assert len(res.bindings) == len(ox_rows), (len(res.bindings), len(ox_rows))
    print(f"| {SCENARIO_QUERY} in the scenario | {t_twin:.4f} | "
          f"{'yes' if res.ran_as_sql else 'no'} | {t_ox:.4f} | n/a | {t_twin / t_ox:.2f} | n/a |")
    print(f"(the evaluator, allow_sql=False, in the same scenario: {t_eval:.4f} s)")
    print(f"(base answer {len(base.bindings)} rows, scenario answer {len(res.bindings)} rows"
          + (f"; not SQL: {res.fallback_reason})" if not res.ran_as_sql else ")"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readings", type=int, default=20_000)
    parser.add_argument("--rdflib-max", type=int, default=300_000,
                        help="skip rdflib above this many triples (its load is slow)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                store = SQLStoragePlugin(SQLConfig(url=f"sqlite:///{folder}/bench.db"))
                run_backend("sqlite", store, args.readings, args.rdflib_max, args.repeat)
                store.close()
        else:
            admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
            db = f"mimir_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
            try:
                url = sa.engine.make_url(POSTGRES).set(database=db)
                store = SQLStoragePlugin(SQLConfig(url=url.render_as_string(hide_password=False)))
                run_backend("postgresql", store, args.readings, args.rdflib_max, args.repeat)
                store.close()
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                admin.dispose()


if __name__ == "__main__":
    main()
