"""Tabular schema types: the contract between the ontology and every storage plugin.

The ontology compiler (in `ontology/`) produces a `TabularSchema`; plugins apply it and
store rows under it. Nothing here knows about SQL or files: a column has a *logical* type
(one per XSD datatype family a data ontology uses; `ontology.xsd` maps the datatypes) and each
plugin maps it to its own world.

Identifiers follow one rule everywhere (`to_identifier`): lowercase ASCII letters, digits
and underscores, starting with a letter, at most 63 characters (PostgreSQL's limit, the
tightest of our backends). Plugins still quote every identifier they emit; the rule exists
so that names are portable (case-insensitive file systems, MySQL's folded table names) and
predictable for people writing SPARQL or SQL against the store.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from storage_plugins.errors import SchemaError, TableNotFound

MAX_IDENTIFIER_LENGTH = 63
IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]*$"
_IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)
DEFAULT_KEY_STRING_LENGTH = 255
MAX_DECIMAL_PRECISION = 38

Identifier = Annotated[
    str,
    StringConstraints(pattern=IDENTIFIER_PATTERN, min_length=1, max_length=MAX_IDENTIFIER_LENGTH),
]


class ColumnType(StrEnum):
    """Logical column types; values are the XSD local names where one exists."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DOUBLE = "double"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "dateTime"
    TIME = "time"
    ANY_URI = "anyURI"
    BINARY = "binary"
    JSON = "json"


KEY_TYPES = frozenset(
    {
        ColumnType.STRING, ColumnType.ANY_URI, ColumnType.INTEGER, ColumnType.DECIMAL,
        ColumnType.BOOLEAN, ColumnType.DATE, ColumnType.DATETIME, ColumnType.TIME,
    }
)
"""Types allowed in primary keys, foreign keys and indexes (binary, JSON and double are not:
MySQL cannot index unbounded blobs, JSON has no order, and floats make poor keys)."""

INDEX_TYPES = KEY_TYPES | {ColumnType.DOUBLE}
"""Types allowed in secondary indexes."""

STRING_TYPES = frozenset({ColumnType.STRING, ColumnType.ANY_URI})


# --------------------------------------------------------------------------- naming rule

def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]


def is_identifier(name: str) -> bool:
    """True when `name` already follows the identifier rule."""
    return len(name) <= MAX_IDENTIFIER_LENGTH and bool(_IDENTIFIER_RE.match(name))


def to_identifier(name: str, *, max_length: int = MAX_IDENTIFIER_LENGTH) -> str:
    """Derive the identifier for an ontology name (a local name, or an IRI's last segment).

    The rule is stable (a pure function of `name`): accents are stripped, camelCase and
    PascalCase become snake_case, every other run of non-alphanumerics becomes one ``_``,
    a leading digit gets an ``n_`` prefix, and an over-long result is cut and suffixed with
    a hash of the full name so that two long names never share a prefix-identifier.
    Distinct names can still map to the same identifier ("OrderLine", "order_line");
    `NameAllocator` resolves such collisions within one namespace.

    >>> to_identifier("OrderLine"), to_identifier("hasHTTPStatus"), to_identifier("3DModel")
    ('order_line', 'has_http_status', 'n_3d_model')
    >>> to_identifier("http://example.org/onto#Café")
    'cafe'
    """
    local = re.split(r"[#/]", name.rstrip("#/"))[-1] or name
    text = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"([a-z])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([0-9])([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    if not text:
        text = "x_" + _short_hash(name)
    elif text[0].isdigit():
        text = "n_" + text
    if len(text) > max_length:
        text = text[: max_length - 9].rstrip("_") + "_" + _short_hash(name)
    return text


def join_identifiers(*parts: str) -> str:
    """Join identifiers with ``_``, shortening with a hash when the result is too long."""
    joined = "_".join(parts)
    if len(joined) <= MAX_IDENTIFIER_LENGTH:
        return joined
    return joined[: MAX_IDENTIFIER_LENGTH - 9].rstrip("_") + "_" + _short_hash(joined)


