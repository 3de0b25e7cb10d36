"""The conformance suite every storage plugin must pass, unchanged.

Subclass `ConformanceSuite` in a test module and provide two fixtures:

* ``plugin``: a plugin instance on a fresh, empty store (function scope);
* ``unreachable_plugin``: a plugin configured for a backend that is down (a closed port,
  an unusable path), to check that failures are fast and clear.

.. code-block:: python

    from storage_plugins.testing import ConformanceSuite

    class TestMyPlugin(ConformanceSuite):
        @pytest.fixture
        def plugin(self, tmp_path):
            with MyPlugin(MyConfig(path=str(tmp_path))) as store:
                yield store

        @pytest.fixture
        def unreachable_plugin(self):
            return MyPlugin(MyConfig(host="127.0.0.1", port=1))

The suite writes only through the public interface and asserts observable behaviour, so
a plugin for a backend that is not SQL passes it the same way. The 1M-row test is marked
``slow``; it still runs in the default test command.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from storage_plugins.arrow import arrow_schema
from storage_plugins.base import StoragePlugin
from storage_plugins.conformance_data import (
    BAD_VALUES,
    EDGE_ROWS,
    EVERYTHING,
    FILTER_CASES,
    JAN1,
    ORDER_CASES,
    PEOPLE,
    PERSON,
)
from storage_plugins.errors import (
    BackendUnavailable,
    InvalidCursor,
    InvalidQuery,
    RowRejected,
    SchemaConflict,
    StorageError,
    TableNotFound,
)
from storage_plugins.query import Filter
from storage_plugins.schema import (
    Column,
    ColumnType,
    ForeignKey,
    Index,
    Table,
    TabularSchema,
    link_table,
)
from storage_plugins.testing_history import HistoryConformance


def _ids(rows: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in rows]


def _event_table() -> Table:
    return Table(
        name="event",
        columns=[
            Column(name="id", type=ColumnType.INTEGER, nullable=False),
            Column(name="writer", type=ColumnType.INTEGER, nullable=False),
            Column(name="n", type=ColumnType.INTEGER),
        ],
        primary_key=["id"],
    )


class ConformanceSuite(HistoryConformance):
    """Behaviour every `StoragePlugin` shares. Subclasses provide the two fixtures."""

    @pytest.fixture
    def plugin(self) -> Iterator[StoragePlugin]:
        """A plugin on a fresh, empty store; subclasses must override."""
        raise NotImplementedError("subclasses of ConformanceSuite provide a plugin fixture")

    @pytest.fixture
    def unreachable_plugin(self) -> StoragePlugin:
        """A plugin whose backend is down; subclasses must override."""
        raise NotImplementedError("subclasses provide an unreachable_plugin fixture")

    @pytest.fixture
    def people(self, plugin: StoragePlugin) -> StoragePlugin:
        plugin.apply_schema(TabularSchema(tables=[PERSON]))
        plugin.write("person", PEOPLE)
        return plugin

    # ------------------------------------------------------------------ schema

    def test_fresh_store_is_empty(self, plugin: StoragePlugin) -> None:
        assert plugin.schema() == TabularSchema()
        assert plugin.tables() == []
        with pytest.raises(TableNotFound, match="nosuch"):
            plugin.describe("nosuch")

    def test_apply_schema_creates_and_is_idempotent(self, plugin: StoragePlugin) -> None:
        schema = TabularSchema(tables=[PERSON, EVERYTHING], source="urn:onto:v1")
        change = plugin.apply_schema(schema)
        assert change.applied
        assert sorted((c.kind, c.table) for c in change.changes) == [
            ("create_table", "everything"), ("create_table", "person"),
        ]
        assert plugin.schema() == schema
        assert sorted(plugin.tables()) == ["everything", "person"]
        assert plugin.describe("person") == PERSON
        again = plugin.apply_schema(schema)
        assert again.empty and again.applied
        assert plugin.count("person") == 0

    def test_additive_migration_keeps_rows(self, people: StoragePlugin) -> None:
        extended = PERSON.model_copy(
            update={
                "columns": [*PERSON.columns, Column(name="nickname", type=ColumnType.STRING)],
                "indexes": [*PERSON.indexes, Index(columns=["born"])],
            }
        )
        schema = TabularSchema(tables=[extended, EVERYTHING])
        plan = people.plan_schema(schema)
        assert not plan.applied and not plan.breaking
        assert people.schema().table_names == ["person"]  # planning changed nothing
        change = people.apply_schema(schema)
        assert {(c.kind, c.table, c.column) for c in change.changes} >= {
            ("add_column", "person", "nickname"), ("create_table", "everything", None),
        }
        assert any(c.kind == "add_index" for c in change.changes)
        assert not change.breaking
        rows = people.read("person").rows
        assert _ids(rows) == list(range(8))
        assert all(r["nickname"] is None for r in rows)
        assert rows[3]["balance"] == Decimal("99999.99")
        people.write("person", [{"id": 8, "name": "new", "nickname": "nu"}])
        page = people.read("person", where=[Filter("nickname", "eq", "nu")])
        assert page.rows == [
            {c: None for c in extended.column_names} | {"id": 8, "name": "new", "nickname": "nu"}
        ]

    @pytest.mark.parametrize(
        "change_kind",
        ["drop_column", "change_type", "make_not_null", "new_not_null", "drop_table", "new_key"],
    )
    def test_breaking_change_is_refused(self, people: StoragePlugin, change_kind: str) -> None:
        columns = list(PERSON.columns)
        tables = [PERSON]
        if change_kind == "drop_column":
            columns = [c for c in columns if c.name != "born"]
        elif change_kind == "change_type":
            columns = [c.model_copy(update={"type": "string"}) if c.name == "age" else c
                       for c in columns]
        elif change_kind == "make_not_null":
            columns = [c.model_copy(update={"nullable": False}) if c.name == "name" else c
                       for c in columns]
        elif change_kind == "new_not_null":
            columns = [*columns, Column(name="code", type=ColumnType.STRING, nullable=False)]
        if change_kind == "drop_table":
            tables = [EVERYTHING]
        else:
            key = ["id", "age"] if change_kind == "new_key" else ["id"]
            if change_kind == "new_key":
                columns = [c.model_copy(update={"nullable": False}) if c.name == "age" else c
                           for c in columns]
            tables = [PERSON.model_copy(update={"columns": columns, "primary_key": key})]
        before = people.schema()
        with pytest.raises(SchemaConflict, match="force=True") as info:
            people.apply_schema(TabularSchema(tables=tables))
        assert info.value.changes and all(c.breaking for c in info.value.changes)
        assert "person" in str(info.value)
        assert people.schema() == before
        assert _ids(people.read("person").rows) == list(range(8))

    def test_forced_breaking_changes(self, people: StoragePlugin) -> None:
        people.apply_schema(TabularSchema(tables=[PERSON, EVERYTHING]))
        people.write("everything", EDGE_ROWS[:3])
        slim = PERSON.model_copy(
            update={
                "columns": [c for c in PERSON.columns if c.name not in ("score", "age")],
                "indexes": [Index(columns=["name"])],
            }
        )
        retyped = EVERYTHING.model_copy(
            update={
                "columns": [
                    c.model_copy(update={"type": "string"}) if c.name == "i" else c
                    for c in EVERYTHING.columns
                ]
            }
        )
        change = people.apply_schema(TabularSchema(tables=[slim, retyped]), force=True)
        assert change.applied and change.breaking
        # dropped columns: the other columns keep their data
        rows = people.read("person").rows
        assert _ids(rows) == list(range(8))
        assert set(rows[0]) == set(slim.column_names)
        assert rows[5]["name"] == "a_b%c"
        # a changed type rebuilds the table empty, with the new type usable
        assert people.count("everything") == 0
        people.write("everything", [{"id": 1, "i": "now text"}])
        assert people.read("everything", columns=["i"]).rows == [{"i": "now text"}]
        # a dropped table is gone
        people.apply_schema(TabularSchema(tables=[slim]), force=True)
        assert people.tables() == ["person"]
        with pytest.raises(TableNotFound):
            people.count("everything")
        # re-creating a dropped table starts empty
        people.apply_schema(TabularSchema(tables=[slim, EVERYTHING]))
        assert people.count("everything") == 0

    def test_concurrent_schema_changes(self, plugin: StoragePlugin) -> None:
        schema = TabularSchema(tables=[PERSON, _event_table()])
        start = threading.Barrier(3)

        def work(_: int) -> bool:
            other = type(plugin)(plugin.config)
            try:
                start.wait()
                return other.apply_schema(schema).empty
            finally:
                other.close()

        with ThreadPoolExecutor(max_workers=3) as pool:
            empties = list(pool.map(work, range(3)))
        assert sorted(empties) == [False, True, True]  # exactly one did the work
        assert plugin.schema() == schema
        plugin.write("event", [{"id": 1, "writer": 1}])
        assert plugin.count("event") == 1

    def test_link_tables_and_foreign_keys(self, plugin: StoragePlugin) -> None:
        tag = Table(
            name="tag",
            columns=[Column(name="label", type=ColumnType.STRING, nullable=False)],
            primary_key=["label"],
        )
        order = Table(
            name="order",  # a reserved word in SQL: must be quoted, never rejected
            columns=[
                Column(name="id", type=ColumnType.INTEGER, nullable=False),
                Column(name="select", type=ColumnType.STRING),
                Column(name="person_id", type=ColumnType.INTEGER),
            ],
            primary_key=["id"],
            foreign_keys=[ForeignKey(columns=["person_id"], references="person",
                                     ref_columns=["id"])],
        )
        tagged = link_table("order_tag", order, tag)
        knows = link_table("person_knows", PERSON, PERSON)
        schema = TabularSchema(tables=[PERSON, tag, order, tagged, knows])
        plugin.apply_schema(schema)
        assert plugin.schema() == schema
        assert plugin.describe("order_tag").kind == "link"
        plugin.write("order", [{"id": 1, "select": "x", "person_id": 999}])  # not enforced
        plugin.write("order_tag", [{"order_id": 1, "tag_label": "a"},
                                   {"order_id": 1, "tag_label": "b"}])
        plugin.write("person_knows", [{"subject_id": 1, "object_id": 2}])
        with pytest.raises(RowRejected) as info:
            plugin.write("order_tag", [{"order_id": 1, "tag_label": "a"}])
        assert info.value.row == 0
        assert plugin.count("order_tag", where=[Filter("tag_label", "eq", "b")]) == 1
        assert plugin.read("order", columns=["select"]).rows == [{"select": "x"}]

    # ------------------------------------------------------------------ values

    def test_round_trip_of_every_type(self, plugin: StoragePlugin) -> None:
        plugin.apply_schema(TabularSchema(tables=[EVERYTHING]))
        result = plugin.write("everything", EDGE_ROWS)
        assert result.rows == len(EDGE_ROWS)
        rows = plugin.read("everything").rows
        assert _ids(rows) == [r["id"] for r in EDGE_ROWS]
        for written, stored in zip(EDGE_ROWS, rows, strict=True):
            assert list(stored) == EVERYTHING.column_names
            for name, value in stored.items():
                want = written.get(name)
                assert value == want, (
                    f"row {written['id']} column {name}: got {value!r:.120} want {want!r:.120}"
                )
                if value is None:
                    continue
                kind = EVERYTHING.column(name).type.value
                if kind == "dateTime":
                    assert value.utcoffset() == timedelta(0)
                elif kind == "decimal":
                    assert isinstance(value, Decimal)
                elif kind == "double":
                    assert isinstance(value, float)
                elif kind == "boolean":
                    assert isinstance(value, bool)
                elif kind == "binary":
                    assert isinstance(value, bytes)
                elif kind == "time":
                    assert value.tzinfo is None
                elif kind == "date":
                    assert type(value) is date

    def test_arrow_batches_match_rows(self, plugin: StoragePlugin) -> None:
        plugin.apply_schema(TabularSchema(tables=[EVERYTHING]))
        plugin.write("everything", EDGE_ROWS)
        batches = list(
            plugin.iter_batches("everything", order_by=["id"], batch_size=4, format="arrow")
        )
        assert [b.num_rows for b in batches] == [4, 2]
        expected = arrow_schema(EVERYTHING)
        for batch in batches:
            assert batch.schema.names == expected.names
            assert batch.schema.types == expected.types
        first = batches[0].to_pylist()[0]
        assert first["dec"] == EDGE_ROWS[0]["dec"]
        assert first["dt"] == EDGE_ROWS[0]["dt"]
        assert json.loads(first["js"]) == EDGE_ROWS[0]["js"]

    @pytest.mark.parametrize(("bad", "column"), BAD_VALUES, ids=[c for _, c in BAD_VALUES])
    def test_bad_value_rejects_whole_call(
        self, plugin: StoragePlugin, bad: dict[str, Any], column: str
    ) -> None:
        plugin.apply_schema(TabularSchema(tables=[EVERYTHING]))
        rows = [{"id": 10}, {"id": 11}, {"id": 12, **bad}, {"id": 13}]
        with pytest.raises(RowRejected) as info:
            plugin.write("everything", rows)
        assert info.value.row == 2
        assert info.value.column == column
        assert info.value.table == "everything"
        assert plugin.count("everything") == 0

    # ------------------------------------------------------------------ write modes

    def test_insert_refuses_existing_key(self, people: StoragePlugin) -> None:
        with pytest.raises(RowRejected, match="already exists") as info:
            people.write("person", [{"id": 10, "name": "new"}, {"id": 3, "name": "dup"}])
        assert info.value.row == 1
        assert info.value.column == "id"
        assert people.count("person") == 8
        assert people.read("person", where=[Filter("id", "eq", 3)]).rows[0]["name"] == "alice"

    @pytest.mark.parametrize("mode", ["insert", "upsert", "replace"])
    def test_key_repeated_within_call_is_rejected(self, plugin: StoragePlugin, mode: str) -> None:
        plugin.apply_schema(TabularSchema(tables=[PERSON]))
        with pytest.raises(RowRejected, match="repeated") as info:
            plugin.write("person", [{"id": 1}, {"id": 2}, {"id": 1}], mode=mode)  # type: ignore[arg-type]
        assert info.value.row == 2
        assert plugin.count("person") == 0

    def test_upsert_inserts_new_and_replaces_whole_rows(self, people: StoragePlugin) -> None:
        result = people.write(
            "person",
            [{"id": 3, "name": "alice2", "age": 42}, {"id": 20, "name": "new", "active": True}],
            mode="upsert",
        )
        assert result.rows == 2
        assert people.count("person") == 9
        three = people.read("person", where=[Filter("id", "eq", 3)]).rows[0]
        assert three["name"] == "alice2" and three["age"] == 42
        assert three["score"] is None and three["born"] is None  # missing columns → NULL
        assert people.read("person", where=[Filter("id", "eq", 20)]).rows[0]["active"] is True
        untouched = people.read("person", where=[Filter("id", "eq", 5)]).rows[0]
        assert untouched == PEOPLE[5]

    def test_upsert_with_composite_key(self, plugin: StoragePlugin) -> None:
        reading = Table(
            name="reading",
            columns=[
                Column(name="sensor", type=ColumnType.STRING, nullable=False),
                Column(name="day", type=ColumnType.DATE, nullable=False),
                Column(name="value", type=ColumnType.DOUBLE),
            ],
            primary_key=["sensor", "day"],
        )
        plugin.apply_schema(TabularSchema(tables=[reading]))
        day = date(2024, 5, 1)
        plugin.write("reading", [
            {"sensor": "a", "day": day, "value": 1.0},
            {"sensor": "a", "day": day + timedelta(days=1), "value": 2.0},
            {"sensor": "b", "day": day, "value": 3.0},
        ])
        plugin.write("reading", [
            {"sensor": "a", "day": day + timedelta(days=1), "value": 20.0},
            {"sensor": "A", "day": day, "value": 9.0},  # keys are case-sensitive
        ], mode="upsert")
        rows = plugin.read("reading", order_by=["sensor", "day"]).rows
        assert [(r["sensor"], r["day"].day, r["value"]) for r in rows] == [
            ("A", 1, 9.0), ("a", 1, 1.0), ("a", 2, 20.0), ("b", 1, 3.0),
        ]
        with pytest.raises(RowRejected) as info:
            plugin.write("reading", [{"sensor": "c", "day": day}, {"sensor": "b", "day": day}])
        assert info.value.row == 1

    def test_string_keys_are_exact(self, plugin: StoragePlugin) -> None:
        tag = Table(
            name="tag",
            columns=[Column(name="label", type=ColumnType.STRING, nullable=False),
                     Column(name="n", type=ColumnType.INTEGER)],
            primary_key=["label"],
        )
        plugin.apply_schema(TabularSchema(tables=[tag]))
        labels = ["a", "a ", "A", "á", "a\u0301", " a", "ä"]
        plugin.write("tag", [{"label": label, "n": i} for i, label in enumerate(labels)])
        assert plugin.count("tag") == len(labels)  # no case, accent or padding folding
        for i, label in enumerate(labels):
            assert plugin.read("tag", where=[Filter("label", "eq", label)]).rows == [
                {"label": label, "n": i}
            ]
        assert [r["label"] for r in plugin.read("tag", order_by=["label"]).rows] == sorted(labels)

    def test_replace_swaps_all_rows(self, people: StoragePlugin) -> None:
        people.write("person", [{"id": 100, "name": "only"}, {"id": 3, "name": "x"}],
                     mode="replace")
        assert _ids(people.read("person").rows) == [3, 100]
        people.write("person", [], mode="replace")
        assert people.count("person") == 0

    @pytest.mark.parametrize("mode", ["insert", "upsert", "replace"])
    def test_bad_row_late_in_a_stream_writes_nothing(
        self, people: StoragePlugin, mode: str
    ) -> None:
        def rows() -> Iterator[dict[str, Any]]:
            for i in range(25_000):
                yield {"id": 1000 + i, "name": f"p{i}", "age": "old" if i == 23_456 else i}

        with pytest.raises(RowRejected) as info:
            people.write("person", rows(), mode=mode)  # type: ignore[arg-type]
        assert (info.value.row, info.value.column) == (23_456, "age")
        assert _ids(people.read("person").rows) == list(range(8))

    def test_write_to_unknown_table(self, plugin: StoragePlugin) -> None:
        plugin.apply_schema(TabularSchema(tables=[PERSON]))
        with pytest.raises(TableNotFound, match="person"):
            plugin.write("nosuch", [{"id": 1}])
        with pytest.raises(InvalidQuery):
            plugin.write("person", [{"id": 1}], mode="merge")  # type: ignore[arg-type]

    # ------------------------------------------------------------------ reads

    @pytest.mark.parametrize(("where", "expected"), FILTER_CASES,
                             ids=[str(i) for i in range(len(FILTER_CASES))])
    def test_filters(self, people: StoragePlugin, where: list[Filter], expected: list[int]) -> None:
        assert _ids(people.read("person", where=where).rows) == expected
        assert people.count("person", where=where) == len(expected)

    def test_filters_given_as_plain_data(self, people: StoragePlugin) -> None:
        where: list[Any] = [("age", "ge", 41), {"column": "name", "op": "like", "value": "%e"}]
        assert _ids(people.read("person", where=where).rows) == [3]

    @pytest.mark.parametrize(
        "where",
        [
            [Filter("nosuch", "eq", 1)],
            [("age", "between", 1)],
            [Filter("age", "eq", "thirty")],
            [Filter("age", "like", "3%")],
            [Filter("age", "eq", None)],
            [Filter("tags", "eq", ["x"])],
            [Filter("age", "in", 5)],
            [Filter("age", "is_null", "yes")],
        ],
    )
    def test_invalid_filters_are_refused(self, people: StoragePlugin, where: list[Any]) -> None:
        with pytest.raises(InvalidQuery):
            people.read("person", where=where)

    @pytest.mark.parametrize(("order_by", "expected"), ORDER_CASES,
                             ids=[str(o) for o, _ in ORDER_CASES])
    def test_ordering(
        self, people: StoragePlugin, order_by: list[Any], expected: list[int]
    ) -> None:
        assert _ids(people.read("person", order_by=order_by).rows) == expected
        batches = list(people.iter_batches("person", order_by=order_by, batch_size=3))
        assert [len(b) for b in batches] == [3, 3, 2]
        assert [r["id"] for b in batches for r in b] == expected

    @pytest.mark.parametrize(("order_by", "expected"), ORDER_CASES,
                             ids=[str(o) for o, _ in ORDER_CASES])
    def test_cursor_pagination(
        self, people: StoragePlugin, order_by: list[Any], expected: list[int]
    ) -> None:
        seen: list[int] = []
        cursor = None
        pages = 0
        while True:
            page = people.read("person", order_by=order_by, limit=3, cursor=cursor)
            seen += _ids(page.rows)
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected
        assert pages == 3

    def test_cursor_survives_concurrent_inserts(self, people: StoragePlugin) -> None:
        first = people.read("person", order_by=["age"], limit=4)
        assert _ids(first.rows) == [2, 5, 1, 7]
        people.write("person", [{"id": 50, "age": 1}, {"id": 51, "age": 99}])
        rest = people.read("person", order_by=["age"], cursor=first.next_cursor)
        assert _ids(rest.rows) == [0, 4, 3, 6, 51]
        assert rest.next_cursor is None

    def test_cursor_with_filters_and_projection(self, people: StoragePlugin) -> None:
        where = [Filter("age", "is_null", False)]
        page = people.read("person", where=where, columns=["name"], order_by=["-score"], limit=2)
        assert page.rows == [{"name": "alice"}, {"name": "a_b%c"}]
        nxt = people.read("person", where=where, columns=["name"], order_by=["-score"],
                          limit=10, cursor=page.next_cursor)
        assert nxt.rows == [{"name": n} for n in ["ALICE", "Alice", "Zoë", "bob", None]]
        assert nxt.next_cursor is None
        with pytest.raises(InvalidCursor):
            people.read("person", order_by=["-score"], cursor=page.next_cursor)
        with pytest.raises(InvalidCursor):
            people.read("person", where=where, order_by=["-score"], cursor="garbage!")

    def test_projection_limit_and_batches(self, people: StoragePlugin) -> None:
        page = people.read("person", columns=["name", "id"], order_by=["id"], limit=8)
        assert list(page.rows[0]) == ["name", "id"]
        assert page.next_cursor is None
        assert people.read("person", limit=0).rows == []
        with pytest.raises(InvalidQuery):
            people.read("person", columns=["nosuch"])
        with pytest.raises(InvalidQuery):
            people.read("person", order_by=["tags"])
        batches = list(people.iter_batches("person", columns=["id"], batch_size=5))
        assert all(len(b) <= 5 for b in batches)
        assert sorted(r["id"] for b in batches for r in b) == list(range(8))
        assert all(set(r) == {"id"} for b in batches for r in b)
        arrow = list(people.iter_batches("person", where=[Filter("age", "eq", 30)],
                                         format="arrow"))
        assert sum(b.num_rows for b in arrow) == 2

    def test_count_and_delete(self, people: StoragePlugin) -> None:
        assert people.count("person") == 8
        assert people.delete("person", where=[Filter("age", "le", 25)]) == 3
        assert _ids(people.read("person").rows) == [0, 2, 3, 4, 6]
        assert people.delete("person", where=[Filter("name", "eq", "nobody")]) == 0
        assert people.delete("person", where=[]) == 5
        assert people.count("person") == 0
        people.write("person", PEOPLE[:2])  # deleted keys can be inserted again
        assert people.count("person") == 2

    # ------------------------------------------------------------------ concurrency

    def test_concurrent_writers(self, plugin: StoragePlugin) -> None:
        plugin.apply_schema(TabularSchema(tables=[_event_table()]))
        shared = list(range(1_000_000, 1_000_050))
        start = threading.Barrier(4)

        def work(writer: int) -> None:
            other = type(plugin)(plugin.config)
            try:
                start.wait()
                for batch in range(5):
                    other.write("event", [
                        {"id": writer * 10_000 + batch * 100 + i, "writer": writer, "n": i}
                        for i in range(100)
                    ])
                    other.write("event", [{"id": k, "writer": writer, "n": -1 - batch}
                                          for k in shared], mode="upsert")
            finally:
                other.close()

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(work, range(4)))
        assert plugin.count("event") == 4 * 500 + len(shared)
        for writer in range(4):
            mine = [Filter("writer", "eq", writer), Filter("n", "ge", 0)]
            assert plugin.count("event", where=mine) == 500
        last = plugin.read("event", where=[Filter("id", "ge", shared[0])]).rows
        assert len({(r["writer"], r["n"]) for r in last}) == 1  # each upsert was atomic

    # ------------------------------------------------------------------ scale

    @pytest.mark.slow
    def test_million_rows_write_and_stream(self, plugin: StoragePlugin) -> None:
        n = 1_000_000
        big = Table(
            name="big",
            columns=[
                Column(name="id", type=ColumnType.INTEGER, nullable=False),
                Column(name="name", type=ColumnType.STRING),
                Column(name="value", type=ColumnType.DOUBLE),
                Column(name="flag", type=ColumnType.BOOLEAN),
                Column(name="at", type=ColumnType.DATETIME),
            ],
            primary_key=["id"],
        )
        plugin.apply_schema(TabularSchema(tables=[big]))

        def rows() -> Iterator[dict[str, Any]]:
            for i in range(n):
                yield {"id": i, "name": f"row-{i}", "value": i * 0.5, "flag": i % 3 == 0,
                       "at": JAN1 + timedelta(seconds=i)}

        assert plugin.write("big", rows()).rows == n
        assert plugin.count("big") == n
        seen = total = flags = 0
        for batch in plugin.iter_batches("big", batch_size=50_000):
            assert 0 < len(batch) <= 50_000
            seen += len(batch)
            total += sum(r["id"] for r in batch)
            flags += sum(r["flag"] for r in batch)
        assert (seen, total, flags) == (n, n * (n - 1) // 2, (n + 2) // 3)
        page = plugin.read("big", where=[Filter("id", "ge", n - 10)], order_by=["-id"], limit=3)
        assert _ids(page.rows) == [n - 1, n - 2, n - 3]
        assert page.rows[0]["at"] == JAN1 + timedelta(seconds=n - 1)
        assert page.rows[0]["name"] == f"row-{n - 1}"
        small_flagged = [Filter("flag", "eq", True), Filter("id", "lt", 1000)]
        assert plugin.count("big", where=small_flagged) == 334

    # ------------------------------------------------------------------ lifecycle

    def test_health_and_capabilities(self, plugin: StoragePlugin) -> None:
        health = plugin.health()
        assert health.ok, health.error
        assert health.plugin == plugin.name
        assert health.error is None
        capabilities = plugin.capabilities()
        assert capabilities and all(isinstance(v, bool) for v in capabilities.values())
        shown = json.dumps(plugin.config.redacted())
        for value in plugin.config.model_dump().values():
            secret = getattr(value, "get_secret_value", None)
            if secret is not None and secret():
                assert secret() not in shown

    @pytest.mark.timeout(60)
    def test_unreachable_backend_fails_fast_and_clearly(
        self, unreachable_plugin: StoragePlugin
    ) -> None:
        health = unreachable_plugin.health()
        assert health.ok is False
        assert health.error
        assert health.plugin == unreachable_plugin.name
        with pytest.raises(BackendUnavailable):
            unreachable_plugin.schema()
        with pytest.raises(BackendUnavailable):
            unreachable_plugin.apply_schema(TabularSchema(tables=[PERSON]))
        with pytest.raises(BackendUnavailable):
            unreachable_plugin.write("person", [{"id": 1}])
        unreachable_plugin.close()

    def test_closed_plugin_refuses_work(self, plugin: StoragePlugin) -> None:
        plugin.apply_schema(TabularSchema(tables=[PERSON]))
        plugin.close()
        with pytest.raises(StorageError):
            plugin.count("person")
