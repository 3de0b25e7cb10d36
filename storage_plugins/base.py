"""The abstract tabular storage interface every plugin implements.

A plugin is constructed from its pydantic `Config` and connects lazily, so that building
one for a dead backend succeeds and the first operation (or `health()`) reports the
problem. Public methods validate their arguments here, once, and call the plugin's hooks
with checked values; the conformance suite in `storage_plugins.testing` pins down the
behaviour that the hooks must add.

Nothing here assumes SQL: a plugin stores tables of typed columns keyed by a primary key,
and answers filters, orderings and pages given as data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from storage_plugins.errors import ConfigError, InvalidQuery, SchemaConflict, StorageError
from storage_plugins.history import HistoryEntry, check_as_of, run_context
from storage_plugins.migrate import SchemaChange, diff_schemas
from storage_plugins.query import (
    Filter,
    FilterLike,
    OrderLike,
    Predicate,
    Query,
    build_query,
)
from storage_plugins.schema import Table, TabularSchema

__all__ = ["HistoryEntry", "Page", "PluginConfig", "StoragePlugin", "WriteResult"]

if TYPE_CHECKING:
    import pyarrow as pa

WriteMode = Literal["insert", "upsert", "replace"]
BatchFormat = Literal["dicts", "arrow"]
WRITE_MODES: tuple[str, ...] = ("insert", "upsert", "replace")
DEFAULT_BATCH_ROWS = 10_000
DEFAULT_MAX_PAGE_ROWS = 100_000


class PluginConfig(BaseModel):
    """Base of every plugin's settings; secrets are `SecretStr` fields.

    The limits and the history retention are common to every plugin, so that a project's
    storage configuration sets them the same way whichever backend it uses.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    statement_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description=(
            "Longest a read or count may run before the backend cancels it (PostgreSQL "
            "statement_timeout, MariaDB max_statement_time, SQLite progress handler, object "
            "store scan deadline); the caller gets a QueryTimeout naming the table."
        ),
    )
    max_page_rows: int = Field(
        default=DEFAULT_MAX_PAGE_ROWS,
        ge=1,
        description="Largest page `read` returns; a read without a limit gets this many rows.",
    )
    history_retention_days: float | None = Field(
        default=None,
        gt=0,
        description=(
            "How long past versions stay readable with as_of; None (the default) keeps every "
            "version. Applied by vacuum_history."
        ),
    )

    def redacted(self) -> dict[str, Any]:
        """The settings as plain JSON data with every secret masked: safe to log or return."""
        return self.model_dump(mode="json")


class Health(BaseModel):
    """The result of a health check; `ok` false means the backend cannot be used now."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ok: bool = Field(description="Whether the backend answered and is usable.")
    plugin: str = Field(description="The plugin's registered name.")
    backend: str = Field(description="The concrete backend, e.g. 'postgresql' or 's3'.")
    target: str = Field(description="Where the data lives, with secrets masked.")
    latency_ms: float | None = Field(
        default=None, description="Round-trip time of the check in milliseconds, when ok."
    )
    server_version: str | None = Field(
        default=None, description="The backend's version, when it reports one."
    )
    error: str | None = Field(default=None, description="Why the backend is unusable.")


class WriteResult(BaseModel):
    """What a `write` call stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str = Field(description="The table written.")
    mode: WriteMode = Field(description="The write mode used.")
    rows: int = Field(description="Number of rows written (inserted, updated or replaced).")


