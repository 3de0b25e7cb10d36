"""Bad pipeline files each give their precise error: line, column, path and what was expected —
through the compiler and through `mimir pipeline lint`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from flows.pipeline.errors import PipelineInvalid
from tests.utils.servers import VENV_BIN

BAD = Path(__file__).parent / "bad"
EXAMPLES = Path(__file__).resolve().parents[2] / "flows" / "examples"

CASES = [
    ("tabs.yaml", 4, "", "tab characters are not allowed"),
    ("duplicate-keys.yaml", 7, "steps[0].with", "duplicate key 'with'"),
    (
        "unknown-action.yaml",
        5,
        "steps[0].action",
        "unknown action 'http.reqest'; did you mean http.request?",
    ),
    ("wrong-param-type.yaml", 8, "steps[0].with.timeout", "valid number"),
    ("dangling-goto.yaml", 9, "steps[1].with.target", "jump target 'strat' is not a step"),
    (
        "unknown-step-template.yaml",
        9,
        "steps[1].with.data",
        "steps.fetsh, but no step or context key is named 'fetsh'",
    ),
    (
        "notify-in-ingestion.yaml",
        8,
        "steps[1].action",
        "'notify' is only allowed in output pipelines, not ingestion",
    ),
    ("ingestion-without-storage.yaml", 3, "steps", "must write to storage"),
    (
        "unknown-param.yaml",
        8,
        "steps[0].with.url",
        "params.sinse, but no parameter 'sinse' is declared",
    ),
    ("bad-schedule.yaml", 3, "schedule", "exactly one of 'cron' or 'interval'"),
    ("bad-cron.yaml", 4, "schedule.cron", "invalid cron expression 'every monday'"),
]


@pytest.mark.parametrize(("name", "line", "path", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_file_reports_precise_error(
    compile_text, name: str, line: int, path: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PipelineInvalid) as caught:
        compile_text((BAD / name).read_text())
    matching = [i for i in caught.value.issues if message in i.message and i.path.startswith(path)]
    assert matching, f"no issue with {path!r}/{message!r} in {caught.value.issues}"
    assert matching[0].line == line
    assert matching[0].column is not None


def test_all_problems_are_reported_at_once(compile_text) -> None:  # type: ignore[no-untyped-def]
    text = """
name: Many-Problems
type: sideways
steps:
  - name: a
    action: nope
  - name: a
    action: goto
    with: {target: b}
"""
    with pytest.raises(PipelineInvalid) as caught:
        compile_text(text)
    paths = {i.path for i in caught.value.issues}
    assert {"name", "type", "steps[0].action", "steps[1].name", "steps[1].with.target"} <= paths


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_lint_cli_prints_file_line_column(name: str) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "mimir"), "pipeline", "lint", str(BAD / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    line = next(c[1] for c in CASES if c[0] == name)
    assert f"{BAD / name}:{line}:" in result.stderr


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_compiles(compile_text, example: Path) -> None:  # type: ignore[no-untyped-def]
    plan = compile_text(example.read_text())
    assert plan.document.name == example.stem


def test_examples_validate_against_the_published_json_schema() -> None:
    import jsonschema
    import yaml

    from flows.pipeline.schema import json_schema

    schema = json_schema()
    for example in EXAMPLES.glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(example.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "type": "weird", "steps": []}, schema)


def test_schema_cli_prints_json_schema() -> None:
    import json

    result = subprocess.run(
        [str(VENV_BIN / "mimir"), "pipeline", "schema"], capture_output=True, text=True, timeout=60
    )
    schema = json.loads(result.stdout)
    assert schema["title"] == "Mimir AIP pipeline"
    assert "steps" in schema["required"]
