"""History and as-of reads through the running platform (REST): the wiring of issue 12."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import Platform
from tests.test_storage_platform import seed
from tests.utils.servers import http

PROJECT = "store-history"


def test_table_history_and_as_of_queries(platform: Platform) -> None:
    http.post(f"{platform.api}/projects", json={"name": PROJECT}, headers=platform.headers())
    seed(platform, PROJECT)
    base = f"{platform.api}/projects/{PROJECT}"
    history = http.get(
        f"{base}/tables/raw_people/history", headers=platform.headers(platform.read_token)
    )
    assert history.status_code == 200, history.text
    items = history.json()["items"]
    assert items[-1]["operation"] == "create"
    written = next(i for i in items if i["operation"] in ("insert", "upsert"))
    assert written["rows"] == 4
    assert written["run_id"]  # the pipeline run that wrote the rows
    url = f"{base}/tables/raw_people/query"
    at = datetime.fromisoformat(written["at"])
    before = (at - timedelta(microseconds=1)).isoformat()
    then = http.post(url, json={"as_of": written["at"], "columns": ["name", "age"],
                                "order_by": ["age"]}, headers=platform.headers())
    assert then.status_code == 200, then.text
    assert [r["name"] for r in then.json()["rows"]] == ["Linus", "Ada", "Edsger", "Grace"]
    assert then.json()["rows"][0]["age"] == 28  # a JSON number, as without as_of
    empty = http.post(url, json={"as_of": before}, headers=platform.headers())
    assert empty.json()["rows"] == []
    naive = http.post(url, json={"as_of": "2024-01-01T00:00:00"}, headers=platform.headers())
    assert naive.status_code == 422 and "as_of" in naive.json()["field"]
    refused = http.post(f"{base}/storage/vacuum-history", json={},
                        headers=platform.headers(platform.read_token))
    assert refused.status_code == 403
    vacuum = http.post(f"{base}/storage/vacuum-history", json={}, headers=platform.headers())
    assert vacuum.status_code == 200 and vacuum.json() == {"removed": 0}  # keep everything
