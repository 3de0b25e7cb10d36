"""Read a project's SQLite tables the way a user sees them: without the storage plugin's own
bookkeeping (history tables, the change log and the hidden `_valid_from` column)."""

from __future__ import annotations

import sqlite3
from typing import Any


def user_columns(connection: sqlite3.Connection, table: str) -> list[str]:
    """The table's columns, in order, less the plugin's hidden ones (names starting with _)."""
    return [
        r[1]
        for r in connection.execute(f'PRAGMA table_info("{table}")')
        if not r[1].startswith("_")
    ]


def user_rows(connection: sqlite3.Connection, table: str) -> list[tuple[Any, ...]]:
    """Every row of `table` over its user columns."""
    columns = ", ".join(f'"{c}"' for c in user_columns(connection, table))
    return list(connection.execute(f'SELECT {columns} FROM "{table}"'))


def user_tables(connection: sqlite3.Connection) -> list[str]:
    """The tables a user made (the plugin's own start with _)."""
    return [
        r[0]
        for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        if not r[0].startswith("_")
    ]
