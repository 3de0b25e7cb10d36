"""The ``sql`` storage plugin (SQLAlchemy Core: SQLite, PostgreSQL, MySQL/MariaDB)."""

from storage_plugins.sql.config import SQLConfig
from storage_plugins.sql.plugin import SQLStoragePlugin

__all__ = ["SQLConfig", "SQLStoragePlugin"]
