"""The plugin registry: entry points, lazy loading, recorded failures."""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from storage_plugins.errors import ConfigError, PluginLoadError, PluginNotFound
from storage_plugins.objectstore import ObjectStorePlugin
from storage_plugins.registry import StorageRegistry, default_registry
from storage_plugins.sql import SQLConfig, SQLStoragePlugin

PLUGIN_SOURCE = '''
from storage_plugins.base import StoragePlugin
from storage_plugins.sql import SQLConfig, SQLStoragePlugin


class EchoPlugin(SQLStoragePlugin):
    """A third-party plugin: the SQL plugin under another name."""

    name = "acme_echo"
    supports_indexes = False


class NotAPlugin:
    name = "nope"


class HalfPlugin(StoragePlugin):
    """Declares itself but implements nothing."""

    name = "half"
    Config = SQLConfig
'''


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh importable module holding sample plugins; returns its name."""
    name = f"acme_plugins_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(PLUGIN_SOURCE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_default_registry_lists_builtins_from_entry_points() -> None:
    registry = default_registry()
    infos = {info.name: info for info in registry.plugins()}
    assert {"sql", "objectstore"} <= set(infos)
    sql = infos["sql"]
    assert sql.loaded and sql.error is None
    assert sql.target == "storage_plugins.sql:SQLStoragePlugin"
    assert sql.distribution == "mimir-aip" and sql.version
    assert sql.capabilities["supports_transactions"] is True
    assert infos["objectstore"].capabilities["supports_transactions"] is False
    assert sql.config_schema and "url" in sql.config_schema["properties"]
    assert registry.get("sql") is SQLStoragePlugin
    assert registry.get("objectstore") is ObjectStorePlugin


def test_registries_are_independent() -> None:
    first, second = StorageRegistry(), default_registry()
    first.register("only_here", SQLStoragePlugin)
    assert "only_here" not in second.names()
    assert first.names() == ["only_here"]


def test_unknown_name_lists_known_names() -> None:
    registry = StorageRegistry()
    registry.register("sql", SQLStoragePlugin)
    registry.register("objectstore", ObjectStorePlugin)
    with pytest.raises(PluginNotFound, match="known plugins: objectstore, sql") as info:
        registry.get("mongo")
    assert info.value.known == ["objectstore", "sql"]
    assert isinstance(info.value, LookupError)


def test_registration_is_lazy(plugin_module: str) -> None:
    registry = StorageRegistry()
    registry.register("acme_echo", f"{plugin_module}:EchoPlugin")
    assert plugin_module not in sys.modules
    cls = registry.get("acme_echo")
    assert plugin_module in sys.modules
    assert cls.name == "acme_echo" and cls.capabilities()["supports_indexes"] is False


def test_entry_points_register_like_third_party(plugin_module: str) -> None:
    registry = StorageRegistry()
    registry._register_entry_point(
        EntryPoint(name="acme_echo", value=f"{plugin_module}:EchoPlugin", group="mimir.storage")
    )
    assert registry.get("acme_echo").__name__ == "EchoPlugin"


def test_load_failures_are_recorded_not_fatal(plugin_module: str) -> None:
    registry = StorageRegistry()
    registry.register("sql", "storage_plugins.sql:SQLStoragePlugin")
    registry.register("missing", "acme_does_not_exist:Plugin")
    registry.register("wrong_type", f"{plugin_module}:NotAPlugin")
    registry.register("abstract", f"{plugin_module}:HalfPlugin")
    infos = {info.name: info for info in registry.plugins()}
    assert infos["sql"].loaded
    assert not infos["missing"].loaded and "ModuleNotFoundError" in (infos["missing"].error or "")
    assert "is not a StoragePlugin" in (infos["wrong_type"].error or "")
    assert "does not implement" in (infos["abstract"].error or "")
    assert set(registry.errors()) == {"missing", "wrong_type", "abstract"}
    with pytest.raises(PluginLoadError, match="missing"):
        registry.get("missing")
    with pytest.raises(PluginLoadError):
        registry.register("bad", "no_colon_here")


def test_create_validates_settings(tmp_path: Path) -> None:
    registry = default_registry()
    plugin = registry.create("sql", {"url": f"sqlite:///{tmp_path}/p.db"})
    assert isinstance(plugin, SQLStoragePlugin)
    assert isinstance(plugin.config, SQLConfig)
    plugin.close()
    with pytest.raises(ConfigError, match="url"):
        registry.create("sql", {"url": "oracle://x/y"})
    with pytest.raises(ConfigError, match="extra"):
        registry.create("objectstore", {"url": "/tmp/x", "colour": "blue"})


def test_every_registered_plugin_is_covered_by_the_conformance_backends(
    backend_classes: dict[str, type],
) -> None:
    builtin = {i.name for i in default_registry().plugins() if i.distribution == "mimir-aip"}
    assert builtin == {cls.name for cls in backend_classes.values()}
