"""The ``objectstore`` storage plugin (Delta Lake tables on local folders and S3)."""

from storage_plugins.objectstore.config import ObjectStoreConfig
from storage_plugins.objectstore.plugin import ObjectStorePlugin

__all__ = ["ObjectStoreConfig", "ObjectStorePlugin"]
