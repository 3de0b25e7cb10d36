"""Projects whose storage objects live in S3 (a real S3 endpoint process, moto_server)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import fsspec
import pytest
from fastapi.testclient import TestClient

from tests.utils.s3 import S3Endpoint, moto_s3

API = "/api/v1"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Endpoint]:
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def s3_client(s3: S3Endpoint, monkeypatch: pytest.MonkeyPatch, make_client: Callable[..., TestClient]) -> TestClient:
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    if not fs.exists("mimir-test"):
        fs.mkdir("mimir-test")
    return make_client(storage_url="s3://mimir-test/tenants")


def s3fs() -> fsspec.AbstractFileSystem:
    return fsspec.filesystem("s3", skip_instance_cache=True)


def test_project_lifecycle_in_s3(s3_client: TestClient) -> None:
    created = s3_client.post(f"{API}/projects", json={"name": "in-s3"})
    assert created.status_code == 201, created.text
    assert created.json()["storage_url"] == "s3://mimir-test/tenants/in-s3"
    fs = s3fs()
    assert fs.exists("mimir-test/tenants/in-s3/.mimir-project.json")
    fs.pipe("mimir-test/tenants/in-s3/raw/orders.json", b'[{"id": 7}]')

    cloned = s3_client.post(f"{API}/projects/in-s3/clone", json={"new_name": "in-s3-copy"})
    assert cloned.status_code == 201, cloned.text
    assert cloned.json()["files_copied"] == 1
    assert s3fs().cat("mimir-test/tenants/in-s3-copy/raw/orders.json") == b'[{"id": 7}]'

    assert s3_client.delete(f"{API}/projects/in-s3").json()["storage_removed"] is True
    fs = s3fs()
    assert not fs.exists("mimir-test/tenants/in-s3/raw/orders.json")
    assert fs.exists("mimir-test/tenants/in-s3-copy/raw/orders.json")


def test_s3_prefix_holding_data_is_refused(s3_client: TestClient) -> None:
    s3fs().pipe("mimir-test/tenants/occupied/keep.txt", b"mine")
    response = s3_client.post(f"{API}/projects", json={"name": "occupied"})
    assert response.status_code == 409
    assert s3fs().cat("mimir-test/tenants/occupied/keep.txt") == b"mine"
    assert s3_client.get(f"{API}/projects/occupied").status_code == 404


def test_local_folder_refused_when_storage_is_remote(s3_client: TestClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    response = s3_client.post(f"{API}/projects", json={"name": "local-one", "storage_url": tmp_path.as_uri()})
    assert response.status_code == 422
    assert response.json()["field"] == "body.storage_url"
