"""The action registry: built-ins and every installed plugin, found through entry points.

Built from a factory (`load_registry`), never at import time; tests build their own. A plugin
that fails to load is recorded in `errors` and listed, never fatal.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from typing import Any

from flows.actions.base import Action, Plugin

ENTRY_POINT_GROUP = "mimir.plugins"
BUILTIN = "builtin"


@dataclass
class ActionRegistry:
    """Actions by the name steps use: 'http.request' for built-ins, 'plugin:action' otherwise."""

    plugins: dict[str, Plugin] = field(default_factory=dict)
    distributions: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    _actions: dict[str, Action] = field(default_factory=dict)

    def add_plugin(self, plugin: Plugin, distribution: str = "") -> None:
        """Register a plugin's actions under their step-facing names."""
        if plugin.name in self.plugins:
            raise ValueError(f"plugin {plugin.name!r} is registered twice")
        self.plugins[plugin.name] = plugin
        self.distributions[plugin.name] = distribution
        for act in plugin.actions:
            full = act.name if plugin.name == BUILTIN else f"{plugin.name}:{act.name}"
            if full in self._actions:
                raise ValueError(f"action {full!r} is registered twice")
            self._actions[full] = act

    def get(self, name: str) -> Action | None:
        """The action a step's `action:` names, or None."""
        return self._actions.get(name)

    def names(self) -> list[str]:
        """All action names, sorted."""
        return sorted(self._actions)

    def describe(self) -> list[dict[str, Any]]:
        """Plugins with their actions and parameter schemas (what the API lists)."""
        result = []
        for name, plugin in sorted(self.plugins.items()):
            result.append(
                {
                    "name": name,
                    "version": plugin.version,
                    "distribution": self.distributions.get(name, ""),
                    "description": plugin.description,
                    "actions": [
                        {
                            "name": act.name if name == BUILTIN else f"{name}:{act.name}",
                            "summary": act.summary,
                            "kind": act.kind,
                            "pipeline_types": sorted(act.pipeline_types or ()),
                            "parameters": act.params.model_json_schema(),
                        }
                        for act in plugin.actions
                    ],
                }
            )
        return result


def load_registry() -> ActionRegistry:
    """Discover every plugin installed in this environment (built-ins included)."""
    registry = ActionRegistry()
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry_point.load()
            plugin = loaded() if callable(loaded) and not isinstance(loaded, Plugin) else loaded
            if not isinstance(plugin, Plugin):
                raise TypeError(f"entry point gave {type(plugin).__name__}, not a Plugin")
            if plugin.name != entry_point.name:
                raise ValueError(
                    f"plugin is named {plugin.name!r} but its entry point {entry_point.name!r}"
                )
            dist = entry_point.dist.name if entry_point.dist else ""
            registry.add_plugin(plugin, dist)
        except Exception as exc:  # a broken plugin must not take the platform down
            registry.errors[entry_point.name] = f"{type(exc).__name__}: {exc}"
    return registry
