"""read_project_file uses the one storage-object path guard: `..x` is a file name."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

API = "/api/v1"


def test_dotted_names_are_files_and_escapes_are_refused(client: TestClient) -> None:
    created = client.post(f"{API}/projects", json={"name": "files-demo"})
    assert created.status_code == 201, created.text
    root = Path(urlsplit(created.json()["storage_url"]).path)
    (root / "..x").write_text("dots are fine")
    read = client.get(f"{API}/projects/files-demo/files/content", params={"path": "..x"})
    assert read.status_code == 200, read.text
    assert read.json()["text"] == "dots are fine"
    escape = client.get(f"{API}/projects/files-demo/files/content", params={"path": "../x"})
    assert escape.status_code == 422
    assert escape.json()["field"] == "query.path" and "escapes" in escape.json()["detail"]
