"""The project storage Block: which storage plugin a project uses, its settings and secrets.

Saved by the API when an operator configures a project's storage (after a live health check),
loaded by name (`mimir-storage-<project>`) wherever the project's tables are read or written.
Secrets sit in a `SecretDict`, so Prefect's API and UI never show them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from prefect.blocks.core import Block
from prefect.types import SecretDict
from pydantic import Field

from storage_plugins.base import StoragePlugin
from storage_plugins.registry import default_registry

BLOCK_PREFIX = "mimir-storage-"


def block_name(project: str) -> str:
    """The Block document name of a project's storage settings."""
    return f"{BLOCK_PREFIX}{project}"


class ProjectStorage(Block):
    """Storage backend settings of one Mimir project.

    Example:
        ```python
        from blocks.project_storage import ProjectStorage

        settings = ProjectStorage.load("mimir-storage-sales")
        with settings.open() as store:
            print(store.tables())
        ```
    """

    _block_type_name: ClassVar[str] = "Mimir Project Storage"
    _block_type_slug: ClassVar[str] = "mimir-project-storage"
    _description: ClassVar[str] = "Which storage plugin a Mimir project uses, with its settings."
    _documentation_url = "https://github.com/mimir-aip/mimir-aip#storage"  # type: ignore[assignment]

    project: str = Field(description="The Mimir project these settings belong to.")
    plugin: str = Field(description="Storage plugin name, e.g. 'sql' or 'objectstore'.")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Plugin settings without secrets (e.g. the URL)."
    )
    secrets: SecretDict = Field(
        default_factory=lambda: SecretDict({}),
        description="Secret plugin settings (passwords, keys), never shown by Prefect.",
    )

    @classmethod
    def load_for(cls, project: str) -> ProjectStorage:
        """The project's saved settings; raises ValueError when none were saved."""
        block = cls.load(block_name(project))
        if not isinstance(block, cls):  # load is sync here; this also narrows the type
            raise TypeError(f"expected {cls.__name__}, got {type(block).__name__}")
        return block

    def plugin_config(self) -> dict[str, Any]:
        """Settings and secrets merged: the plugin's full config."""
        return {**self.settings, **self.secrets.get_secret_value()}

    @contextmanager
    def open(self) -> Iterator[StoragePlugin]:
        """A connected-on-demand plugin instance, closed when the block exits."""
        store = default_registry().create(self.plugin, self.plugin_config())
        try:
            yield store
        finally:
            store.close()
