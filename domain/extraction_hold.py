"""Hold automatic ontology extraction for a project while its sources are still landing.

Several sources ingested one after another would otherwise each start an extraction, and the
first would be accepted with whatever had landed. The hold is a small marker file in the
project's storage object (`_mimir/extraction-hold.json`), because the worker that decides
whether to start an extraction after an ingestion run has the storage object, not the
metadata DB. Extraction on request (`run_ontology_extraction`) ignores the hold: it is how
the user extracts once over everything.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import fsspec

HOLD_FILE = "_mimir/extraction-hold.json"


def _path(storage_url: str) -> tuple[Any, str]:
    fs, root = fsspec.core.url_to_fs(storage_url)
    return fs, f"{root.rstrip('/')}/{HOLD_FILE}"


def hold_extraction(storage_url: str, reason: str, by: str) -> dict[str, Any]:
    """Put automatic extraction on hold (replacing an earlier hold); returns the hold."""
    fs, path = _path(storage_url)
    hold = {"reason": reason, "by": by, "since": datetime.now(UTC).isoformat()}
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(path, json.dumps(hold).encode("utf-8"))
    return hold


def release_extraction(storage_url: str) -> bool:
    """Lift the hold; False when there was none."""
    fs, path = _path(storage_url)
    if not fs.exists(path):
        return False
    fs.rm(path)
    return True


def extraction_hold(storage_url: str) -> dict[str, Any] | None:
    """The current hold (reason, by, since), or None when extraction runs automatically."""
    fs, path = _path(storage_url)
    if not fs.exists(path):
        return None
    value = json.loads(fs.cat_file(path).decode("utf-8"))
    return value if isinstance(value, dict) else None
