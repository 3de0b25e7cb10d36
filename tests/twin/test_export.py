"""The streamed export is exactly the view: parsed back, it equals the oracle's triples."""

from __future__ import annotations

import pytest
from rdflib import Graph

from tests.twin.conftest import Loaded
from tests.twin.oracle import ours, theirs
from twin import export

pytestmark = pytest.mark.usefixtures("twin_backend")


@pytest.mark.parametrize("fmt", ["nt", "turtle"])
def test_export_round_trips(plant: Loaded, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "CHUNK", 97)  # many chunks: their concatenation must parse
    chunks = list(export.stream(plant.view, fmt))  # type: ignore[arg-type]
    assert len(chunks) > 3
    graph = Graph().parse(data=b"".join(chunks).decode(), format=fmt)
    got = {(ours(s), ours(p), ours(o)) for s, p, o in graph}
    want = {(theirs(q.subject), theirs(q.predicate), theirs(q.object)) for q in plant.oracle}
    assert got == want and len(got) == len(plant.oracle)
