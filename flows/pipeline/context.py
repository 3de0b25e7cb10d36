"""The bounded context window steps share.

Each object in the window (a step's output, or a key set with `context.set`) is measured as
JSON once when it changes; the running total is checked against `context_limit`, so a run that
outgrows it fails at the step that did it, with the sizes in the message.
"""

from __future__ import annotations

import json
from typing import Any

from flows.pipeline.errors import ContextOverflow


def json_size(value: Any) -> int:
    """Bytes `value` takes as compact JSON (what the limit counts)."""
    return len(json.dumps(value, default=str, separators=(",", ":")).encode())


class ContextWindow:
    """Objects by name, with a byte budget."""

    def __init__(self, limit: int):
        self.limit = limit
        self._objects: dict[str, Any] = {}
        self._sizes: dict[str, int] = {}

    @property
    def size(self) -> int:
        """Bytes in use."""
        return sum(self._sizes.values())

    def set(self, key: str, value: Any, *, step: str) -> None:
        """Store `value` under `key`, failing the run if the window would overflow."""
        size = json_size(value)
        total = self.size - self._sizes.get(key, 0) + size
        if total > self.limit:
            raise ContextOverflow(
                step,
                f"context limit exceeded: storing {size} bytes under '{key}' would bring the "
                f"context to {total} bytes, over the limit of {self.limit} bytes "
                "(raise context_limit, or write large data to storage and pass a reference)",
            )
        self._objects[key] = value
        self._sizes[key] = size

    def get(self, key: str, default: Any = None) -> Any:
        """The object under `key`."""
        return self._objects.get(key, default)

    def delete(self, key: str) -> bool:
        """Remove `key`; False if it was absent."""
        self._sizes.pop(key, None)
        return self._objects.pop(key, _MISSING) is not _MISSING

    def clear(self) -> int:
        """Empty the window; returns how many objects were dropped."""
        count = len(self._objects)
        self._objects.clear()
        self._sizes.clear()
        return count

    def snapshot(self) -> dict[str, Any]:
        """A shallow copy of every object (what templates see as `steps`)."""
        return dict(self._objects)

    def sizes(self) -> dict[str, int]:
        """Bytes per object."""
        return dict(self._sizes)

    def __contains__(self, key: object) -> bool:
        return key in self._objects


_MISSING = object()
