"""Real pipeline runs: each a Prefect flow run on the session's Prefect server, work steps as
task runs, storage in a real SQLite file inside the project's storage folder."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest

from tests.utils.http_server import ORDERS, HTTPFixture
from tests.utils.servers import PrefectServer
from tests.utils.sqlite_rows import user_rows


def task_runs(prefect: PrefectServer, run_id: str) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{prefect.api_url}/task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}}
    )
    return response.json()


def raw_rows(storage, table: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    with sqlite3.connect(storage / "tables.sqlite") as db:
        return user_rows(db, table)


PAGINATED = """
name: paged-orders
type: ingestion
parameters:
  start_url: {type: string, required: true}
steps:
  - name: page
    action: http.request
    with: {url: "{{ steps.page.body.next | default(params.start_url) }}"}
  - name: save
    action: storage.write
    with: {source: orders, rows: "{{ steps.page.body['items'] }}"}
  - name: more
    action: if
    with: {condition: "{{ steps.page.body.next }}", then: page, max_loops: 10}
  - name: count
    action: storage.read
    with: {source: orders, columns: [id, total], order_by: [id]}
"""


def test_paginated_http_ingestion_with_if_loop(
    run_flow, http_server: HTTPFixture, allow_local_http, session_prefect
) -> None:  # type: ignore[no-untyped-def]
    summary = run_flow(PAGINATED, {"start_url": f"{http_server.url}/orders?page=1"})
    assert summary["status"] == "completed"
    assert summary["executed"] == ["page", "save", "more"] * 3 + ["count"]
    rows = summary["context"]["count"]["rows"]
    assert [r["id"] for r in rows] == [o["id"] for o in ORDERS]
    assert rows[1]["total"] == ORDERS[1]["total"]
    # work steps are task runs named after the step; `if` ran inline
    names = sorted(t["name"] for t in task_runs(session_prefect, summary["run_id"]))
    assert names == sorted(["page"] * 3 + ["save"] * 3 + ["count"])


def test_loop_hits_its_bound(run_flow) -> None:  # type: ignore[no-untyped-def]
    text = """
name: endless
type: processing
steps:
  - name: tick
    action: context.update
    with: {key: n, values: {i: "{{ (steps.n.i | default(0)) + 1 }}"}}
  - name: again
    action: goto
    with: {target: tick, max_loops: 25}
"""
    with pytest.raises(
        Exception, match=r"step 'again': loop bound reached: jumped to 'tick' 25 times"
    ):
        run_flow(text)


def test_context_overflow_names_step_and_sizes(
    run_flow, http_server: HTTPFixture, allow_local_http
) -> None:  # type: ignore[no-untyped-def]
    text = f"""
name: overflow
type: processing
context_limit: 4KiB
steps:
  - name: small
    action: context.set
    with: {{key: note, value: hello}}
  - name: huge
    action: http.request
    with: {{url: "{http_server.url}/big?bytes=20000"}}
"""
    with pytest.raises(
        Exception,
        match=r"step 'huge': context limit exceeded: storing \d+ bytes under 'huge' would bring the context to \d+ bytes, over the limit of 4096 bytes",
    ):
        run_flow(text)


def test_retries_recover_through_prefect(
    run_flow, http_server: HTTPFixture, allow_local_http, session_prefect
) -> None:  # type: ignore[no-untyped-def]
    text = f"""
name: flaky
type: processing
steps:
  - name: call
    action: http.request
    with: {{url: "{http_server.url}/flaky/recover?fail=2"}}
    retries: 3
    retry_delay: 0.1
"""
    summary = run_flow(text)
    assert summary["context"]["call"]["body"] == {"ok": True, "attempt": 3}
    [task] = task_runs(session_prefect, summary["run_id"])
    assert task["run_count"] == 3
    assert task["state"]["type"] == "COMPLETED"


def test_permanent_errors_are_not_retried(
    run_flow, http_server: HTTPFixture, allow_local_http
) -> None:  # type: ignore[no-untyped-def]
    text = f"""
