"""The storage plugin registry: names → plugin classes, loaded lazily.

Plugins are found through the ``mimir.storage`` entry-point group; the built-in ``sql``
and ``objectstore`` plugins are declared there too (in Mimir's pyproject), so they load
exactly like a third-party one. An external plugin needs only its own entry point:

.. code-block:: toml

    [project.entry-points."mimir.storage"]
    acme_duckdb = "acme_mimir.duckdb:DuckDBPlugin"

The registry is an object built by `default_registry()` (or by hand in tests) and passed
to whoever needs it; nothing is loaded at import time. A plugin that fails to import is
recorded with its error and listed by `plugins()`; it never breaks the other plugins.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from storage_plugins.base import PluginConfig, StoragePlugin
from storage_plugins.errors import PluginLoadError, PluginNotFound

ENTRY_POINT_GROUP = "mimir.storage"
log = logging.getLogger(__name__)


class PluginInfo(BaseModel):
    """What the registry knows about one plugin (for `/storage/plugins`-style listings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="The name the plugin is registered under.")
    target: str = Field(description="Where the class lives, as 'module:Class'.")
    distribution: str | None = Field(
        default=None, description="The installed distribution that declares the plugin."
    )
    version: str | None = Field(default=None, description="That distribution's version.")
    loaded: bool = Field(description="Whether the class imported and is a StoragePlugin.")
    capabilities: dict[str, bool] = Field(
        default_factory=dict, description="The plugin's capability flags (when loaded)."
    )
    config_schema: dict[str, Any] | None = Field(
        default=None, description="JSON schema of the plugin's settings (when loaded)."
    )
    error: str | None = Field(default=None, description="Why the plugin failed to load.")


@dataclass
class _Entry:
    target: str
    distribution: str | None = None
    version: str | None = None
    cls: type[StoragePlugin] | None = None
    error: str | None = None


class StorageRegistry:
    """Plugin names → classes. Thread-safe; classes are imported on first `get`."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def register(
        self,
        name: str,
        target: str | type[StoragePlugin],
        *,
        distribution: str | None = None,
        version: str | None = None,
    ) -> None:
        """Register a plugin class, or its ``"module:Class"`` path to import on first use.

        Registering a name again replaces the earlier entry (last one wins), which lets an
        application override a plugin deliberately.
        """
        if isinstance(target, str):
            if ":" not in target:
                raise PluginLoadError(f"plugin {name!r}: target {target!r} is not 'module:Class'")
            entry = _Entry(target=target, distribution=distribution, version=version)
        else:
            entry = _Entry(
                target=f"{target.__module__}:{target.__qualname__}",
                distribution=distribution,
                version=version,
                cls=target,
            )
            self._check(name, target)
        with self._lock:
            if name in self._entries:
                log.info("storage plugin %r re-registered as %s", name, entry.target)
            self._entries[name] = entry

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Register every entry point of `group` (without importing the plugins)."""
        for ep in entry_points(group=group):
            self._register_entry_point(ep)

    def _register_entry_point(self, ep: EntryPoint) -> None:
        dist = ep.dist
        self.register(
            ep.name,
            ep.value,
            distribution=dist.name if dist is not None else None,
            version=dist.version if dist is not None else None,
        )

    def names(self) -> list[str]:
        """Registered names, sorted."""
        with self._lock:
            return sorted(self._entries)

    def get(self, name: str) -> type[StoragePlugin]:
        """The plugin class registered as `name`, importing it on first use.

        Raises `PluginNotFound` (listing the known names) or `PluginLoadError`.
        """
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                raise PluginNotFound(name, self._entries)
            if entry.cls is None and entry.error is None:
                try:
                    entry.cls = self._import(name, entry.target)
                except Exception as exc:
                    entry.error = f"{type(exc).__name__}: {exc}"
                    log.warning("storage plugin %r failed to load: %s", name, entry.error)
            if entry.cls is None:
                raise PluginLoadError(f"storage plugin {name!r} failed to load: {entry.error}")
            return entry.cls

    def create(self, name: str, config: PluginConfig | Mapping[str, Any]) -> StoragePlugin:
        """Construct the plugin `name` from its settings (validated by its `Config`)."""
        return self.get(name)(config)

    def plugins(self) -> list[PluginInfo]:
        """Every registered plugin with version, distribution and capabilities.

        Loads each plugin to read its capabilities; load failures appear as entries with
        ``loaded=False`` and the error, never as exceptions.
        """
        infos = []
        for name in self.names():
            cls: type[StoragePlugin] | None
            try:
                cls = self.get(name)
            except PluginLoadError:
                cls = None
            with self._lock:
                entry = self._entries[name]
            infos.append(
                PluginInfo(
                    name=name,
                    target=entry.target,
                    distribution=entry.distribution,
                    version=entry.version,
                    loaded=cls is not None,
                    capabilities=cls.capabilities() if cls else {},
                    config_schema=cls.Config.model_json_schema() if cls else None,
                    error=entry.error,
                )
            )
        return infos

    def errors(self) -> dict[str, str]:
        """Load errors so far, by plugin name."""
        with self._lock:
            return {n: e.error for n, e in self._entries.items() if e.error}

    @staticmethod
    def _import(name: str, target: str) -> type[StoragePlugin]:
        module_name, _, attr = target.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        StorageRegistry._check(name, obj)
        return obj

    @staticmethod
    def _check(name: str, obj: Any) -> None:
        if not (isinstance(obj, type) and issubclass(obj, StoragePlugin)):
            raise PluginLoadError(f"storage plugin {name!r}: {obj!r} is not a StoragePlugin")
        missing = [a for a in ("name", "Config") if not hasattr(obj, a)]
        if missing:
            raise PluginLoadError(f"storage plugin {name!r}: class lacks {', '.join(missing)}")
        if inspect.isabstract(obj):
            raise PluginLoadError(
                f"storage plugin {name!r}: {obj.__name__} does not implement "
                f"{', '.join(sorted(obj.__abstractmethods__))}"
            )


def default_registry() -> StorageRegistry:
    """A new registry holding every plugin installed under the ``mimir.storage`` group."""
    registry = StorageRegistry()
    registry.load_entry_points()
    return registry
