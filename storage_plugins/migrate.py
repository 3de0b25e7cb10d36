"""Schema diffs: what `apply_schema` must do to turn the stored schema into the desired one.

The diff is computed once, here, for every plugin, so that "additive" and "breaking" mean
the same thing on SQLite and on S3. Additive changes (new tables, new nullable columns,
new or removed indexes, metadata) keep every stored value; breaking changes (dropped
tables or columns, changed column types or nullability, new NOT NULL columns, a changed
primary key) would lose or invalidate data and are only applied with ``force=True``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from storage_plugins.schema import Column, TabularSchema

ChangeKind = Literal[
    "create_table",
    "drop_table",
    "add_column",
    "drop_column",
    "alter_column",
    "recreate_table",
    "add_index",
    "drop_index",
    "update_metadata",
]


class Change(BaseModel):
    """One step of a schema migration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ChangeKind = Field(description="What the step does.")
    table: str = Field(description="The table the step touches.")
    column: str | None = Field(default=None, description="The column, for column steps.")
    index: str | None = Field(default=None, description="The index name, for index steps.")
    breaking: bool = Field(description="True when the step loses or invalidates stored data.")
    detail: str = Field(default="", description="Human-readable explanation of the step.")

    def __str__(self) -> str:
        target = f"{self.table}.{self.column}" if self.column else self.table
        text = f"{self.kind} {target}"
        if self.index:
            text += f" ({self.index})"
        return f"{text}: {self.detail}" if self.detail else text


class SchemaChange(BaseModel):
    """The plan (or the record) of an `apply_schema` call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    changes: list[Change] = Field(default_factory=list, description="Steps, in apply order.")
    applied: bool = Field(default=False, description="Whether the steps were carried out.")

    @property
    def breaking(self) -> list[Change]:
        """The breaking steps."""
        return [c for c in self.changes if c.breaking]

    @property
    def empty(self) -> bool:
        """True when the stored schema already equals the desired one."""
        return not self.changes


def _column_shape(col: Column) -> tuple[object, ...]:
    """What a column's stored values depend on (descriptions and sources do not count)."""
    return (col.type, col.nullable, col.max_length, col.precision, col.scale)


def diff_schemas(current: TabularSchema, desired: TabularSchema) -> SchemaChange:
    """Compute the steps that turn `current` into `desired`.

    A table whose primary key changes, or that has a breaking column change, gets one
    ``recreate_table`` step (plugins rebuild it empty) instead of column steps, because no
    backend can change a key or a type in place for every possible value.
    """
    changes: list[Change] = []
    desired_names = set(desired.table_names)
    for old in current.tables:
        if old.name not in desired_names:
            changes.append(
                Change(kind="drop_table", table=old.name, breaking=True, detail="table removed")
            )
    for new in desired.tables:
        if new.name not in current.table_names:
            changes.append(Change(kind="create_table", table=new.name, breaking=False))
            continue
        old = current.table(new.name)
        table_changes: list[Change] = []
        recreate_reasons: list[str] = []
        if list(old.primary_key) != list(new.primary_key):
            recreate_reasons.append(f"primary key {old.primary_key} -> {new.primary_key}")
        old_cols = {c.name: c for c in old.columns}
        new_cols = {c.name: c for c in new.columns}
        for name in old_cols:
            if name not in new_cols:
                table_changes.append(
                    Change(
                        kind="drop_column", table=new.name, column=name, breaking=True,
                        detail="column removed",
                    )
                )
        for name, col in new_cols.items():
            before = old_cols.get(name)
            if before is None:
                if col.nullable:
                    table_changes.append(
                        Change(kind="add_column", table=new.name, column=name, breaking=False)
                    )
                else:
                    recreate_reasons.append(f"new column {name!r} is NOT NULL")
            elif _column_shape(before) != _column_shape(col):
                recreate_reasons.append(
                    f"column {name!r} {before.type_label()}"
                    f"{'' if before.nullable else ' not null'} -> {col.type_label()}"
                    f"{'' if col.nullable else ' not null'}"
                )
        if recreate_reasons:
            changes.append(
                Change(
                    kind="recreate_table", table=new.name, breaking=True,
                    detail="; ".join(recreate_reasons) + " (table is rebuilt empty)",
                )
            )
            continue
        old_ix = {old.index_name(ix): ix for ix in old.indexes}
        new_ix = {new.index_name(ix): ix for ix in new.indexes}
        for name, ix in old_ix.items():  # before column drops: an index pins its columns
            if new_ix.get(name) != ix:
                changes.append(
                    Change(kind="drop_index", table=new.name, index=name, breaking=False)
                )
        changes.extend(table_changes)
        for name, ix in new_ix.items():
            if old_ix.get(name) != ix:
                changes.append(
                    Change(kind="add_index", table=new.name, index=name, breaking=False)
                )
        if old != new and not any(c.table == new.name for c in changes):
            changes.append(
                Change(
                    kind="update_metadata", table=new.name, breaking=False,
                    detail="descriptions, sources, foreign keys or column order",
                )
            )
    metadata_changed = (current.source, current.description) != (
        desired.source, desired.description
    )
    if metadata_changed and not changes:
        changes.append(
            Change(kind="update_metadata", table="*", breaking=False, detail="schema metadata")
        )
    return SchemaChange(changes=changes)
