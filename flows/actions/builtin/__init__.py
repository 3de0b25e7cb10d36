"""The built-in plugin, registered through the `mimir.plugins` entry point like any other."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flows.actions.base import Plugin
from flows.actions.builtin import (
    anomalies,
    context_actions,
    control,
    data,
    files,
    http_request,
    load,
    models,
    output,
    storage,
    twin,
)


def _version() -> str:
    try:
        return version("mimir-aip")
    except PackageNotFoundError:
        return "0.0.0"


def plugin() -> Plugin:
    """All built-in actions."""
    return Plugin(
        name="builtin",
        version=_version(),
        description="Mimir's built-in actions: context, HTTP, JSON/CSV, transforms, files, "
        "control flow, storage, model predictions, twin queries, checkpoints, reports and "
        "notifications.",
        actions=(
            context_actions.context_set,
            context_actions.context_get,
            context_actions.context_update,
            context_actions.context_delete,
            context_actions.context_clear,
            http_request.http_request,
            data.json_parse,
            data.json_query,
            data.csv_parse,
            data.transform_map,
            data.transform_filter,
            data.transform_select,
            data.transform_rename,
            files.file_read,
            files.file_write,
            files.checkpoint_get,
            files.checkpoint_set,
            control.if_,
            control.goto,
            control.for_each,
            control.fail,
            control.stop,
            storage.storage_write,
            storage.storage_read,
            load.storage_load,
            models.model_predict,
            twin.twin_query,
            anomalies.twin_anomalies,
            output.report_render,
            output.notify,
        ),
    )