class NameAllocator:
    """Assigns collision-free identifiers within one namespace (tables, or one table's columns).

    Identifiers already in use (`taken`, source name → identifier, e.g. from the previous
    schema version) are kept, so recompiling an ontology never renames existing tables or
    columns. A new name gets `to_identifier(name)`; if another source already holds that
    identifier it gets the identifier suffixed with a hash of its own source name, which is
    again a pure function of the name.

    >>> names = NameAllocator()
    >>> names.assign("OrderLine"), names.assign("order_line"), names.assign("OrderLine")
    ('order_line', 'order_line_3c23e705', 'order_line')
    """

    def __init__(self, taken: Mapping[str, str] | None = None) -> None:
        self._by_source: dict[str, str] = dict(taken or {})
        self._used: set[str] = set(self._by_source.values())

    @classmethod
    def for_tables(cls, schema: TabularSchema) -> NameAllocator:
        """An allocator seeded with the table names of an existing schema."""
        return cls({t.source or t.name: t.name for t in schema.tables})

    @classmethod
    def for_columns(cls, table: Table) -> NameAllocator:
        """An allocator seeded with the column names of an existing table."""
        return cls({c.source or c.name: c.name for c in table.columns})

    def reserve(self, identifier: str) -> None:
        """Mark an identifier as used without a source (e.g. a generated key column)."""
        self._used.add(identifier)

    def assign(self, source: str) -> str:
        """Return the identifier for `source`, allocating one on first use."""
        if source in self._by_source:
            return self._by_source[source]
        candidate = to_identifier(source)
        if candidate in self._used:
            candidate = join_identifiers(candidate[:54], _short_hash(source))
        counter = 2
        base = candidate
        while candidate in self._used:  # a hash collision: practically never
            candidate = join_identifiers(base, str(counter))
            counter += 1
        self._by_source[source] = candidate
        self._used.add(candidate)
        return candidate


# --------------------------------------------------------------------------- models

_FROZEN = ConfigDict(extra="forbid", frozen=True, revalidate_instances="always")


class Column(BaseModel):
    """A typed column of a table."""

    model_config = _FROZEN

    name: Identifier = Field(description="Identifier of the column (see `to_identifier`).")
    type: ColumnType = Field(description="Logical type of the column's values.")
    nullable: bool = Field(default=True, description="Whether the column accepts NULL.")
    max_length: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Maximum length in characters, for string and anyURI columns only; None means "
            "unbounded (string primary-key columns default to 255)."
        ),
    )
    precision: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DECIMAL_PRECISION,
        description="Total number of digits, for decimal columns only (default 38).",
    )
    scale: int | None = Field(
        default=None,
        ge=0,
        description="Digits after the decimal point, for decimal columns only (default 10).",
    )
    description: str | None = Field(default=None, description="Human-readable description.")
    source: str | None = Field(
        default=None, description="The ontology property (IRI) this column represents."
    )

    @model_validator(mode="after")
    def _check_type_options(self) -> Column:
        if self.max_length is not None and self.type not in STRING_TYPES:
            raise ValueError(f"column {self.name!r}: max_length applies to string columns only")
        if self.type is ColumnType.DECIMAL:
            precision = self.precision if self.precision is not None else MAX_DECIMAL_PRECISION
            scale = self.scale if self.scale is not None else min(10, precision)
            if scale > precision:
                raise ValueError(f"column {self.name!r}: scale {scale} > precision {precision}")
            object.__setattr__(self, "precision", precision)
            object.__setattr__(self, "scale", scale)
        elif self.precision is not None or self.scale is not None:
            raise ValueError(f"column {self.name!r}: precision/scale apply to decimals only")
        return self

    def type_label(self) -> str:
        """The type with its options, e.g. ``decimal(38,10)`` or ``string(255)``."""
        if self.type is ColumnType.DECIMAL:
            return f"decimal({self.precision},{self.scale})"
        if self.max_length is not None:
            return f"{self.type.value}({self.max_length})"
        return self.type.value


class ForeignKey(BaseModel):
    """A reference from some columns of a table to the primary key of another table.

    Foreign keys are declarative: they tell readers (the twin, model features) how tables
    join, and no plugin enforces them, because ingestion writes classes in any order.
    """

    model_config = _FROZEN

    columns: list[Identifier] = Field(min_length=1, description="Referencing columns.")
    references: Identifier = Field(description="The referenced table.")
    ref_columns: list[Identifier] = Field(
        min_length=1, description="The referenced table's primary-key columns, in key order."
    )
    source: str | None = Field(
        default=None, description="The ontology object property (IRI) this key represents."
    )
    description: str | None = Field(default=None, description="Human-readable description.")


class Index(BaseModel):
    """A secondary index: a hint for fast filtering and ordering, never a constraint."""

    model_config = _FROZEN

    columns: list[Identifier] = Field(min_length=1, description="Indexed columns, in order.")
    name: Identifier | None = Field(
        default=None, description="Index name; derived from table and columns when None."
    )


