"""Conformance tests of history, as-of reads, limits and the JSON form of values.

Part of `storage_plugins.testing.ConformanceSuite` (which inherits this class and provides
the ``plugin`` and ``people`` fixtures); kept apart so that each module stays readable.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage_plugins.base import StoragePlugin
from storage_plugins.conformance_data import (
    EDGE_JSON,
    EDGE_ROWS,
    EVERYTHING,
    PEOPLE,
    PERSON,
    PERSON_JSON_0,
    PERSON_JSON_4_SEEN,
)
from storage_plugins.errors import InvalidCursor, InvalidQuery, QueryTimeout, RowRejected
from storage_plugins.history import HistoryEntry, run_context
from storage_plugins.jsonform import json_row
from storage_plugins.query import Filter
from storage_plugins.schema import Column, ColumnType, Table, TabularSchema

_TICK = timedelta(microseconds=1)


def _ids(rows: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in rows]


def _ops(entries: list[HistoryEntry]) -> list[str]:
    return [e.operation for e in entries]


class HistoryConformance:
    """History, as_of, timeouts, page limits and JSON values: the same on every backend."""

    # ------------------------------------------------------------------ history

    def test_history_of_insert_upsert_delete_and_as_of(self, people: StoragePlugin) -> None:
        created, inserted = people.table_history("person")[::-1]
        assert (created.operation, inserted.operation, inserted.rows) == ("create", "insert", 8)
        people.write("person", [{"id": 3, "name": "alice2"}, {"id": 30, "name": "new"}],
                     mode="upsert", run_id="run-7")
        with run_context("run-8"):
            assert people.delete("person", where=[Filter("id", "eq", 5)]) == 1
        people.write("person", [{"id": 99, "name": "late"}])
        entries = people.table_history("person")
        assert _ops(entries) == ["insert", "delete", "upsert", "insert", "create"]
        late, deleted, upserted = entries[:3]
        assert (upserted.rows, upserted.run_id) == (2, "run-7")
        assert (deleted.rows, deleted.run_id) == (1, "run-8")
        assert late.run_id is None
        assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
        assert all(e.at.utcoffset() == timedelta(0) for e in entries)
        assert people.table_history("person", limit=2) == entries[:2]
        # before the first write: nothing; at each change: the state it left
        assert people.count("person", as_of=inserted.at - _TICK) == 0
        assert people.read("person", as_of=inserted.at).rows == PEOPLE
        three = [Filter("id", "eq", 3)]
        assert people.read("person", where=three, as_of=upserted.at - _TICK).rows == [PEOPLE[3]]
        after = people.read("person", where=three, as_of=upserted.at).rows
        assert after == [{c: None for c in PERSON.column_names} | {"id": 3, "name": "alice2"}]
        assert _ids(people.read("person", as_of=upserted.at).rows) == [*range(8), 30]
        assert _ids(people.read("person", as_of=deleted.at).rows) == [0, 1, 2, 3, 4, 6, 7, 30]
        assert people.count("person", as_of=deleted.at - _TICK) == 9
        assert people.count("person", as_of=late.at) == 9
        now = datetime.now(UTC) + timedelta(seconds=1)
        assert people.read("person", as_of=now).rows == people.read("person").rows

    def test_as_of_filters_orders_and_pages(self, people: StoragePlugin) -> None:
        people.write("person", [{**p, "age": 100 + p["id"]} for p in PEOPLE], mode="upsert")
        before = people.table_history("person")[0].at - _TICK
        where = [Filter("age", "le", 30)]
        assert _ids(people.read("person", where=where, as_of=before).rows) == [0, 1, 4, 5, 7]
        assert people.count("person", where=where, as_of=before) == 5
        assert people.count("person", where=where) == 0
        seen: list[int] = []
        cursor = None
        while True:
            page = people.read("person", order_by=["-age"], limit=3, cursor=cursor,
                               as_of=before)
            seen += _ids(page.rows)
            if (cursor := page.next_cursor) is None:
                break
        assert seen == [6, 3, 0, 4, 1, 7, 5, 2]
        first = people.read("person", order_by=["-age"], limit=3, as_of=before)
        with pytest.raises(InvalidCursor):  # a past state's cursor does not page the present
            people.read("person", order_by=["-age"], limit=3, cursor=first.next_cursor)
        assert people.read("person", columns=["name"], where=[Filter("id", "eq", 6)],
                           as_of=before).rows == [{"name": "ALICE"}]

    def test_replace_keeps_history(self, people: StoragePlugin) -> None:
        people.write("person", [{"id": 100, "name": "only"}], mode="replace")
        replaced = people.table_history("person")[0]
        assert (replaced.operation, replaced.rows) == ("replace", 1)
        assert _ids(people.read("person", as_of=replaced.at - _TICK).rows) == list(range(8))
        assert _ids(people.read("person", as_of=replaced.at).rows) == [100]
        people.delete("person", where=[])
        emptied = people.table_history("person")[0]
        assert (emptied.operation, emptied.rows) == ("delete", 1)
        assert people.count("person", as_of=emptied.at) == 0
        assert people.count("person", as_of=emptied.at - _TICK) == 1

    def test_failed_batch_leaves_no_history(self, people: StoragePlugin) -> None:
        before = people.table_history("person")
        snapshot = people.read("person").rows
        with pytest.raises(RowRejected):
            people.write("person", [{"id": 50}, {"id": 51, "age": "x"}], mode="upsert")
        with pytest.raises(RowRejected):
            people.write("person", [{"id": 60}, {"id": 3}])  # key exists
        with pytest.raises(RowRejected):
            people.write("person", [{"id": 1, "name": "b"}, {"id": 1}], mode="replace")
        assert people.table_history("person") == before
        later = datetime.now(UTC) + timedelta(seconds=1)
        assert people.read("person", as_of=later).rows == snapshot
        assert people.delete("person", where=[Filter("id", "gt", 1000)]) == 0

    def test_history_survives_migrations(self, people: StoragePlugin) -> None:
        people.write("person", [{**PEOPLE[2], "name": "Emile"}], mode="upsert")
        edited = people.table_history("person")[0].at
        extended = PERSON.model_copy(
            update={"columns": [*PERSON.columns, Column(name="nickname", type=ColumnType.STRING)]}
        )
        people.apply_schema(TabularSchema(tables=[extended]))
        assert "migrate" in _ops(people.table_history("person"))
        people.write("person", [{"id": 2, "nickname": "em"}], mode="upsert")
        old = people.read("person", as_of=edited - _TICK).rows
        assert old == [p | {"nickname": None} for p in PEOPLE]
        two = people.read("person", where=[Filter("id", "eq", 2)], as_of=edited).rows[0]
        assert (two["name"], two["nickname"]) == ("Emile", None)
        assert people.read("person", where=[Filter("id", "eq", 2)]).rows[0]["nickname"] == "em"
        slim = extended.model_copy(
            update={"columns": [c for c in extended.columns if c.name != "born"]}
        )
        people.apply_schema(TabularSchema(tables=[slim]), force=True)  # drops a column
        past = people.read("person", as_of=edited - _TICK).rows
        assert past == [{k: v for k, v in p.items() if k != "born"} | {"nickname": None}
                        for p in PEOPLE]

    def test_as_of_needs_an_aware_datetime_and_respects_vacuum(
        self, people: StoragePlugin
    ) -> None:
        with pytest.raises(InvalidQuery, match="timezone"):
            people.read("person", as_of=datetime(2024, 1, 1))
        with pytest.raises(InvalidQuery):
            people.count("person", as_of="yesterday")  # type: ignore[arg-type]
        people.write("person", [{"id": 3, "name": "x"}], mode="upsert")
        changed = people.table_history("person")[0].at
        assert people.vacuum_history() == 0  # default retention: keep everything
        assert people.read("person", where=[Filter("id", "eq", 3)],
                           as_of=changed - _TICK).rows == [PEOPLE[3]]
        assert people.vacuum_history(older_than=changed + _TICK) >= 1
        with pytest.raises(InvalidQuery, match="vacuum"):
            people.read("person", as_of=changed - _TICK)
        assert people.read("person", where=[Filter("id", "eq", 3)]).rows[0]["name"] == "x"
        assert people.count("person", as_of=datetime.now(UTC) + timedelta(seconds=1)) == 8

    # ------------------------------------------------------------------ limits

    def test_statement_timeout_names_table_and_limit(self, plugin: StoragePlugin) -> None:
        slow = Table(
            name="slow",
            columns=[Column(name="id", type=ColumnType.INTEGER, nullable=False),
                     Column(name="text", type=ColumnType.STRING)],
            primary_key=["id"],
        )
        plugin.apply_schema(TabularSchema(tables=[slow]))
        plugin.write("slow", ({"id": i, "text": f"row {i} " * 8} for i in range(100_000)))
        where = [Filter("text", "like", "%zz%")]
        limited = type(plugin)(plugin.config.model_copy(update={"statement_timeout_s": 0.001}))
        try:
            with pytest.raises(QueryTimeout) as info:
                limited.count("slow", where=where)
            assert info.value.table == "slow" and info.value.limit_s == 0.001
            assert "'slow'" in str(info.value) and "statement_timeout_s" in str(info.value)
            with pytest.raises(QueryTimeout):
                limited.read("slow", where=where, order_by=["-text"], limit=5)
        finally:
            limited.close()
        assert plugin.count("slow", where=where) == 0  # the default limit lets it finish
        assert plugin.count("slow") == 100_000

    def test_page_size_is_bounded(self, people: StoragePlugin) -> None:
        small = type(people)(people.config.model_copy(update={"max_page_rows": 3}))
        try:
            with pytest.raises(InvalidQuery, match="max_page_rows"):
                small.read("person", limit=4)
            page = small.read("person")
            assert _ids(page.rows) == [0, 1, 2] and page.next_cursor is not None
            rest = small.read("person", cursor=page.next_cursor, limit=3)
            assert _ids(rest.rows) == [3, 4, 5]
        finally:
            small.close()

    # ------------------------------------------------------------------ JSON form

    def test_json_form_of_every_type(self, plugin: StoragePlugin) -> None:
        plugin.apply_schema(TabularSchema(tables=[EVERYTHING, PERSON]))
        plugin.write("everything", EDGE_ROWS)
        plugin.write("person", PEOPLE)
        rows = {r["id"]: r for r in plugin.read("everything").rows}
        for key, expected in EDGE_JSON.items():
            assert json_row(EVERYTHING, rows[key]) == expected
        assert json.loads(json.dumps(json_row(EVERYTHING, rows[1])))["bin"] == (
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7"
            "PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3"
            "eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKz"
            "tLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v"
            "8PHy8/T19vf4+fr7/P3+/w=="
        )
        assert json_row(EVERYTHING, rows[1])["dt"] == "2024-03-09T21:00:15.123456Z"
        people = plugin.read("person", where=[Filter("id", "in", [0, 4])]).rows
        assert json_row(PERSON, people[0]) == PERSON_JSON_0
        assert json_row(PERSON, people[1])["seen"] == PERSON_JSON_4_SEEN
        assert json_row(PERSON, {"balance": people[0]["balance"]}) == {"balance": 10.0}
