"""The list of Mimir's service modules, and the registry built from them.

A new resource is one module in `mimir_api/services/` plus one line in `SERVICE_MODULES`.
Kept apart from `registry.py` so the import graph stays acyclic: services import the
decorator, this module imports the services, the surfaces (REST, MCP, CLI) import this.
"""

from __future__ import annotations

from types import ModuleType

from mimir_api.services import (
    anomalies,
    demo,
    files,
    models,
    ontologies,
    ontology_edits,
    ontology_proposals,
    pipeline_runs,
    pipelines,
    projects,
    runs,
    storage,
    system,
    tokens,
    triggers,
    twins,
)
from mimir_api.services.registry import OperationRegistry

SERVICE_MODULES: tuple[ModuleType, ...] = (
    system,
    projects,
    tokens,
    pipelines,
    pipeline_runs,
    runs,
    storage,
    files,
    ontologies,
    ontology_edits,
    ontology_proposals,
    models,
    twins,
    anomalies,
    triggers,
    demo,
)


def build_registry() -> OperationRegistry:
    """The registry of all of Mimir's operations."""
    registry = OperationRegistry()
    for module in SERVICE_MODULES:
        registry.add_module(module)
    return registry