class Table(BaseModel):
    """A table: one ontology class (``kind="entity"``) or one many-to-many relation (``"link"``)."""

    model_config = _FROZEN

    name: Identifier = Field(description="Identifier of the table (see `to_identifier`).")
    columns: list[Column] = Field(min_length=1, description="Columns, in display order.")
    primary_key: list[Identifier] = Field(
        min_length=1, description="Columns whose values identify a row; never NULL."
    )
    foreign_keys: list[ForeignKey] = Field(
        default_factory=list, description="References to other tables' primary keys."
    )
    indexes: list[Index] = Field(default_factory=list, description="Secondary indexes.")
    kind: Literal["entity", "link"] = Field(
        default="entity",
        description="'entity' for a class table, 'link' for a many-to-many link table.",
    )
    source: str | None = Field(
        default=None, description="The ontology class or property (IRI) this table represents."
    )
    description: str | None = Field(default=None, description="Human-readable description.")

    @model_validator(mode="before")
    @classmethod
    def _bound_string_keys(cls, data: Any) -> Any:
        """Give unbounded string key columns a length, which MySQL needs to index them."""
        if not isinstance(data, Mapping):
            return data
        keys = set(data.get("primary_key") or ())
        columns = []
        for col in data.get("columns") or ():
            if (
                isinstance(col, Mapping)
                and col.get("name") in keys
                and str(col.get("type")) in {t.value for t in STRING_TYPES}
                and col.get("max_length") is None
            ):
                col = {**col, "max_length": DEFAULT_KEY_STRING_LENGTH}
            elif (
                isinstance(col, Column)
                and col.name in keys
                and col.type in STRING_TYPES
                and col.max_length is None
            ):
                col = col.model_copy(update={"max_length": DEFAULT_KEY_STRING_LENGTH})
            columns.append(col)
        return {**data, "columns": columns}

    @model_validator(mode="after")
    def _check(self) -> Table:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"table {self.name!r}: duplicate columns {dupes}")
        by_name = {c.name: c for c in self.columns}

        def need(cols: Iterable[str], what: str) -> None:
            allowed = INDEX_TYPES if what == "index" else KEY_TYPES
            for col in cols:
                if col not in by_name:
                    raise ValueError(f"table {self.name!r}: {what} names unknown column {col!r}")
                if by_name[col].type not in allowed:
                    raise ValueError(
                        f"table {self.name!r}: {what} column {col!r} has type "
                        f"{by_name[col].type.value}, which cannot be a key or be indexed"
                    )

        need(self.primary_key, "primary key")
        if len(set(self.primary_key)) != len(self.primary_key):
            raise ValueError(f"table {self.name!r}: primary key repeats a column")
        for col in self.primary_key:
            if by_name[col].nullable:
                raise ValueError(
                    f"table {self.name!r}: primary-key column {col!r} must have nullable=False"
                )
        for fk in self.foreign_keys:
            need(fk.columns, "foreign key")
            if len(fk.columns) != len(fk.ref_columns):
                raise ValueError(f"table {self.name!r}: foreign key column counts differ")
        seen: set[tuple[str, ...]] = set()
        index_names: set[str] = set()
        for ix in self.indexes:
            need(ix.columns, "index")
            if tuple(ix.columns) in seen:
                raise ValueError(f"table {self.name!r}: two indexes on {ix.columns}")
            seen.add(tuple(ix.columns))
            if self.index_name(ix) in index_names:
                raise ValueError(f"table {self.name!r}: duplicate index name")
            index_names.add(self.index_name(ix))
        if self.kind == "link":
            fk_cols = [c for fk in self.foreign_keys for c in fk.columns]
            if len(self.foreign_keys) != 2 or sorted(fk_cols) != sorted(self.primary_key):
                raise ValueError(
                    f"link table {self.name!r}: needs exactly two foreign keys whose columns "
                    "together form the primary key"
                )
        return self

    @property
    def column_names(self) -> list[str]:
        """Column identifiers, in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called `name`; raises `SchemaError` listing the known columns."""
        for col in self.columns:
            if col.name == name:
                return col
        raise SchemaError(
            f"table {self.name!r} has no column {name!r}; columns: {', '.join(self.column_names)}"
        )

    def index_name(self, index: Index) -> str:
        """The effective name of one of this table's indexes."""
        return index.name or join_identifiers("ix", self.name, *index.columns)


