"""`storage.load` streams project files into storage in batches, as real Prefect flow runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.raw_area import raw_table_name
from domain.stores import open_store
from flows.pipeline.flow import PipelineRunFailed


def pipeline(path: str, fmt: str, batch: int, target: str = "source: readings") -> str:
    return f"""
name: load-readings
type: ingestion
steps:
  - name: load
    action: storage.load
    with: {{path: {path}, format: {fmt}, batch_size: {batch}, {target}}}
"""


def raw_rows(run_flow: Any, source: str) -> list[dict[str, Any]]:
    store = open_store(run_flow.storage.as_uri())  # the default store; no Prefect lookup
    try:
        table = raw_table_name(source)
        if table not in store.tables():
            return []
        return [row for batch in store.iter_batches(table) for row in batch]
    finally:
        store.close()


def test_csv_with_bom_loads_in_batches_and_keeps_context_small(
    run_flow: Callable[..., dict[str, Any]],
) -> None:
    lines = ["reading_id,sensor,value"] + [f"r{i},s{i % 7},{i * 0.5}" for i in range(25_000)]
    (run_flow.storage / "sources").mkdir()
    (run_flow.storage / "sources" / "readings.csv").write_text("\ufeff" + "\n".join(lines) + "\n")

    summary = run_flow(pipeline("sources/readings.csv", "csv", 10_000))

    output = summary["context"]["load"]
    assert output["rows"] == 25_000 and output["batches"] == 3
    assert summary["context_bytes"] < 1_000  # counts only, never the records
    rows = raw_rows(run_flow, "readings")
    assert len(rows) == 25_000
    # The byte-order mark did not become part of the first column's name.
    assert any(v == "r24999" for v in rows[-1].values()) or any(
        r.get("reading_id") == "r24999" for r in rows
    )
    assert all(not str(k).startswith("\ufeff") for k in rows[0])


def test_jsonl_bad_line_stops_with_its_position_and_keeps_earlier_batches(
    run_flow: Callable[..., dict[str, Any]],
) -> None:
    good = [f'{{"id": {i}, "v": {i}}}' for i in range(10)]
    (run_flow.storage / "data.jsonl").write_text("\n".join([*good, "{broken", *good]) + "\n")

    with pytest.raises(PipelineRunFailed) as failure:
        run_flow(pipeline("data.jsonl", "jsonl", 5, target="source: events"))

    assert "JSON Lines line 11" in str(failure.value)
    assert len(raw_rows(run_flow, "events")) == 10  # the two complete batches before it


def test_missing_file_and_escaping_path_are_refused(
    run_flow: Callable[..., dict[str, Any]],
) -> None:
    with pytest.raises(PipelineRunFailed, match="does not exist"):
        run_flow(pipeline("nope.csv", "csv", 10))
    with pytest.raises(PipelineRunFailed, match="escapes the project storage"):
        run_flow(pipeline("../outside.csv", "csv", 10))
    assert raw_rows(run_flow, "readings") == []
