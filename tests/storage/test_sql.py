"""Behaviour specific to the SQL plugin (settings, pooling, dialect details)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage_plugins.errors import ConfigError, StorageError
from storage_plugins.query import Filter
from storage_plugins.schema import Column, Index, Table, TabularSchema
from storage_plugins.sql import SQLConfig, SQLStoragePlugin
from storage_plugins.sql.bulk import CopyWriter, ExecutemanyWriter, bulk_writer
from storage_plugins.sql.types import SCHEMA_TABLE, SortableDecimal
from tests.storage.backends import make_plugin

SQL_BACKENDS = ["sqlite", "postgresql", "mariadb"]

AMOUNT = Table(
    name="amount",
    columns=[
        Column(name="id", type="integer", nullable=False),
        Column(name="value", type="decimal", precision=20, scale=4),
        Column(name="label", type="string"),
    ],
    primary_key=["id"],
    indexes=[Index(columns=["value"])],
)


@pytest.fixture(params=SQL_BACKENDS)
def sql_plugin(request: pytest.FixtureRequest, tmp_path: Path) -> SQLStoragePlugin:
    plugin = make_plugin(request.param, request, tmp_path)
    assert isinstance(plugin, SQLStoragePlugin)
    request.addfinalizer(plugin.close)
    return plugin


def test_config_moves_password_out_of_the_url() -> None:
    cfg = SQLConfig(url="postgresql://mimir:s3cr%40t@db.internal:5432/proj")
    assert cfg.url == "postgresql+psycopg://mimir@db.internal:5432/proj"
    assert cfg.password is not None and cfg.password.get_secret_value() == "s3cr@t"
    assert cfg.sqlalchemy_url().password == "s3cr@t"
    shown = cfg.redacted()
    assert "s3cr" not in repr(shown) and shown["password"] == "**********"
    assert shown["url"] == "postgresql+psycopg://mimir:***@db.internal:5432/proj"
    assert "s3cr" not in repr(SQLStoragePlugin(cfg))


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("mysql://root@h/db", "mysql+pymysql://root@h/db"),
        ("mariadb://root@h/db", "mariadb+pymysql://root@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///rel/project.db", "sqlite:///rel/project.db"),
    ],
)
def test_config_normalises_drivers(url: str, normalised: str) -> None:
    assert SQLConfig(url=url).url == normalised


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "oracle://u@h/db", "postgresql://u@h", "nonsense"]
)
def test_config_refuses_unusable_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        SQLStoragePlugin({"url": url})


def test_no_connection_leaks(sql_plugin: SQLStoragePlugin) -> None:
    sql_plugin.apply_schema(TabularSchema(tables=[AMOUNT]))
    sql_plugin.write("amount", [{"id": i, "value": i} for i in range(50)])
    with pytest.raises(StorageError):
        sql_plugin.write("amount", [{"id": 1}])  # refused: key exists
    with pytest.raises(StorageError):
        sql_plugin.write("amount", [{"id": 99, "value": "x"}])
    sql_plugin.read("amount", where=[Filter("value", "gt", 10)], limit=5)
    batches = sql_plugin.iter_batches("amount", batch_size=10)
    next(batches)
    batches.close()  # abandoned half-way: the connection must go back to the pool
    sql_plugin.count("amount")
    sql_plugin.delete("amount", where=[Filter("id", "lt", 5)])
    sql_plugin.health()
    engine = sql_plugin._get_engine()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_bulk_path_per_dialect(sql_plugin: SQLStoragePlugin) -> None:
    sql_plugin.apply_schema(TabularSchema(tables=[AMOUNT]))
    engine = sql_plugin._get_engine()
    with engine.begin() as conn:
        sa_table = sql_plugin._sa_table(conn, AMOUNT)
        writer = bulk_writer(conn, sa_table, AMOUNT, "upsert", stamp=datetime.now(UTC))
        expected = CopyWriter if engine.dialect.name == "postgresql" else ExecutemanyWriter
        assert isinstance(writer, expected)
        writer.abort()


def test_decimals_sort_and_compare_numerically(sql_plugin: SQLStoragePlugin) -> None:
    rng = random.Random(7)
    values = [Decimal(rng.randint(-(10**19), 10**19)).scaleb(-4) for _ in range(300)]
    values += [Decimal("0"), Decimal("-0.0001"), Decimal("0.0001"),
               Decimal("9999999999999999.9999"), Decimal("-9999999999999999.9999")]
    values = list(dict.fromkeys(values))
    sql_plugin.apply_schema(TabularSchema(tables=[AMOUNT]))
    sql_plugin.write("amount", [{"id": i, "value": v} for i, v in enumerate(values)])
    stored = [r["value"] for r in sql_plugin.read("amount", order_by=["value"]).rows]
    assert stored == sorted(values)
    negative = sql_plugin.count("amount", where=[Filter("value", "lt", 0)])
    assert negative == sum(v < 0 for v in values)
    middle = sql_plugin.read("amount", where=[Filter("value", "ge", Decimal("-1.5")),
                                              Filter("value", "le", Decimal("1.5"))]).rows
    assert sorted(r["value"] for r in middle) == sorted(v for v in values if -1.5 <= v <= 1.5)


def test_sortable_decimal_encoding_preserves_order() -> None:
    codec = SortableDecimal(6, 2)
    dialect = sa.create_engine("sqlite://").dialect
    numbers = [Decimal(x) / 100 for x in range(-999_999, 1_000_000, 9_973)]
    encoded = [codec.process_bind_param(n, dialect) for n in numbers]
    assert encoded == sorted(encoded)
    assert [codec.process_result_value(e, dialect) for e in encoded] == numbers


def test_schema_is_kept_in_a_bookkeeping_table(sql_plugin: SQLStoragePlugin) -> None:
    schema = TabularSchema(tables=[AMOUNT], source="urn:onto:v3")
    sql_plugin.apply_schema(schema)
    engine = sql_plugin._get_engine()
    inspector = sa.inspect(engine)
    assert {SCHEMA_TABLE, "amount"} <= set(inspector.get_table_names())
    assert [ix["name"] for ix in inspector.get_indexes("amount")] == ["ix_amount_value"]
    other = SQLStoragePlugin(sql_plugin.config)  # a second process sees the same schema
    assert other.schema() == schema
    other.close()


def test_sqlite_uses_wal_and_creates_the_folder(tmp_path: Path) -> None:
    plugin = SQLStoragePlugin(SQLConfig(url=f"sqlite:///{tmp_path}/deep/er/project.db"))
    plugin.apply_schema(TabularSchema(tables=[AMOUNT]))
    assert (tmp_path / "deep/er/project.db").exists()
    with plugin._get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    plugin.close()
    with pytest.raises(StorageError, match="closed"):
        plugin.tables()
