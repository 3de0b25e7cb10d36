"""The shared conformance suite, run against all five backends.

Backends: SQLite (tmp file), PostgreSQL, MariaDB, a local folder and S3 (moto server);
see conftest.py for how each is provided.
"""

from __future__ import annotations

import pytest

from storage_plugins.base import StoragePlugin
from storage_plugins.testing import ConformanceSuite


class TestConformance(ConformanceSuite):
    """Every test of the suite, once per backend (``[sqlite]``, ``[postgresql]``, …)."""

    @pytest.fixture
    def plugin(self, backend_plugin: StoragePlugin) -> StoragePlugin:
        return backend_plugin

    @pytest.fixture
    def unreachable_plugin(self, backend_unreachable_plugin: StoragePlugin) -> StoragePlugin:
        return backend_unreachable_plugin
