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
