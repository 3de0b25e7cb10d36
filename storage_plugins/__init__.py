"""Abstract tabular storage for Mimir: schema types, the plugin interface, the registry.

The bottom layer: imports nothing else of Mimir. Plugins (``sql``, ``objectstore``, and
third-party ones) are found through the ``mimir.storage`` entry-point group::

    from storage_plugins import default_registry, Filter, TabularSchema

    registry = default_registry()
    store = registry.create("sql", {"url": "sqlite:///data/project.db"})
    store.apply_schema(schema)
    store.write("order", rows, mode="upsert")
    page = store.read("order", where=[Filter("total", "gt", 100)], limit=50)

The plugin modules themselves are imported lazily, by the registry, so that importing this
package does not import SQLAlchemy or pyarrow.
"""

from storage_plugins.base import Health, Page, PluginConfig, StoragePlugin, WriteResult
from storage_plugins.errors import (
    BackendUnavailable,
    ConfigError,
    InvalidCursor,
    InvalidQuery,
    PluginLoadError,
    PluginNotFound,
    RowRejected,
    SchemaConflict,
    SchemaError,
    StorageError,
    TableNotFound,
    WriteConflict,
)
from storage_plugins.migrate import Change, SchemaChange
from storage_plugins.query import Filter, Op, OrderBy
from storage_plugins.registry import PluginInfo, StorageRegistry, default_registry
from storage_plugins.schema import (
    Column,
    ColumnType,
    ForeignKey,
    Index,
    NameAllocator,
    Table,
    TabularSchema,
    link_table,
    to_identifier,
)

__all__ = [
    "BackendUnavailable",
    "Change",
    "Column",
    "ColumnType",
    "ConfigError",
    "Filter",
    "ForeignKey",
    "Health",
    "Index",
    "InvalidCursor",
    "InvalidQuery",
    "NameAllocator",
    "Op",
    "OrderBy",
    "Page",
    "PluginConfig",
    "PluginInfo",
    "PluginLoadError",
    "PluginNotFound",
    "RowRejected",
    "SchemaChange",
    "SchemaConflict",
    "SchemaError",
    "StorageError",
    "StoragePlugin",
    "StorageRegistry",
    "Table",
    "TableNotFound",
    "TabularSchema",
    "WriteConflict",
    "WriteResult",
    "default_registry",
    "link_table",
    "to_identifier",
]
