"""Which store holds a project's tables, and how to open it — the one place that decides.

Until a project configures a storage backend of its own, its tables live next to its files:
a SQLite file `tables.sqlite` in a local storage object, or Parquet tables under `tables/` in a
remote one (S3). A configured backend is kept in the project's `ProjectStorage` Block, which a
worker loads by name (it has no metadata DB). Both are plugins of `storage_plugins`, reached
only through its interface. The API, the flows, the twin and ML all open stores through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from blocks.project_storage import ProjectStorage
from storage_plugins.base import StoragePlugin
from storage_plugins.registry import default_registry


def default_store_config(storage_url: str) -> tuple[str, dict[str, Any]]:
    """The (plugin name, config) a project uses when it configured nothing else."""
    parts = urlsplit(storage_url)
    if parts.scheme in ("", "file"):
        return "sql", {"url": f"sqlite:///{parts.path.rstrip('/')}/tables.sqlite"}
    return "objectstore", {"url": f"{storage_url.rstrip('/')}/tables"}


def open_store(
    storage_url: str, plugin: str | None = None, config: Mapping[str, Any] | None = None
) -> StoragePlugin:
    """A storage plugin instance for the project (caller closes it)."""
    if plugin is None:
        plugin, default = default_store_config(storage_url)
        config = default if config is None else config
    return default_registry().create(plugin, dict(config or {}))


def open_project_store(
    project: str, storage_url: str, *, configured: bool | None = None
) -> StoragePlugin:
    """The store a project's tables live in: the backend configured in its ProjectStorage
    Block, else the default beside its files. The caller closes it.

    `configured` is what the caller already knows: False skips the Block lookup (the API's
    project row says no backend was configured), None asks Prefect (a worker cannot know).
    """
    if project and configured is not False:
        try:
            block = ProjectStorage.load_for(project)
        except ValueError:  # no block saved: the project uses the default store
            block = None
        if block is not None:
            return default_registry().create(block.plugin, block.plugin_config())
    return open_store(storage_url)
