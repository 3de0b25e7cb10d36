"""Whether an ingestion run starts `extract-ontology` is read from the steps that ran, so a
`context.clear` after `storage.write source:` no longer hides the raw write (issue 11 item 2)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from domain.extraction_hold import hold_extraction
from flows.pipeline.flow import _start_extraction_after, _wrote_raw
from flows.pipeline.runtime import InlineRunner, RunInfo, execute
from flows.settings import runtime_settings

INGEST = """
name: land-and-forget
type: ingestion
steps:
  - name: save
    action: storage.write
    with:
      source: sensors
      rows: [{id: 1, value: 2.5}, {id: 2, value: 3.0}]
  - name: tidy
    action: context.clear
    with: {}
"""
BY_CLASS_ONLY = """
name: nothing-raw
type: processing
steps:
  - name: note
    action: context.set
    with: {key: at, value: now}
"""


def _run(compile_text: Any, text: str, tmp_path: Path) -> Any:
    plan = compile_text(text)
    storage = tmp_path / "store"
    storage.mkdir()
    run = RunInfo(id="r1", name="r1", pipeline=plan.document.name, storage_url=str(storage))
    return execute(plan, {}, run, InlineRunner())


def test_raw_write_is_seen_after_context_clear(compile_text: Any, tmp_path: Path) -> None:
    result = _run(compile_text, INGEST, tmp_path)
    assert result.status == "completed", result.error
    assert "save" not in result.context  # the clear removed the step's output
    assert [s.wrote_table for s in result.steps] == ["raw_sensors", None]
    assert _wrote_raw(result) is True


def test_no_raw_write_starts_nothing(compile_text: Any, tmp_path: Path) -> None:
    result = _run(compile_text, BY_CLASS_ONLY, tmp_path)
    assert result.status == "completed", result.error
    assert _wrote_raw(result) is False


def test_a_hold_keeps_ingestion_from_starting_extraction(
    compile_text: Any, tmp_path: Path, caplog: Any, monkeypatch: Any
) -> None:
    result = _run(compile_text, INGEST, tmp_path)
    storage_url = str(tmp_path / "store")
    hold_extraction(storage_url, "sources still landing", "test")
    monkeypatch.setenv("MIMIR_API_URL", "http://127.0.0.1:9")  # would be tried if not held
    runtime_settings.cache_clear()
    run = RunInfo(
        id="r1", name="r1", pipeline="land-and-forget", project="demo", storage_url=storage_url
    )
    logger = logging.getLogger("test.extraction")
    with caplog.at_level(logging.INFO, logger="test.extraction"):
        outcome = _start_extraction_after(result, run, logger)
    runtime_settings.cache_clear()
    assert "on hold for project demo (sources still landing, by test)" in caplog.text
    assert "could not start" not in caplog.text
    assert outcome == {"skipped": "on hold: sources still landing"}
