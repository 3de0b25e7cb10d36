"""The versions of a Delta table as history: when, what, how many rows, which run.

Each commit of the plugin carries ``mimir.*`` commit metadata; commits made by other Delta
writers are described from their own operation name and commit timestamp. Versions are
immutable, so they are read once (``DeltaTable.history`` for the new ones only) and cached.
Their times are made non-decreasing in version order, so that "the newest version at or
before instant T" is well defined even when two writers' clocks interleave.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from deltalake import DeltaTable

OPERATIONS = {  # Delta operation names of commits not made by this plugin
    "CREATE TABLE": "create",
    "WRITE": "insert",
    "MERGE": "upsert",
    "DELETE": "delete",
    "VACUUM START": "vacuum",
    "VACUUM END": "vacuum",
}
_ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Version:
    """One version (commit) of a table."""

    version: int
    at: datetime
    operation: str
    rows: int | None
    run_id: str | None


def parse(entry: dict[str, Any]) -> Version:
    """A `Version` from one entry of ``DeltaTable.history()``."""
    stamp = entry.get("mimir.at")
    at = (
        datetime.fromisoformat(stamp)
        if stamp
        else datetime.fromtimestamp(int(entry.get("timestamp", 0)) / 1000, UTC)
    )
    operation = entry.get("mimir.operation") or OPERATIONS.get(
        str(entry.get("operation")), "migrate"
    )
    if operation == "insert" and "Overwrite" in str(entry.get("operationParameters")):
        operation = "replace"
    rows = entry.get("mimir.rows")
    return Version(
        int(entry["version"]),
        at.astimezone(UTC),
        operation,
        int(rows) if rows is not None else None,
        entry.get("mimir.run_id"),
    )


class VersionIndex:
    """Per table URI, its versions oldest first (cached; thread-safe)."""

    def __init__(self) -> None:
        self._cache: dict[str, list[Version]] = {}
        self._lock = threading.Lock()

    def versions(self, uri: str, dt: DeltaTable) -> list[Version]:
        """Every version of the table at `uri` up to `dt`'s, with non-decreasing times."""
        latest = dt.version()
        with self._lock:
            cached = self._cache.get(uri, [])
        have = cached[-1].version if cached else -1
        if latest > have:
            fresh = sorted(
                (parse(e) for e in dt.history(limit=latest - have)
                 if int(e.get("version", -1)) > have),
                key=lambda v: v.version,
            )
            merged = list(cached)
            for item in fresh:
                if merged and item.at < merged[-1].at:
                    item = Version(item.version, merged[-1].at, item.operation, item.rows,
                                   item.run_id)
                merged.append(item)
            with self._lock:
                self._cache[uri] = merged
            cached = merged
        return [v for v in cached if v.version <= latest]

    def next_stamp(self, uri: str, dt: DeltaTable) -> datetime:
        """Now, or just after the table's newest version when the clock has not passed it."""
        now = datetime.now(UTC)
        versions = self.versions(uri, dt)
        if versions and now <= versions[-1].at:
            return versions[-1].at + _ONE_MICROSECOND
        return now