name: missing
type: processing
steps:
  - name: call
    action: http.request
    with: {{url: "{http_server.url}/missing"}}
    retries: 3
    retry_delay: 0.1
"""
    before = http_server.calls["/missing"]
    with pytest.raises(Exception, match="answered 404"):
        run_flow(text)
    assert http_server.calls["/missing"] == before + 1


def test_timeout_fails_the_step(run_flow, http_server: HTTPFixture, allow_local_http) -> None:  # type: ignore[no-untyped-def]
    text = f"""
name: slow
type: processing
steps:
  - name: wait
    action: http.request
    with: {{url: "{http_server.url}/slow?seconds=5", timeout: 60}}
    timeout: 1s
"""
    with pytest.raises(Exception, match=r"step 'wait'.*(?i:time)"):
        run_flow(text)


def test_outbound_guard_refuses_private_addresses(run_flow, http_server: HTTPFixture) -> None:  # type: ignore[no-untyped-def]
    text = f"""
name: ssrf
type: processing
steps:
  - name: probe
    action: http.request
    with: {{url: "{http_server.url}/orders"}}
    retries: 2
"""
    before = http_server.calls["/orders"]
    with pytest.raises(Exception, match=r"private/internal address.*MIMIR_HTTP_ALLOWED_HOSTS"):
        run_flow(text)
    assert http_server.calls["/orders"] == before


def test_custom_plugin_action(run_flow) -> None:  # type: ignore[no-untyped-def]
    text = """
name: plugin-use
type: processing
steps:
  - name: loud
    action: example:shout
    with: {text: hello, times: 2}
  - name: words
    action: example:word_count
    with: {texts: ["{{ steps.loud.text }}", "one two three"]}
"""
    summary = run_flow(text)
    assert summary["context"]["loud"] == {"text": "HELLO HELLO", "step": "loud"}
    assert summary["context"]["words"] == {"counts": [2, 3], "total": 5}


def test_failed_batch_leaves_storage_unchanged(run_flow) -> None:  # type: ignore[no-untyped-def]
    first = """
name: seed
type: ingestion
steps:
  - name: save
    action: storage.write
    with: {source: items, rows: [{id: 1, qty: 5}, {id: 2, qty: 7}]}
"""
    run_flow(first)
    before = raw_rows(run_flow.storage, "raw_items")
    assert len(before) == 2
    bad_batch = """
name: seed
type: ingestion
steps:
  - name: save
    action: storage.write
    with: {source: items, rows: [{id: 3, qty: 1}, {id: 4, qty: {nested: true}}]}
"""
    with pytest.raises(
        Exception, match=r"1 record\(s\) rejected, nothing written: row 1 field qty"
    ):
        run_flow(bad_batch)
    assert raw_rows(run_flow.storage, "raw_items") == before


def test_on_error_continue_and_goto(run_flow, http_server: HTTPFixture, allow_local_http) -> None:  # type: ignore[no-untyped-def]
    text = f"""
name: resilient
type: processing
steps:
  - name: try_it
    action: http.request
    with: {{url: "{http_server.url}/missing"}}
    on_error: goto fallback
  - name: never
    action: fail
    with: {{message: should be skipped}}
  - name: fallback
    action: context.set
    with: {{key: used_fallback, value: "{{{{ steps.try_it.error is defined }}}}"}}
  - name: soft
    action: json.parse
    with: {{text: "not json"}}
    on_error: continue
"""
    summary = run_flow(text)
    assert summary["executed"] == ["try_it", "fallback", "soft"]
    assert summary["context"]["used_fallback"] is True
    assert "not valid JSON" in summary["context"]["soft"]["error"]


def test_stop_and_fail(run_flow) -> None:  # type: ignore[no-untyped-def]
    stop = """
name: early
type: processing
steps:
  - name: done
    action: stop
    with: {reason: nothing to do}
  - name: unreachable
    action: fail
    with: {message: "unreachable"}