class Page(BaseModel):
    """One page of a read; pass `next_cursor` back to `read` for the next page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rows: list[dict[str, Any]] = Field(description="The rows, as column → value mappings.")
    next_cursor: str | None = Field(
        default=None, description="Cursor of the next page; None when this page is the last."
    )


class StoragePlugin(ABC):
    """Abstract tabular storage: schema, atomic writes, filtered paged reads, health.

    Subclasses set `name`, `Config` and the capability flags, and implement the abstract
    methods. Instances are thread-safe and hold pooled connections until `close()`.

    Example:
        >>> from storage_plugins.sql import SQLStoragePlugin, SQLConfig  # doctest: +SKIP
        >>> store = SQLStoragePlugin(SQLConfig(url="sqlite:///project.db"))  # doctest: +SKIP
        >>> store.apply_schema(schema)  # doctest: +SKIP
        >>> store.write("order", [{"id": 1, "total": Decimal("9.50")}])  # doctest: +SKIP
        >>> store.read("order", where=[Filter("total", "gt", 5)], limit=100)  # doctest: +SKIP
    """

    name: ClassVar[str]
    Config: ClassVar[type[PluginConfig]]

    supports_transactions: ClassVar[bool] = False
    """Writes run in backend transactions (otherwise atomicity comes from a commit protocol)."""
    supports_concurrent_writers: ClassVar[bool] = True
    """Several processes may write the same table at once without losing rows."""
    supports_indexes: ClassVar[bool] = False
    """Secondary indexes are created in the backend (otherwise they are recorded only)."""
    supports_arrow: ClassVar[bool] = True
    """`iter_batches(format="arrow")` works (needs pyarrow)."""
    enforces_foreign_keys: ClassVar[bool] = False
    """Foreign keys are checked on write (no built-in plugin does; they are declarative)."""
    supports_history: ClassVar[bool] = False
    """Writes keep history: `as_of` reads, `table_history` and `vacuum_history` work."""

    CAPABILITIES: ClassVar[tuple[str, ...]] = (
        "supports_transactions",
        "supports_concurrent_writers",
        "supports_indexes",
        "supports_arrow",
        "enforces_foreign_keys",
        "supports_history",
    )

    def __init__(self, config: PluginConfig | Mapping[str, Any]) -> None:
        """Validate `config` (a `Config` instance or its fields); does not connect.

        Raises `ConfigError` (its ``__cause__`` is pydantic's `ValidationError`).
        """
        try:
            self.config = self.Config.model_validate(config)
        except ValidationError as exc:
            raise ConfigError(f"invalid settings for storage plugin {self.name!r}: {exc}") from exc

    @classmethod
    def capabilities(cls) -> dict[str, bool]:
        """The capability flags, by name."""
        return {flag: bool(getattr(cls, flag)) for flag in cls.CAPABILITIES}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config.redacted()!r})"

    # ------------------------------------------------------------------ schema

    @abstractmethod
    def schema(self) -> TabularSchema:
        """The stored schema (empty for a fresh store); raises `BackendUnavailable`."""

    @abstractmethod
    def apply_schema(self, schema: TabularSchema, *, force: bool = False) -> SchemaChange:
        """Make the store match `schema`: create tables and apply additive migrations.

        Idempotent. Breaking changes (see `storage_plugins.migrate`) raise `SchemaConflict`
        and change nothing unless ``force=True``, which drops removed tables and columns and
        rebuilds tables whose key or column types changed (their rows are lost).
        """

    def plan_schema(self, schema: TabularSchema) -> SchemaChange:
        """What `apply_schema(schema)` would do, without doing it."""
        return diff_schemas(self.schema(), schema)

    def tables(self) -> list[str]:
        """Names of the stored tables."""
        return self.schema().table_names

    def describe(self, table: str) -> Table:
        """The schema of one table; raises `TableNotFound`."""
        return self.schema().table(table)

    # ------------------------------------------------------------------ data

    @abstractmethod
    def write(
        self,
        table: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        mode: WriteMode = "insert",
        run_id: str | None = None,
    ) -> WriteResult:
        """Store `rows` in `table`, all of them or none.

        Modes: ``insert`` refuses keys that exist; ``upsert`` inserts new keys and replaces
        the whole row of existing ones (columns missing from a row become NULL); ``replace``
        makes the table hold exactly `rows`. `rows` may be any iterable (a generator of a
        million rows is consumed in chunks). Raises `RowRejected` naming the first bad row,
        `TableNotFound`, `WriteConflict`, `BackendUnavailable`.

        A plugin with `supports_history` keeps the replaced and deleted row versions in the
        same transaction/commit and records the change in `table_history`, attributed to
        `run_id` (default: the enclosing `storage_plugins.history.run_context`).
        """

    def read(
        self,
        table: str,
        *,
        where: Sequence[FilterLike] = (),
        columns: Sequence[str] | None = None,
        order_by: Sequence[OrderLike] | OrderLike = (),
        limit: int | None = None,
        cursor: str | None = None,
        as_of: datetime | None = None,
    ) -> Page:
        """One page of rows matching all of `where`, sorted by `order_by` then the key.

        `limit` None reads up to `max_page_rows` rows (a larger limit is refused; use
        `iter_batches` for big tables); pass a page's `next_cursor` as `cursor`, with the
        same `where`, `order_by` and `as_of`, to continue.

        `as_of` (a timezone-aware datetime) reads the table as it was at that instant: the
        rows committed at or before it, in their versions of that moment, under the current
        schema (columns added later read as NULL). An instant before the table existed
        gives no rows. Needs `supports_history`; raises `InvalidQuery` for a naive datetime
        or an instant whose history was trimmed by `vacuum_history`. The read is cancelled
        after `statement_timeout_s` with `QueryTimeout`.
        """
        query = self._query(table, where, columns, order_by, limit, cursor, as_of)
        if limit == 0:
            return Page.model_construct(rows=[], next_cursor=None)
        if limit is None:
            limit = self.config.max_page_rows
            query = replace(query, limit=limit)
        rows = self._fetch(query)
        next_cursor = None
        if limit is not None and len(rows) > limit:
            rows = rows[:limit]
            next_cursor = query.cursor_after(rows[-1])
        if query.fetch_columns != query.columns:
            keep = query.columns
            rows = [{c: row[c] for c in keep} for row in rows]
        return Page.model_construct(rows=rows, next_cursor=next_cursor)

    @overload
    def iter_batches(
        self,
        table: str,
        *,
        where: Sequence[FilterLike] = ...,
        columns: Sequence[str] | None = ...,
        order_by: Sequence[OrderLike] | OrderLike = ...,
        batch_size: int = ...,
        format: Literal["dicts"] = ...,
    ) -> Iterator[list[dict[str, Any]]]: ...

    @overload
    def iter_batches(
        self,
        table: str,
        *,
        where: Sequence[FilterLike] = ...,
        columns: Sequence[str] | None = ...,
        order_by: Sequence[OrderLike] | OrderLike = ...,
        batch_size: int = ...,
        format: Literal["arrow"],
    ) -> Iterator[pa.RecordBatch]: ...

    def iter_batches(
        self,
        table: str,
        *,
        where: Sequence[FilterLike] = (),
        columns: Sequence[str] | None = None,
        order_by: Sequence[OrderLike] | OrderLike = (),
        batch_size: int = DEFAULT_BATCH_ROWS,
        format: BatchFormat = "dicts",
    ) -> Iterator[list[dict[str, Any]]] | Iterator[pa.RecordBatch]:
        """Stream matching rows in batches of at most `batch_size` rows.

        Without `order_by` the order is unspecified (whatever is cheapest for the backend).
        ``format="arrow"`` yields `pyarrow.RecordBatch` objects typed by
        `storage_plugins.arrow.arrow_schema`. Close the iterator (or exhaust it) to release
        its connection.
        """
        if isinstance(batch_size, bool) or batch_size < 1:
            raise InvalidQuery(f"batch_size must be a positive integer, got {batch_size!r}")
        if format not in ("dicts", "arrow"):
            raise InvalidQuery(f"format must be 'dicts' or 'arrow', got {format!r}")
        query = self._query(table, where, columns, order_by, None, None)
        ordered = bool(order_by)
        return self._stream(query, batch_size=batch_size, ordered=ordered, arrow=format == "arrow")

    def count(
        self,
        table: str,
        *,
        where: Sequence[FilterLike] = (),
        as_of: datetime | None = None,
    ) -> int:
        """Number of rows matching all of `where` (at instant `as_of`, see `read`)."""
        query = self._query(table, where, None, (), None, None, as_of)
        if query.as_of is None:
            return self._count(query.table, query.predicate)
        return self._count(query.table, query.predicate, as_of=query.as_of)

    def delete(
        self, table: str, *, where: Sequence[FilterLike], run_id: str | None = None
    ) -> int:
        """Delete the rows matching all of `where` (an empty sequence deletes every row).

        Atomic like `write` (and kept in history like it); returns the number of rows deleted.
        """
        query = self._query(table, where, None, (), None, None)
        if run_id is None:
            return self._delete(query.table, query.predicate)
        with run_context(run_id):
            return self._delete(query.table, query.predicate)

    def table_history(self, table: str, *, limit: int = 100) -> list[HistoryEntry]:
        """The changes of `table`, newest first: when, which operation, how many rows, which
        pipeline run. Raises `TableNotFound`; `StorageError` when the plugin keeps no history.
        """
        if isinstance(limit, bool) or limit < 1:
            raise InvalidQuery(f"limit must be a positive integer, got {limit!r}")
        self._require_history()
        return self._history(self.describe(table), limit)

    def vacuum_history(self, *, older_than: datetime | None = None) -> int:
        """Forget row versions that stopped being current before `older_than` (default: the
        `history_retention_days` setting; with neither, nothing is trimmed and 0 returned).

        Afterwards `as_of` reads before the cut-off are refused. Returns how many versions
        (SQL: history rows; Delta: files) were removed.
        """
        self._require_history()
        from storage_plugins.history import retention_cutoff

        cutoff = retention_cutoff(older_than, self.config.history_retention_days)
        if cutoff is None:
            return 0
        return self._vacuum(cutoff)

    def _require_history(self) -> None:
        if not self.supports_history:
            raise StorageError(f"storage plugin {self.name!r} keeps no history")

    def _history(self, table: Table, limit: int) -> list[HistoryEntry]:
        """Hook: the newest `limit` changes of `table`."""
        raise StorageError(f"storage plugin {self.name!r} keeps no history")

    def _vacuum(self, cutoff: datetime) -> int:
        """Hook: trim history older than `cutoff`."""
        raise StorageError(f"storage plugin {self.name!r} keeps no history")

    @abstractmethod
    def health(self) -> Health:
        """Check the backend within a few seconds; never raises for an unreachable backend."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and pools; the instance may not be used afterwards."""

    # ------------------------------------------------------------------ hooks

    def _query(
        self,
        table: str,
        where: Sequence[FilterLike],
        columns: Sequence[str] | None,
        order_by: Sequence[OrderLike] | OrderLike,
        limit: int | None,
        cursor: str | None,
        as_of: datetime | None = None,
    ) -> Query:
        if isinstance(where, Filter | Mapping | str):
            raise InvalidQuery("where must be a list of filters, e.g. [Filter('a', 'eq', 1)]")
        if as_of is not None:
            self._require_history()
        max_rows = self.config.max_page_rows
        if limit is not None and not isinstance(limit, bool) and limit > max_rows:
            raise InvalidQuery(
                f"limit {limit} exceeds the maximum page size of {max_rows} rows "
                "(setting max_page_rows); page with the cursor or use iter_batches"
            )
        return build_query(
            self.describe(table),
            where=where,
            columns=columns,
            order_by=order_by,
            limit=limit,
            cursor=cursor,
            as_of=check_as_of(as_of),
        )

    @abstractmethod
    def _fetch(self, query: Query) -> list[dict[str, Any]]:
        """Rows for `query`: its `fetch_columns`, sorted by `query.order`, filtered by
        `query.predicate`, at most ``query.limit + 1`` of them when a limit is set, as of
        `query.as_of` when that is set."""

    @abstractmethod
    def _stream(
        self, query: Query, *, batch_size: int, ordered: bool, arrow: bool
    ) -> Iterator[Any]:
        """Batches of `query.columns` for `query` (dict lists, or record batches if `arrow`);
        sorted by `query.order` when `ordered`, in any order otherwise."""

    @abstractmethod
    def _count(
        self, table: Table, predicate: Predicate | None, *, as_of: datetime | None = None
    ) -> int:
        """Number of rows of `table` matching `predicate` (all rows when None), at `as_of`
        (only passed by plugins with `supports_history`)."""

    @abstractmethod
    def _delete(self, table: Table, predicate: Predicate | None) -> int:
        """Delete the rows of `table` matching `predicate`; return how many."""


def check_change(change: SchemaChange, *, force: bool) -> None:
    """Raise `SchemaConflict` when `change` is breaking and not forced."""
    if change.breaking and not force:
        raise SchemaConflict(change.breaking)


def check_mode(mode: str) -> None:
    """Raise `InvalidQuery` for an unknown write mode."""
    if mode not in WRITE_MODES:
        raise InvalidQuery(f"mode must be one of {', '.join(WRITE_MODES)}, got {mode!r}")
