"""The layering rule holds: `lint-imports` checks the contracts in pyproject.toml.

`mimir_api → flows → twin → ml → domain → (ontology | blocks) → storage_plugins`, the plugin
contract never imports the pipeline engine, `ontology` uses only `storage_plugins`' schema
types, and Mimir's packages import each other without cycles. A violation fails this test
with import-linter's report, which names the offending import and its line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "broken" in report and " 0 broken" in report, report


HEAVY = ("torch", "sklearn", "owlready2")


def test_heavy_libraries_load_only_where_used() -> None:
    # The API process, the CLI and a worker starting a pipeline run never pay for torch,
    # scikit-learn or owlready2: the modules that need them import them inside the function
    # that uses them (training, inference, OWL/XML parsing, the reasoner).
    probe = (
        "import sys\n"
        "import mimir_api.api.app, mimir_api.cli, mimir_api.mcp.server\n"
        "import flows.deploy, flows.pipeline.flow\n"
        "from mimir_api.services.catalog import build_registry\n"
        "build_registry()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"loaded at start-up: {result.stdout.strip()}"
