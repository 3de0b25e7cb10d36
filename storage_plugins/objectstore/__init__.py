"""The ``objectstore`` storage plugin (Parquet on fsspec: local folders, S3, …)."""

from storage_plugins.objectstore.config import ObjectStoreConfig
from storage_plugins.objectstore.plugin import ObjectStorePlugin

__all__ = ["ObjectStoreConfig", "ObjectStorePlugin"]
