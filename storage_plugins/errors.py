"""Typed errors raised by the storage layer.

Callers (the API, flows, the twin) map these to user-facing messages, so each one carries
the facts a person needs to fix the problem (which table, row, column, plugin) as attributes
as well as in its message. Every error derives from `StorageError`; none of them wraps a
backend's exception type in its public attributes, so callers never import a driver.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class StorageError(Exception):
    """Base class of every error the storage layer raises on purpose."""


class ConfigError(StorageError):
    """A plugin configuration is invalid (bad URL, unsupported driver, missing option)."""


class BackendUnavailable(StorageError):
    """The backend cannot be reached (server down, bucket missing, path unusable).

    Raised quickly: plugins use connect timeouts so that a dead backend never hangs a caller.
    """


class SchemaError(StorageError):
    """A schema is invalid in itself, or an operation does not fit the stored schema."""


class SchemaConflict(SchemaError):
    """`apply_schema` would make breaking changes and was not forced.

    `changes` lists the breaking changes (each a `storage_plugins.migrate.Change`).
    """

    def __init__(self, changes: Sequence[Any]) -> None:
        self.changes = list(changes)
        lines = "; ".join(str(c) for c in self.changes)
        super().__init__(
            f"schema change refused: {len(self.changes)} breaking change(s): {lines}. "
            "Pass force=True to apply them; data in the affected tables or columns is lost."
        )


class TableNotFound(SchemaError):
    """The named table is not part of the stored schema."""

    def __init__(self, table: str, known: Iterable[str]) -> None:
        self.table = table
        self.known = sorted(known)
        shown = ", ".join(self.known) if self.known else "(none)"
        super().__init__(f"table {table!r} does not exist; known tables: {shown}")


class InvalidQuery(StorageError):
    """A filter, projection, ordering or cursor does not fit the table it targets."""


class QueryTimeout(StorageError):
    """A read ran past the plugin's statement timeout and was cancelled by the backend.

    `table` is the table read, `limit_s` the timeout (the `statement_timeout_s` setting).
    """

    def __init__(self, table: str, limit_s: float) -> None:
        self.table = table
        self.limit_s = limit_s
        super().__init__(
            f"reading table {table!r} exceeded the statement timeout of {limit_s:g} s "
            "(setting statement_timeout_s); narrow the filters or raise the limit"
        )


class InvalidCursor(InvalidQuery):
    """A pagination cursor is malformed or belongs to a different query."""


class RowRejected(StorageError):
    """A row in a `write` call was refused; nothing of that call was written.

    `row` is the 0-based index of the row in the iterable passed to `write` (None when a
    backend refused the batch without saying which row), `column` the offending column
    (None when the row as a whole is wrong, e.g. not a mapping).
    """

    def __init__(
        self, table: str, row: int | None, column: str | None, reason: str
    ) -> None:
        self.table = table
        self.row = row
        self.column = column
        self.reason = reason
        where = f"row {row}" if row is not None else "a row"
        col = f", column {column!r}" if column else ""
        super().__init__(f"{where}{col} of table {table!r} rejected: {reason}; nothing written")


class WriteConflict(StorageError):
    """A write lost a race with concurrent writers too many times, or hit a deadlock.

    Nothing of the call was written; the caller may retry it.
    """


class PluginNotFound(StorageError, LookupError):
    """No storage plugin is registered under the requested name."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        shown = ", ".join(self.known) if self.known else "(none)"
        super().__init__(f"no storage plugin named {name!r}; known plugins: {shown}")


class PluginLoadError(StorageError):
    """A registered plugin could not be imported or is not a `StoragePlugin`."""
