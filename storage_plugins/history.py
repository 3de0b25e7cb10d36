"""History vocabulary shared by every plugin: versions, the pipeline run behind a write, as-of.

Every write and delete keeps the previous state of the rows it touches, in the same
transaction (SQL) or commit (Delta) as the change itself, so `read(..., as_of=t)` can answer
"what did this table hold at t". This module holds what plugins share: the `HistoryEntry`
listed by `table_history`, the run id a write is attributed to (an argument, or the
`run_context` of the calling pipeline), and the validation of `as_of` values.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from storage_plugins.errors import InvalidQuery

Operation = Literal["create", "insert", "upsert", "replace", "delete", "migrate", "vacuum"]
MAX_RUN_ID_LENGTH = 255

_RUN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("mimir_run_id", default=None)


class HistoryEntry(BaseModel):
    """One committed change of a table, as `table_history` lists it (newest first)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(description="Increasing number of the change (per table or store).")
    at: datetime = Field(description="When the change became visible (UTC).")
    operation: str = Field(
        description="create, insert, upsert, replace, delete, migrate or vacuum."
    )
    rows: int | None = Field(default=None, description="Rows the change wrote or deleted.")
    run_id: str | None = Field(
        default=None, description="The pipeline run that made the change, when known."
    )


@contextmanager
def run_context(run_id: str | None) -> Iterator[None]:
    """Attribute every write made inside the block to pipeline run `run_id`.

    >>> with run_context("run-42"):
    ...     current_run_id()
    'run-42'
    """
    token = _RUN_ID.set(run_id)
    try:
        yield
    finally:
        _RUN_ID.reset(token)


def current_run_id(explicit: str | None = None) -> str | None:
    """The run a write belongs to: `explicit` when given, else the enclosing `run_context`."""
    run_id = explicit if explicit is not None else _RUN_ID.get()
    if run_id is not None and (not isinstance(run_id, str) or len(run_id) > MAX_RUN_ID_LENGTH):
        raise InvalidQuery(f"run_id must be a string of at most {MAX_RUN_ID_LENGTH} characters")
    return run_id


def check_as_of(as_of: datetime | None) -> datetime | None:
    """Validate an `as_of` timestamp: timezone-aware, returned in UTC (None passes)."""
    if as_of is None:
        return None
    if not isinstance(as_of, datetime):
        raise InvalidQuery(f"as_of must be a datetime, got {type(as_of).__name__}")
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise InvalidQuery("as_of must be timezone-aware (e.g. datetime.now(UTC))")
    return as_of.astimezone(UTC)


def retention_cutoff(
    older_than: datetime | None, retention_days: float | None, now: datetime | None = None
) -> datetime | None:
    """The instant before which `vacuum_history` may forget versions (None: keep all)."""
    if older_than is not None:
        return check_as_of(older_than)
    if retention_days is None:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=retention_days)
