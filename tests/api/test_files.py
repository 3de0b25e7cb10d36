"""Project files through the real app: upload three ways, list, read, delete, and refusals.

Every refusal is checked for leaving storage as it was (no partial or temporary file).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

PROJECT = "files-demo"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def files_client(make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client(max_upload_bytes=64 * 1024)
    created = client.post("/api/v1/projects", json={"name": PROJECT}, headers=JSON)
    assert created.status_code == 201, created.text
    return client


def storage_root(client: TestClient) -> Path:
    project = client.get(f"/api/v1/projects/{PROJECT}").json()
    return Path(project["storage_url"].removeprefix("file://"))


def listed(client: TestClient, prefix: str = "") -> dict[str, int]:
    response = client.get(f"/api/v1/projects/{PROJECT}/files", params={"prefix": prefix})
    assert response.status_code == 200, response.text
    return {item["path"]: item["size"] for item in response.json()["items"]}


def test_upload_json_text_and_base64_then_read_list_delete(files_client: TestClient) -> None:
    api = f"/api/v1/projects/{PROJECT}/files"
    text = files_client.post(api, json={"path": "sources/a.csv", "text": "id,name\n1,Ada\n"})
    assert text.status_code == 201, text.text
    assert text.json()["path"] == "sources/a.csv" and text.json()["size"] == 14
    binary = bytes(range(256))
    raw = files_client.post(
        api, json={"path": "blobs/b.bin", "base64": base64.b64encode(binary).decode()}
    )
    assert raw.status_code == 201, raw.text

    assert listed(files_client) == {"blobs/b.bin": 256, "sources/a.csv": 14}
    assert listed(files_client, "sources") == {"sources/a.csv": 14}

    read = files_client.get(f"{api}/content", params={"path": "sources/a.csv"})
    assert read.json()["text"] == "id,name\n1,Ada\n"
    read_bin = files_client.get(f"{api}/content", params={"path": "blobs/b.bin"})
    assert base64.b64decode(read_bin.json()["base64"]) == binary

    gone = files_client.delete(f"{api}/content", params={"path": "blobs/b.bin"})
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert listed(files_client) == {"sources/a.csv": 14}
    again = files_client.delete(f"{api}/content", params={"path": "blobs/b.bin"})
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"


def test_streamed_put_and_multipart(files_client: TestClient) -> None:
    api = f"/api/v1/projects/{PROJECT}/files"
    body = b"x" * 50_000
    put = files_client.put(
        f"{api}/content",
        params={"path": "big/stream.txt"},
        content=iter([body[:20_000], body[20_000:]]),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert put.status_code == 201, put.text
    assert put.json() == {**put.json(), "path": "big/stream.txt", "size": 50_000}
    assert (storage_root(files_client) / "big" / "stream.txt").read_bytes() == body

    form = files_client.post(
        f"{api}/upload",
        files=[("file", ("one.csv", b"a\n1\n")), ("file", ("two.json", b"[1]"))],
        data={"dir": "sources"},
    )
    assert form.status_code == 201, form.text
    assert [i["path"] for i in form.json()["items"]] == ["sources/one.csv", "sources/two.json"]
    assert listed(files_client, "sources") == {"sources/one.csv": 4, "sources/two.json": 3}


def test_refusals_leave_storage_unchanged(files_client: TestClient) -> None:
    api = f"/api/v1/projects/{PROJECT}/files"
    assert files_client.post(api, json={"path": "keep.txt", "text": "v1"}).status_code == 201
    root = storage_root(files_client)
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    cases = [
        ({"path": "../escape.txt", "text": "x"}, 422, "body.path"),
        ({"path": "/etc/passwd", "text": "x"}, 422, "body.path"),
        ({"path": "_mimir/checkpoints/p.json", "text": "{}"}, 422, "body.path"),
        ({"path": ".mimir-project.json", "text": "{}"}, 422, "body.path"),
        ({"path": "x.bin", "base64": "***"}, 422, "body.base64"),
        ({"path": "x.bin", "text": "a", "base64": "YQ=="}, 422, None),
        ({"path": "keep.txt", "text": "v2", "overwrite": False}, 422, "body.path"),
    ]
    for body, status, field in cases:
        response = files_client.post(api, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        if field:
            assert response.json()["field"] == field, response.json()

    too_big = files_client.put(
        f"{api}/content",
        params={"path": "huge.bin"},
        content=iter([b"y" * 40_000, b"y" * 40_000]),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert too_big.status_code == 413, too_big.text
    escape = files_client.put(
        f"{api}/content",
        params={"path": "../../x"},
        content=b"z",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert escape.status_code == 422

    after = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert after == before
    assert (root / "keep.txt").read_text() == "v1"


def test_upload_needs_write_scope(make_client: Callable[..., TestClient]) -> None:
    client = make_client(bootstrap_token="bootstrap-admin-token-0123456789")
    admin = {"Authorization": "Bearer bootstrap-admin-token-0123456789", **JSON}
    assert client.post("/api/v1/projects", json={"name": PROJECT}, headers=admin).status_code == 201
    api = f"/api/v1/projects/{PROJECT}/files"
    anonymous = client.put(f"{api}/content", params={"path": "a.txt"}, content=b"a")
    assert anonymous.status_code == 401
    no_token_form = client.post(f"{api}/upload", files=[("file", ("a.txt", b"a"))])
    assert no_token_form.status_code == 401
    assert client.get(f"{api}", headers=admin).json()["items"] == []
