"""`mimir pipeline …`: lint, schema, dry-run, run and test pipeline files locally.

`lint`, `schema` and `dry-run` touch nothing outside the process. `run` and `test` execute the
real compiled flow in this process (a Prefect flow run: against PREFECT_API_URL when set, else
the running `mimir up`'s Prefect server, else Prefect's temporary local server — said on stderr).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.pipeline.loader import YamlSyntaxError, load_plain_yaml

pipeline_app = typer.Typer(
    help="Lint, inspect, run and test pipeline YAML files.", no_args_is_help=True
)

FileArg = Annotated[Path, typer.Argument(help="Pipeline YAML file.", exists=True, dir_okay=False)]


def _compile(path: Path) -> Any:
    from flows.actions.registry import load_registry
    from flows.pipeline.compiler import compile_pipeline
    from flows.pipeline.errors import PipelineInvalid

    try:
        return compile_pipeline(path.read_text(), load_registry(), source=str(path))
    except PipelineInvalid as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def _parse_params(values: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep:
            typer.echo(f"--param {item!r}: expected NAME=VALUE", err=True)
            raise typer.Exit(2)
        try:
            params[key] = load_plain_yaml(raw)
        except YamlSyntaxError as exc:
            typer.echo(f"--param {key}: invalid YAML value: {exc.message}", err=True)
            raise typer.Exit(2) from None
    return params


def _use_prefect() -> Path | None:
    """Point Prefect at the running platform when there is one; returns the Mimir home found."""
    from mimir_api.home import find_home

    choice = find_home()
    source = "PREFECT_API_URL"
    if not os.environ.get("PREFECT_API_URL") and choice.running is not None:
        os.environ["PREFECT_API_URL"] = choice.running.prefect_api_url
        source = f"the running platform on {choice.path}"
    url = os.environ.get("PREFECT_API_URL")
    if url:
        typer.echo(f"mimir: Prefect API {url} ({source})", err=True)
    else:
        typer.echo("mimir: no Prefect API configured; using Prefect's temporary server", err=True)
    return choice.path


@pipeline_app.command("lint")
def lint(files: Annotated[list[Path], typer.Argument(help="Pipeline files.", exists=True)]) -> None:
    """Validate pipeline files; prints every problem as FILE:LINE:COLUMN: PATH: MESSAGE."""
    failed = False
    for path in files:
        try:
            _compile(path)
            typer.echo(f"{path}: ok")
        except typer.Exit:
            failed = True
    if failed:
        raise typer.Exit(1)


@pipeline_app.command("schema")
def schema() -> None:
    """Print the pipeline JSON Schema (point your editor's YAML plugin at it)."""
    from flows.pipeline.schema import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


@pipeline_app.command("dry-run")
def dry_run(path: FileArg) -> None:
    """Compile and print the plan (steps, how each runs) without running anything."""
    typer.echo(json.dumps(_compile(path).describe(), indent=2, default=str))


@pipeline_app.command("run")
def run(
    path: FileArg,
    param: Annotated[
        list[str], typer.Option("--param", "-p", help="NAME=VALUE (YAML value).")
    ] = [],  # noqa: B006
    storage: Annotated[str, typer.Option(help="Storage URL for file/storage steps.")] = "",
) -> None:
    """Run a pipeline file now, in this process, and print its run summary."""
    home = _use_prefect()  # before anything imports Prefect (it reads PREFECT_API_URL once)
    from flows.pipeline.flow import run_pipeline

    plan = _compile(path)
    if not storage:
        if home is not None:
            local = home / "dev-run"
            local.mkdir(parents=True, exist_ok=True)
        else:  # never create a Mimir home as a side effect
            local = Path(tempfile.mkdtemp(prefix="mimir-dev-run-"))
        typer.echo(f"mimir: storage {local}", err=True)
        storage = local.as_uri()
    try:
        summary = run_pipeline.with_options(name=plan.document.name)(
            path.read_text(), _parse_params(param), project="dev", storage_url=storage
        )
    except Exception as exc:
        typer.echo(f"run failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(summary, indent=2, default=str))


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items()
        )
    return bool(expected == actual)


@pipeline_app.command("test")
def test(
    path: FileArg,
    cases: Annotated[
        Path, typer.Argument(help="Test file: cases with params, stubs, expect.", exists=True)
    ],
) -> None:
    """Run the real compiled flow once per test case, with stubbed step outputs, and check
    the expected status, executed steps and context (a subset match)."""
    _use_prefect()  # before anything imports Prefect (it reads PREFECT_API_URL once)
    from flows.pipeline.flow import run_pipeline

    plan = _compile(path)
    try:
        spec = load_plain_yaml(cases.read_text()) or {}
    except YamlSyntaxError as exc:
        typer.echo(f"{cases}:{exc.line or 1}:{exc.column or 1}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    failures = 0
    for case in spec.get("cases", []):
        name = case.get("name", "case")
        expect = case.get("expect", {})
        try:
            summary = run_pipeline.with_options(name=plan.document.name)(
                path.read_text(),
                case.get("params", {}),
                project="test",
                storage_url=case.get("storage_url", ""),
                stubs=case.get("stubs", {}),
            )
        except Exception as exc:
            summary = {"status": "failed", "error": str(exc), "context": {}, "executed": []}
        problems = []
        if "status" in expect and summary["status"] != expect["status"]:
            problems.append(
                f"status {summary['status']!r} != {expect['status']!r} ({summary.get('error')})"
            )
        if "executed" in expect and summary["executed"] != expect["executed"]:
            problems.append(f"executed {summary['executed']} != {expect['executed']}")
        if "context" in expect and not _subset(expect["context"], summary["context"]):
            problems.append(
                f"context {json.dumps(summary['context'], default=str)[:500]} "
                f"lacks {expect['context']}"
            )
        if "error_contains" in expect and expect["error_contains"] not in str(summary.get("error")):
            problems.append(f"error {summary.get('error')!r} lacks {expect['error_contains']!r}")
        failures += bool(problems)
        typer.echo(f"{'FAIL' if problems else 'ok  '} {name}")
        for problem in problems:
            typer.echo(f"     {problem}")
    typer.echo(f"{len(spec.get('cases', [])) - failures} passed, {failures} failed")
    if failures or not spec.get("cases"):
        raise typer.Exit(1)
