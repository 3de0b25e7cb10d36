"""Project storage through the running platform: default store, a PostgreSQL backend saved as a
Prefect Block (secrets never echoed), table browsing, queries, exports."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from functools import partial
from typing import Any

import psycopg
import pyarrow.parquet as pq
import pytest

from tests.conftest import Platform
from tests.test_pipelines_platform import run_until_final, save
from tests.utils.runs import completed_result
from tests.utils.servers import http, postgres_database

SEED = """
name: seed-people
type: ingestion
steps:
  - name: save
    action: storage.write
    with:
      source: people
      rows:
        - {name: Ada, age: 36, city: London}
        - {name: Grace, age: 85, city: Arlington}
        - {name: Linus, age: 28, city: Helsinki}
        - {name: Edsger, age: 72, city: Austin}
"""


def seed(platform: Platform, project: str) -> None:
    assert save(platform, project, "seed-people", SEED).status_code == 200
    started = http.post(
        f"{platform.api}/projects/{project}/pipelines/seed-people/runs",
        json={},
        headers=platform.headers(),
    )
    assert (
        run_until_final(platform, project, "seed-people", started.json()["flow_run_id"])["state"]
        == "COMPLETED"
    )


@pytest.fixture(scope="module")
def default_project(platform: Platform) -> str:
    http.post(
        f"{platform.api}/projects", json={"name": "store-default"}, headers=platform.headers()
    )
    seed(platform, "store-default")
    return "store-default"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_database("mimir_test_project") as url:
        yield url


def test_default_store_is_sqlite_beside_the_files(platform: Platform, default_project: str) -> None:
    info = http.get(
        f"{platform.api}/projects/{default_project}/storage", headers=platform.headers()
    ).json()
    assert (info["configured"], info["plugin"]) == (False, "sql")
    assert info["health"]["ok"] is True and info["health"]["backend"] == "sqlite"
    tables = http.get(
        f"{platform.api}/projects/{default_project}/tables", headers=platform.headers()
    ).json()["items"]
    [people] = [t for t in tables if t["name"] == "raw_people"]
    assert people["rows"] == 4
    assert {"name", "age", "city", "mimir_row_id"} <= {c["name"] for c in people["columns"]}


def test_query_filters_orders_and_pages(platform: Platform, default_project: str) -> None:
    url = f"{platform.api}/projects/{default_project}/tables/raw_people/query"
    body = {
        "where": [{"column": "age", "op": "gt", "value": 30}],
        "columns": ["name", "age"],
        "order_by": ["-age"],
        "limit": 2,
    }
    first = http.post(url, json=body, headers=platform.headers(platform.read_token)).json()
    assert first["rows"] == [{"name": "Grace", "age": 85}, {"name": "Edsger", "age": 72}]
    second = http.post(
        url, json=body | {"cursor": first["next_cursor"]}, headers=platform.headers()
    ).json()
    assert second["rows"] == [{"name": "Ada", "age": 36}] and second["next_cursor"] is None
    bad = http.post(
        url,
        json={"where": [{"column": "nope", "op": "eq", "value": 1}]},
        headers=platform.headers(),
    )
    assert bad.status_code == 422 and bad.json()["field"] == "body.where"
    missing = http.post(
        f"{platform.api}/projects/{default_project}/tables/ghosts/query",
        json={},
        headers=platform.headers(),
    )
    assert missing.status_code == 404


def exported(platform: Platform, project: str, started: dict[str, Any]) -> dict[str, Any]:
    """An export runs as a flow: wait for it and return what it recorded."""
    assert "flow_run_id" in started, started
    get = partial(http.get, headers=platform.headers())
    result = completed_result(get, platform.api, project, started["flow_run_id"])
    assert result["path"] == started["path"]
    return result


def test_export_csv_and_parquet(platform: Platform, default_project: str) -> None:
    api = f"{platform.api}/projects/{default_project}"
    started = http.post(
        f"{api}/tables/raw_people/export",
        json={"format": "csv", "where": [{"column": "city", "op": "like", "value": "A%"}]},
        headers=platform.headers(),
    ).json()
    csv = exported(platform, default_project, started)
    assert (csv["path"], csv["rows"]) == ("exports/raw_people.csv", 2)
    content = http.get(
        f"{api}/files/content", params={"path": csv["path"]}, headers=platform.headers()
    ).json()
    assert (
        "Arlington" in content["text"]
        and "Austin" in content["text"]
        and "London" not in content["text"]
    )
    parquet = exported(
        platform,
        default_project,
        http.post(
            f"{api}/tables/raw_people/export",
            json={"format": "parquet"},
            headers=platform.headers(),
        ).json(),
    )
    blob = http.get(
        f"{api}/files/content", params={"path": parquet["path"]}, headers=platform.headers()
    ).json()
    table = pq.read_table(io.BytesIO(base64.b64decode(blob["base64"])))
    assert table.num_rows == 4 and sorted(table.column("name").to_pylist()) == [
        "Ada",
        "Edsger",
        "Grace",
        "Linus",
    ]
    escape = http.get(
        f"{api}/files/content", params={"path": "../../mimir.db"}, headers=platform.headers()
    )
    assert escape.status_code == 422 and escape.json()["field"] == "query.path"


def test_configure_postgresql_saves_a_block_and_hides_secrets(
    platform: Platform, pg_url: str
) -> None:
    http.post(f"{platform.api}/projects", json={"name": "store-pg"}, headers=platform.headers())
    api = f"{platform.api}/projects/store-pg"
    secret = "never-echo-this-7f3a"
    body = {"plugin": "sql", "settings": {"url": pg_url}, "secrets": {"password": secret}}
    denied = http.put(f"{api}/storage", json=body, headers=platform.headers(platform.read_token))
    assert denied.status_code == 403
    configured = http.put(f"{api}/storage", json=body, headers=platform.headers())
    assert configured.status_code == 200, configured.text
    assert (
        configured.json()["secrets_set"] == ["password"]
        and configured.json()["health"]["backend"] == "postgresql"
    )
    fetched = http.get(f"{api}/storage", headers=platform.headers())
    assert fetched.json()["configured"] is True
    for response in (configured, fetched, http.get(api, headers=platform.headers())):
        assert secret not in response.text
    prefect = platform.env["PREFECT_API_URL"]
    block = http.get(
        f"{prefect}/block_types/slug/mimir-project-storage/block_documents/name/mimir-storage-store-pg"
    ).json()
    assert block["data"]["settings"]["url"].startswith("postgresql")
    assert secret not in str(block)

    seed(platform, "store-pg")
    conninfo = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM raw_people ORDER BY name")]
    assert names == ["Ada", "Edsger", "Grace", "Linus"]

    assert http.delete(api, headers=platform.headers()).status_code == 200
    gone = http.get(
        f"{prefect}/block_types/slug/mimir-project-storage/block_documents/name/mimir-storage-store-pg"
    )
    assert gone.status_code == 404


def test_bad_or_unreachable_backends_are_refused_and_nothing_is_saved(platform: Platform) -> None:
    http.post(f"{platform.api}/projects", json={"name": "store-bad"}, headers=platform.headers())
    api = f"{platform.api}/projects/store-bad/storage"
    unknown = http.put(
        api,
        json={"plugin": "sql", "settings": {"url": "sqlite:///x.db", "colour": 1}},
        headers=platform.headers(),
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "body.settings.colour"
    plugin = http.put(api, json={"plugin": "mongodb", "settings": {}}, headers=platform.headers())
    assert plugin.status_code == 422 and plugin.json()["field"] == "body.plugin"
    down = http.put(
        api,
        json={
            "plugin": "sql",
            "settings": {
                "url": "postgresql+psycopg://postgres@127.0.0.1:1/x",
                "connect_timeout_s": 2,
            },
        },
        headers=platform.headers(),
        timeout=60,
    )
    assert down.status_code == 422 and "health check" in down.json()["detail"]
    assert http.get(api, headers=platform.headers()).json()["configured"] is False


def test_storage_plugins_are_listed(platform: Platform) -> None:
    plugins = http.get(f"{platform.api}/storage/plugins", headers=platform.headers()).json()[
        "plugins"
    ]
    by_name = {p["name"]: p for p in plugins}
    assert {"sql", "objectstore"} <= set(by_name)
    assert by_name["sql"]["capabilities"]["supports_transactions"] is True
    assert "url" in by_name["sql"]["config_schema"]["properties"]