"""
    summary = run_flow(stop)
    assert summary["status"] == "stopped" and summary["stop_reason"] == "nothing to do"
    fail = stop.replace(
        "action: stop\n    with: {reason: nothing to do}",
        "action: fail\n    with: {message: bad data}\n    on_error: continue",
    )
    with pytest.raises(Exception, match="step 'done': bad data"):
        run_flow(fail)


def test_for_each_transforms_files_and_checkpoints(run_flow) -> None:  # type: ignore[no-untyped-def]
    text = """
name: files-and-more
type: processing
steps:
  - name: last
    action: checkpoint.get
    with: {default: 0}
  - name: doubled
    action: transform.map
    with: {items: [1, 2, 3], template: {n: "{{ item * 2 }}", pos: "{{ index }}"}}
  - name: big
    action: transform.filter
    with: {items: "{{ steps.doubled.result }}", condition: "{{ item.n > 2 }}"}
  - name: renamed
    action: transform.rename
    with: {items: "{{ steps.big.result }}", mapping: {n: value}}
  - name: only
    action: transform.select
    with: {items: "{{ steps.renamed.result }}", fields: [value]}
  - name: each
    action: for_each
    with:
      items: "{{ steps.only.result }}"
      action: file.write
      with: {path: "out/{{ index }}.json", content: "{{ item }}", format: json}
  - name: back
    action: file.read
    with: {path: out/1.json, format: json}
  - name: remember
    action: checkpoint.set
    with: {value: "{{ steps.back.content.value }}"}
"""
    summary = run_flow(text)
    ctx = summary["context"]
    assert ctx["last"] == {"value": 0, "saved": False}
    assert ctx["only"]["result"] == [{"value": 4}, {"value": 6}]
    assert [r["path"] for r in ctx["each"]] == ["out/0.json", "out/1.json"]
    assert ctx["back"]["content"] == {"value": 6}
    second = run_flow(text)
    assert second["context"]["last"] == {"value": 6, "saved": True}


def test_file_paths_cannot_escape_project_storage(run_flow) -> None:  # type: ignore[no-untyped-def]
    text = """
name: escape
type: processing
steps:
  - name: steal
    action: file.read
    with: {path: ../../etc/passwd}
"""
    with pytest.raises(Exception, match="escapes the project storage"):
        run_flow(text)


def test_output_pipeline_report_and_webhook(
    run_flow, http_server: HTTPFixture, allow_local_http
) -> None:  # type: ignore[no-untyped-def]
    text = f"""
name: report-out
type: output
steps:
  - name: report
    action: report.render
    with:
      path: reports/summary.md
      format: markdown
      data: [{{id: 1, total: 10}}, {{id: 2, total: 250}}]
      template: "{{% for o in data %}}- order {{{{ o.id }}}}: {{{{ o.total }}}}\\n{{% endfor %}}"
  - name: csv
    action: report.render
    with: {{path: reports/summary.csv, format: csv, rows: [{{id: 1, total: 10}}]}}
  - name: tell
    action: notify
    with: {{webhook: "{http_server.url}/hook", message: "report at {{{{ steps.report.path }}}}"}}
"""
    summary = run_flow(text)
    assert (
        run_flow.storage / "reports" / "summary.md"
    ).read_text() == "- order 1: 10\n- order 2: 250\n"
    assert (run_flow.storage / "reports" / "summary.csv").read_text().splitlines() == [
        "id,total",
        "1,10",
    ]
    assert summary["context"]["tell"]["sent"] is True
    assert http_server.received[-1]["body"]["message"] == "report at reports/summary.md"


def test_parameters_are_typed(run_flow) -> None:  # type: ignore[no-untyped-def]
    text = """
name: typed
type: processing
parameters:
  n: {type: integer, required: true}
steps:
  - name: echo
    action: context.set
    with: {key: got, value: "{{ params.n + 1 }}"}
"""
    assert run_flow(text, {"n": 41})["context"]["got"] == 42
    with pytest.raises(Exception, match="parameter 'n' must be integer"):
        run_flow(text, {"n": "forty"})
    with pytest.raises(Exception, match="parameter 'n' is required"):
        run_flow(text, {})
