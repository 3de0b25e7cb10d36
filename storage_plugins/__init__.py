"""storage_plugins package."""
