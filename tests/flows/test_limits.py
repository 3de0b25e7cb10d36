"""The in-context limits (`http.request` body size, `csv.parse` rows) are settings that protect
the worker, fail with the step, the position and the setting to change, and have a streaming
way round them: `http.request save_to:` into a project file, then `storage.load`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from domain.raw_area import raw_table_name
from domain.stores import open_store
from flows.settings import RuntimeSettings, runtime_settings
from tests.utils.http_server import HTTPFixture

ROWS = 2_000  # about 40 KB of CSV


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch, allow_local_http: None) -> Iterator[None]:
    """An operator who set small in-context limits (the defaults are 10 MiB and 100,000 rows)."""
    monkeypatch.setenv("MIMIR_HTTP_MAX_RESPONSE_BYTES", "4096")
    monkeypatch.setenv("MIMIR_CSV_MAX_ROWS", "100")
    runtime_settings.cache_clear()
    yield
    runtime_settings.cache_clear()


def test_defaults_are_documented_settings() -> None:
    defaults = RuntimeSettings()
    assert defaults.http_max_response_bytes == 10 * 1024 * 1024
    assert defaults.csv_max_rows == 100_000
    assert defaults.http_max_download_bytes == 1024 * 1024 * 1024
    for name in ("http_max_response_bytes", "http_max_download_bytes", "csv_max_rows"):
        described = RuntimeSettings.model_fields[name].description or ""
        assert f"MIMIR_{name.upper()}" in described


def test_a_large_response_in_context_fails_naming_the_step_and_the_way_out(
    run_flow: Callable[..., dict[str, Any]], http_server: HTTPFixture, small_limits: None
) -> None:
    text = f"""
name: fetch
type: processing
steps:
  - name: export
    action: http.request
    with: {{url: "{http_server.url}/readings.csv?rows={ROWS}"}}
"""
    with pytest.raises(Exception) as failed:
        run_flow(text)
    message = str(failed.value)
    assert "step 'export'" in message
    assert "over 4096 bytes (MIMIR_HTTP_MAX_RESPONSE_BYTES)" in message
    assert "save_to:" in message and "storage.load" in message


def test_csv_parse_row_cap_names_the_line_and_the_setting(
    run_flow: Callable[..., dict[str, Any]], small_limits: None
) -> None:
    rows = "\\n".join(f"{i},x" for i in range(150))
    text = f"""
name: parse
type: processing
steps:
  - name: rows
    action: csv.parse
    with: {{text: "id,name\\n{rows}\\n"}}
"""
    with pytest.raises(Exception) as failed:
        run_flow(text)
    message = str(failed.value)
    assert "step 'rows'" in message
    assert "CSV line 102: more than 100 rows (MIMIR_CSV_MAX_ROWS)" in message
    assert "storage.load" in message
    # a step may ask for less than the setting, never more
    lower = text.replace('\\n"}', '\\n", max_rows: 20}')
    assert lower != text
    with pytest.raises(Exception, match=r"CSV line 22: more than 20 rows \(max_rows\)"):
        run_flow(lower)


def test_save_to_streams_a_large_export_into_storage_in_batches(
    run_flow: Callable[..., dict[str, Any]], http_server: HTTPFixture, small_limits: None
) -> None:
    text = f"""
name: fetch-and-load
type: ingestion
steps:
  - name: export
    action: http.request
    with: {{url: "{http_server.url}/readings.csv?rows={ROWS}", save_to: downloads/readings.csv}}
  - name: load
    action: storage.load
    with: {{path: "{{{{ steps.export.path }}}}", source: readings, batch_size: 500}}
"""
    summary = run_flow(text)
    export = summary["context"]["export"]
    assert export["path"] == "downloads/readings.csv" and export["size"] > 4096
    assert "body" not in export  # the body never entered the context
    assert summary["context"]["load"]["rows"] == ROWS
    assert summary["context"]["load"]["batches"] == ROWS // 500
    saved = run_flow.storage / "downloads"  # type: ignore[attr-defined]
    assert sorted(p.name for p in saved.iterdir()) == ["readings.csv"]  # no .part left
    store = open_store(run_flow.storage.as_uri())  # type: ignore[attr-defined]
    try:
        assert store.count(raw_table_name("readings")) == ROWS
    finally:
        store.close()


def test_save_to_over_the_download_cap_leaves_nothing(
    run_flow: Callable[..., dict[str, Any]], http_server: HTTPFixture, small_limits: None
) -> None:
    text = f"""
name: fetch-capped
type: processing
steps:
  - name: export
    action: http.request
    with:
      url: "{http_server.url}/readings.csv?rows={ROWS}"
      save_to: downloads/readings.csv
      max_bytes: 2048
"""
    with pytest.raises(
        Exception, match=r"step 'export': .* over 2048 bytes \(max_bytes\); nothing"
    ):
        run_flow(text)
    assert not (run_flow.storage / "downloads" / "readings.csv").exists()  # type: ignore[attr-defined]
    assert not (run_flow.storage / "downloads" / "readings.csv.part").exists()  # type: ignore[attr-defined]
    # a step cannot write into Mimir's reserved area either
    reserved = text.replace("downloads/readings.csv", "_mimir/readings.csv")
    with pytest.raises(Exception, match="pipelines may not write there"):
        run_flow(reserved)


def test_save_to_an_error_answer_fails_and_saves_nothing(
    run_flow: Callable[..., dict[str, Any]], http_server: HTTPFixture, small_limits: None
) -> None:
    text = f"""
name: fetch-missing
type: processing
steps:
  - name: export
    action: http.request
    with: {{url: "{http_server.url}/missing", save_to: downloads/missing.json}}
"""
    with pytest.raises(Exception, match=r"step 'export': .*answered 404"):
        run_flow(text)
    assert not (run_flow.storage / "downloads").exists()  # type: ignore[attr-defined]
