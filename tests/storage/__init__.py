"""Tests of the storage layer (`storage_plugins`)."""
