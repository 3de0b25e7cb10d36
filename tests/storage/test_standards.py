"""House rules for `storage_plugins`: layering, field descriptions, module size, lazy imports."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

import storage_plugins

PACKAGE = Path(storage_plugins.__file__).parent
MODULES = sorted(
    m.name for m in pkgutil.walk_packages(storage_plugins.__path__, "storage_plugins.")
)
OTHER_MIMIR_PACKAGES = {"mimir_api", "flows", "blocks", "ontology", "twin", "ml"}


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_bottom_layer_imports_nothing_else_of_mimir(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
    assert not imported & OTHER_MIMIR_PACKAGES


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 800


@pytest.mark.parametrize("module", MODULES)
def test_every_model_field_is_described(module: str) -> None:
    mod = importlib.import_module(module)
    for name, obj in vars(mod).items():
        if inspect.isclass(obj) and issubclass(obj, BaseModel) and obj.__module__ == module:
            for field, info in obj.model_fields.items():
                assert info.description and info.description.endswith("."), f"{name}.{field}"


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, storage_plugins; "
        "print(sorted(m for m in ('sqlalchemy', 'pyarrow', 'fsspec', 's3fs') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
