"""`mimir pipeline dry-run | run | test` on real files, with real Prefect flow runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.utils.servers import VENV_BIN, PrefectServer, prefect_env

EXAMPLES = Path(__file__).resolve().parents[2] / "flows" / "examples"


@pytest.fixture
def env(session_prefect: PrefectServer, tmp_path: Path) -> dict[str, str]:
    environment = prefect_env(session_prefect.home, session_prefect.api_url)
    environment["MIMIR_HOME"] = str(tmp_path / "home")
    return environment


def mimir(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "mimir"), *args], env=env, capture_output=True, text=True, timeout=180, cwd=cwd)


def test_dry_run_prints_the_plan_without_running(env: dict[str, str]) -> None:
    result = mimir(env, "pipeline", "dry-run", str(EXAMPLES / "fetch-orders.yaml"))
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [(s["name"], s["runs_as"]) for s in plan["steps"]] == [
        ("page", "task run"), ("rows", "task run"), ("save", "task run"), ("more", "inline")
    ]


def test_fixture_tests_run_the_real_flow(env: dict[str, str]) -> None:
    result = mimir(env, "pipeline", "test", str(EXAMPLES / "fetch-orders.yaml"), str(EXAMPLES / "tests" / "fetch-orders.cases.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed, 0 failed" in result.stdout


def test_a_failing_expectation_fails_the_command(env: dict[str, str], tmp_path: Path) -> None:
    cases = tmp_path / "wrong.test.yaml"
    cases.write_text(
        "cases:\n  - name: wrong\n    stubs:\n      page: {status: 200, body: {items: [], next: null}}\n"
        "      save: {rows: 0}\n    expect:\n      executed: [page, save]\n"
    )
    result = mimir(env, "pipeline", "test", str(EXAMPLES / "fetch-orders.yaml"), str(cases))
    assert result.returncode == 1
    assert "FAIL wrong" in result.stdout and "0 passed, 1 failed" in result.stdout


def test_run_executes_locally_with_parameters(env: dict[str, str], tmp_path: Path) -> None:
    pipeline = tmp_path / "local.yaml"
    pipeline.write_text(
        "name: local-run\ntype: processing\nparameters:\n  who: {type: string, default: nobody}\n"
        "steps:\n  - name: greet\n    action: report.render\n"
        "    with: {path: x.md, format: markdown, template: hi, data: 1}\n"
    )
    refused = mimir(env, "pipeline", "run", str(pipeline))
    assert refused.returncode == 1 and "only allowed in output pipelines" in refused.stderr
    pipeline.write_text(
        "name: local-run\ntype: processing\nparameters:\n  who: {type: string, default: nobody}\n"
        "steps:\n  - name: greet\n    action: file.write\n    with: {path: hello.txt, content: 'hello {{ params.who }}'}\n"
    )
    storage = tmp_path / "store"
    storage.mkdir()
    result = mimir(env, "pipeline", "run", str(pipeline), "--param", "who=ada", "--storage", storage.as_uri())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "completed"
    assert (storage / "hello.txt").read_text() == "hello ada"
    assert os.path.exists(storage / "hello.txt")
