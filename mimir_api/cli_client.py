"""CLI commands that talk to a running platform over HTTP: `mimir files …` and `mimir demo`.

They are clients like curl or an agent — nothing here opens the metadata DB — so they work from
any folder against any Mimir the URL points at. The URL is `--url`, else `MIMIR_API_URL`, else
the address `mimir up` binds by default settings; the token is `--token`, else `MIMIR_TOKEN`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import httpx
import typer

from mimir_api.core.config import Settings
from mimir_api.home import find_home

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="The running Mimir (default: MIMIR_API_URL or the local one)."),
]
TokenOption = Annotated[
    str | None, typer.Option("--token", help="Bearer token (default: MIMIR_TOKEN).")
]
ProjectOption = Annotated[str, typer.Option("--project", "-p", help="The project.")]

files_app = typer.Typer(help="Upload, list and delete a project's files.", no_args_is_help=True)


def base_url(url: str | None) -> str:
    """Where the running API is: the option, MIMIR_API_URL, the running `mimir up` (see
    mimir_api/home.py), or the local default address."""
    if url or os.environ.get("MIMIR_API_URL"):
        return (url or os.environ["MIMIR_API_URL"]).rstrip("/")
    running = find_home().running
    if running is not None:
        return running.api_url.rstrip("/")
    settings = Settings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    return f"http://{host}:{settings.port}"


def token_of(token: str | None) -> str | None:
    """The bearer token to send, if any."""
    return token or os.environ.get("MIMIR_TOKEN") or None


def _client(url: str | None, token: str | None, timeout: float = 600) -> httpx.Client:
    resolved = token_of(token)
    headers = {"Authorization": f"Bearer {resolved}"} if resolved else {}
    return httpx.Client(base_url=f"{base_url(url)}/api/v1", headers=headers, timeout=timeout)


def _check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail") or response.text
        except ValueError:
            detail = response.text
        typer.echo(f"error {response.status_code}: {detail}", err=True)
        raise typer.Exit(1)
    return response


@files_app.command("put")
def files_put(
    local: Annotated[
        Path,
        typer.Argument(
            help="The local file to upload.", exists=True, dir_okay=False, readable=True
        ),
    ],
    remote: Annotated[
        str | None, typer.Argument(help="Path in the project (default: sources/<name>).")
    ] = None,
    project: ProjectOption = ...,  # type: ignore[assignment]
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Upload a file (streamed) into a project's storage, where pipelines read it."""
    target = remote or f"sources/{local.name}"
    with _client(url, token) as client, local.open("rb") as handle:
        response = _check(
            client.put(
                f"/projects/{project}/files/content",
                params={"path": target},
                content=iter(lambda: handle.read(1024 * 1024), b""),
                headers={"Content-Type": "application/octet-stream"},
            )
        )
    info = response.json()
    typer.echo(f"{info['path']}\t{info['size']} bytes")


@files_app.command("ls")
def files_ls(
    project: ProjectOption = ...,  # type: ignore[assignment]
    prefix: Annotated[str, typer.Option(help="Only under this folder.")] = "",
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List a project's files."""
    with _client(url, token) as client:
        items = _check(client.get(f"/projects/{project}/files", params={"prefix": prefix})).json()[
            "items"
        ]
    for item in items:
        typer.echo(f"{item['path']}\t{item['size']}")


@files_app.command("rm")
def files_rm(
    path: Annotated[str, typer.Argument(help="Path in the project.")],
    project: ProjectOption = ...,  # type: ignore[assignment]
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Delete a project's file."""
    with _client(url, token) as client:
        _check(client.delete(f"/projects/{project}/files/content", params={"path": path}))
    typer.echo(f"deleted {path}")


def demo(
    remove: Annotated[
        bool, typer.Option("--remove", help="Delete the sample project instead.")
    ] = False,
    notify_url: Annotated[
        str | None,
        typer.Option(
            "--notify-url",
            help="A webhook the approved alert's report is announced to (default: none; the "
            "platform's outbound rules apply, MIMIR_HTTP_ALLOWED_HOSTS for local ones).",
        ),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Build the sample project (wind farm) on the running platform, step by step."""
    from flows.demo.run import DemoFailed, remove_demo, run_demo

    where = base_url(url)
    typer.echo(f"Mimir at {where}")
    try:
        if remove:
            remove_demo(where, token_of(token), say=typer.echo)
            return
        result = run_demo(where, token_of(token), say=typer.echo, notify_url=notify_url)
    except (DemoFailed, httpx.HTTPError) as exc:
        typer.echo(f"demo failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo("")
    typer.echo("Done. Where to look next:")
    typer.echo(f"  UI:        {where}/")
    typer.echo(f"  ontology:  {where}/api/v1/projects/{result.project}/ontologies")
    typer.echo(
        f"  report:    {where}/api/v1/projects/{result.project}/files/content"
        f"?path={result.report_path}"
    )
    files = f"{where}/api/v1/projects/{result.project}/files/content?path="
    if result.alert_report_path:
        typer.echo(f"  alert:     {files}{result.alert_report_path}")
    if result.drift_report_path:
        typer.echo(f"  drift:     {files}{result.drift_report_path}")
    if result.export:
        typer.echo(f"  twin RDF:  {files}{result.export['path']}")
    typer.echo(
        "  Prefect:   the pipelines' runs and the automations of the triggers "
        "'fleet-on-commission' and 'drift-report' in the Prefect UI"
    )