class TabularSchema(BaseModel):
    """The complete tabular shape of a project's data."""

    model_config = _FROZEN

    tables: list[Table] = Field(default_factory=list, description="Tables, in display order.")
    source: str | None = Field(
        default=None, description="The ontology (IRI, version) this schema was compiled from."
    )
    description: str | None = Field(default=None, description="Human-readable description.")

    @model_validator(mode="after")
    def _check(self) -> TabularSchema:
        names = [t.name for t in self.tables]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate tables {dupes}")
        by_name = {t.name: t for t in self.tables}
        index_names: dict[str, str] = {}
        for table in self.tables:
            for ix in table.indexes:
                ix_name = table.index_name(ix)
                if index_names.setdefault(ix_name, table.name) != table.name:
                    raise ValueError(f"index name {ix_name!r} is used by two tables")
            for fk in table.foreign_keys:
                target = by_name.get(fk.references)
                if target is None:
                    raise ValueError(
                        f"table {table.name!r}: foreign key references unknown table "
                        f"{fk.references!r}"
                    )
                if list(fk.ref_columns) != list(target.primary_key):
                    raise ValueError(
                        f"table {table.name!r}: foreign key must reference the primary key "
                        f"{target.primary_key} of {target.name!r}, not {fk.ref_columns}"
                    )
                for col, ref in zip(fk.columns, fk.ref_columns, strict=True):
                    if table.column(col).type is not target.column(ref).type:
                        raise ValueError(
                            f"table {table.name!r}: foreign-key column {col!r} has type "
                            f"{table.column(col).type.value} but {target.name}.{ref} has "
                            f"{target.column(ref).type.value}"
                        )
        return self

    @property
    def table_names(self) -> list[str]:
        """Table identifiers, in order."""
        return [t.name for t in self.tables]

    def table(self, name: str) -> Table:
        """The table called `name`; raises `TableNotFound` listing the known tables."""
        for table in self.tables:
            if table.name == name:
                return table
        raise TableNotFound(name, self.table_names)

    def with_table(self, table: Table) -> TabularSchema:
        """A copy with `table` added, or replacing the table of the same name."""
        tables = [t for t in self.tables if t.name != table.name]
        index = next((i for i, t in enumerate(self.tables) if t.name == table.name), None)
        tables.insert(len(tables) if index is None else index, table)
        return TabularSchema(tables=tables, source=self.source, description=self.description)

    def without_table(self, name: str) -> TabularSchema:
        """A copy without the table called `name` (which must exist)."""
        self.table(name)
        return TabularSchema(
            tables=[t for t in self.tables if t.name != name],
            source=self.source,
            description=self.description,
        )


def link_table(
    name: str,
    left: Table,
    right: Table,
    *,
    left_prefix: str | None = None,
    right_prefix: str | None = None,
    source: str | None = None,
    description: str | None = None,
) -> Table:
    """Build the link table of a many-to-many relation between `left` and `right`.

    Its columns are the two primary keys, prefixed (``<left>_<pk>``, ``<right>_<pk>``; a
    self-relation uses ``subject_`` and ``object_``), its key is all of them, it has one
    foreign key to each side and an index on the right side for reverse lookups.

    >>> person = Table(name="person", columns=[Column(name="id", type="integer",
    ...     nullable=False)], primary_key=["id"])
    >>> link_table("person_knows", person, person).column_names
    ['subject_id', 'object_id']
    """
    if left_prefix is None and right_prefix is None and left.name == right.name:
        left_prefix, right_prefix = "subject", "object"
    left_prefix = left_prefix or left.name
    right_prefix = right_prefix or right.name
    if left_prefix == right_prefix:
        raise SchemaError(f"link table {name!r}: both sides use the prefix {left_prefix!r}")

    def side(table: Table, prefix: str) -> tuple[list[Column], ForeignKey]:
        cols = [
            table.column(pk).model_copy(
                update={
                    "name": join_identifiers(prefix, pk),
                    "nullable": False,
                    "description": None,
                    "source": None,
                }
            )
            for pk in table.primary_key
        ]
        fk = ForeignKey(
            columns=[c.name for c in cols], references=table.name, ref_columns=table.primary_key
        )
        return cols, fk

    left_cols, left_fk = side(left, left_prefix)
    right_cols, right_fk = side(right, right_prefix)
    columns = left_cols + right_cols
    return Table(
        name=name,
        kind="link",
        columns=columns,
        primary_key=[c.name for c in columns],
        foreign_keys=[left_fk, right_fk],
        indexes=[Index(columns=[c.name for c in right_cols])],
        source=source,
        description=description,
    )
