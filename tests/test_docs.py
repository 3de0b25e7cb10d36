"""The README documents every setting and every operation (so docs cannot silently rot)."""

from __future__ import annotations

from pathlib import Path

from flows.settings import RuntimeSettings
from mimir_api.core.config import Settings
from mimir_api.services.catalog import build_registry

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    fields = list(Settings.model_fields.items()) + list(RuntimeSettings.model_fields.items())
    for name, field in fields:
        alias = field.validation_alias
        env_names = list(alias.choices) if alias is not None else [f"MIMIR_{name.upper()}"]  # type: ignore[union-attr]
        assert any(f"`{env}`" in README for env in env_names), f"{env_names} missing from README"


def test_every_operation_is_in_the_operations_table() -> None:
    for op in build_registry():
        assert f"| `{op.name}` | `{op.method} /api/v1{op.path}` | {op.scope.value} |" in README, op.name
