"""Differential correctness: every corpus query gives pyoxigraph's answer on a materialised copy.

Runs on SQLite, PostgreSQL, MariaDB and the object store. Each query runs twice on SQL backends:
through the engine as a user would (SQL where it translates) and with SQL disabled (rdflib's
evaluator over the virtual store), so both paths are checked against the oracle. The
terminal summary lists which queries ran as SQL.

History: the shop corpus also runs ``as_of`` the end of a load whose every row was rewritten
(and some deleted) afterwards; the oracle is the copy materialised before the changes.
"""

from __future__ import annotations

import pytest

from tests.twin.conftest import Loaded, Past
from tests.twin.corpus import SHOP, Case, corpus
from tests.twin.oracle import actual, expected, same
from twin.engine import run_query

CASES = corpus()
SHOP_CASES = [Case(i, "shop", q, o) for i, q, o in SHOP]
RAN_AS_SQL: dict[str, set[str]] = {}


@pytest.fixture
def data(case: Case, twin_backend: str, request: pytest.FixtureRequest) -> Loaded:
    loaded: Loaded = request.getfixturevalue(case.dataset)
    return loaded


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)


def test_query_matches_oracle(case: Case, data: Loaded) -> None:
    want = expected(data.oracle, case.text)
    result = run_query(data.view, case.text)
    got = actual(result)
    assert same(got, want, ordered=case.ordered), (
        f"{case.id} on {data.backend} ({'SQL' if result.ran_as_sql else 'rdflib'}):\n"
        f"got  {got}\nwant {want}\nSQL: {result.sql}")
    if result.ran_as_sql:
        RAN_AS_SQL.setdefault(data.backend, set()).add(case.id)
    if data.store.__class__.__name__ == "SQLStoragePlugin" and result.ran_as_sql:
        fallback = run_query(data.view, case.text, allow_sql=False)
        assert not fallback.ran_as_sql
        assert same(actual(fallback), want, ordered=case.ordered), f"{case.id} via rdflib"


@pytest.mark.parametrize("shop_case", SHOP_CASES, ids=[c.id for c in SHOP_CASES])
def test_query_as_of_matches_oracle(shop_case: Case, shop_past: Past) -> None:
    want = expected(shop_past.oracle, shop_case.text)
    result = run_query(shop_past.view, shop_case.text)
    got = actual(result)
    assert same(got, want, ordered=shop_case.ordered), (
        f"{shop_case.id} as_of on {shop_past.backend} "
        f"({'SQL' if result.ran_as_sql else 'rdflib'}):\ngot  {got}\nwant {want}\n"
        f"SQL: {result.sql}")
    if result.ran_as_sql:
        RAN_AS_SQL.setdefault(f"{shop_past.backend} as_of", set()).add(shop_case.id)
        fallback = run_query(shop_past.view, shop_case.text, allow_sql=False)
        assert same(actual(fallback), want, ordered=shop_case.ordered), \
            f"{shop_case.id} as_of via rdflib"
