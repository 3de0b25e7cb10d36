"""Pipelines reach only their own project's Prefect blocks and never write Mimir's reserved
files (`_mimir/`, `.mimir-project.json`) in the storage object."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.blocks.system import Secret
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.actions.base import ActionContext, PermanentError
from flows.actions.builtin.files import (
    CheckpointGetParams,
    CheckpointSetParams,
    FileWriteParams,
    checkpoint_get,
    checkpoint_set,
    file_write,
)
from flows.actions.builtin.output import NotifyParams, ReportParams, notify, report_render
from tests.utils.servers import PrefectServer


def context(project: str, storage: Path | None = None, pipeline: str = "p") -> ActionContext:
    return ActionContext(
        step="s",
        pipeline=pipeline,
        pipeline_type="output",
        project=project,
        storage_url=storage.as_uri() if storage else "",
        run_id="run-1",
        window=None,
        render=lambda value, _scope: value,
    )


def test_secrets_are_read_from_the_projects_own_blocks(session_prefect: PrefectServer) -> None:
    with temporary_settings({PREFECT_API_URL: session_prefect.api_url}):
        Secret(value="acme-value").save("acme--api-token", overwrite=True)
        Secret(value="other-value").save("other--api-token", overwrite=True)
        Secret(value="global-value").save("api-token", overwrite=True)
        assert context("acme").secret("api-token") == "acme-value"
        assert context("other").secret("api-token") == "other-value"
        with pytest.raises(PermanentError, match="single dashes"):
            context("acme").secret("other--api-token")
        with pytest.raises(PermanentError, match="no Prefect Secret block 'nobody--api-token'"):
            context("nobody").secret("api-token")
        with pytest.raises(PermanentError, match="belongs to no project"):
            context("").secret("api-token")


def test_a_project_whose_name_extends_another_gets_no_access() -> None:
    # 'acme--eu--key' can only be the block 'key' of project 'acme--eu'
    assert context("acme--eu").block_name("key") == "acme--eu--key"
    with pytest.raises(PermanentError):
        context("acme").block_name("eu--key")


def test_notify_blocks_are_scoped_too(session_prefect: PrefectServer) -> None:
    with temporary_settings({PREFECT_API_URL: session_prefect.api_url}):
        Secret(value="x").save("acme--not-a-notifier", overwrite=True)
        with pytest.raises(PermanentError, match="single dashes"):
            notify.fn(NotifyParams(block="secret/other--ops", message="m"), context("acme"))
        with pytest.raises(PermanentError, match="'secret/acme--not-a-notifier' is not a notif"):
            notify.fn(NotifyParams(block="secret/not-a-notifier", message="m"), context("acme"))


@pytest.mark.parametrize(
    "path",
    [
        "_mimir/checkpoints/other.json",
        "./_mimir/ontologies/main/mapping.json",
        "x/../_mimir/y",
        ".mimir-project.json",
        "_mimir",
    ],
)
def test_reserved_paths_are_not_writable(tmp_path: Path, path: str) -> None:
    ctx = context("acme", tmp_path)
    with pytest.raises(PermanentError, match="reserved for Mimir"):
        file_write.fn(FileWriteParams(path=path, content="x"), ctx)
    with pytest.raises(PermanentError, match="reserved for Mimir"):
        report_render.fn(ReportParams(path=path, format="csv", rows=[{"a": 1}]), ctx)
    assert list(tmp_path.iterdir()) == []


def test_ordinary_paths_and_checkpoints_still_work(tmp_path: Path) -> None:
    ctx = context("acme", tmp_path, pipeline="fetch")
    assert file_write.fn(FileWriteParams(path="data/_mimir/notes.txt", content="ok"), ctx)["size"]
    assert (tmp_path / "data" / "_mimir" / "notes.txt").read_text() == "ok"
    checkpoint_set.fn(CheckpointSetParams(value=7), ctx)
    assert checkpoint_get.fn(CheckpointGetParams(), ctx) == {"value": 7, "saved": True}
