"""Project CRUD through the REST API: the happy paths and what each one changes on disk."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

API = "/api/v1"


def storage_path(project: dict) -> Path:
    return Path(urlsplit(project["storage_url"]).path)


def test_create_get_and_storage_object(client: TestClient) -> None:
    response = client.post(
        f"{API}/projects", json={"name": "sales", "description": "Q4", "labels": {"team": "bi"}}
    )
    assert response.status_code == 201
    project = response.json()
    assert project["name"] == "sales"
    assert project["labels"] == {"team": "bi"}
    assert project["created_at"].endswith("Z") or "+00:00" in project["created_at"]
    folder = storage_path(project)
    assert folder.is_dir()
    assert (folder / ".mimir-project.json").read_text().find(project["id"]) > 0
    fetched = client.get(f"{API}/projects/sales").json()
    assert fetched == project


def test_list_paginates_with_cursor(client: TestClient) -> None:
    names = [f"proj-{i:02d}" for i in range(7)]
    for name in reversed(names):
        assert client.post(f"{API}/projects", json={"name": name}).status_code == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"{API}/projects", params=params).json()
        seen += [p["name"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    assert pages == 3


def test_update_changes_only_given_fields(client: TestClient) -> None:
    client.post(f"{API}/projects", json={"name": "ops", "description": "old", "labels": {"a": "1"}})
    updated = client.patch(f"{API}/projects/ops", json={"description": "new"}).json()
    assert updated["description"] == "new"
    assert updated["labels"] == {"a": "1"}
    assert updated["updated_at"] > updated["created_at"]
    relabelled = client.patch(f"{API}/projects/ops", json={"labels": {}}).json()
    assert relabelled["labels"] == {}
    assert relabelled["description"] == "new"


def test_delete_removes_row_and_storage(client: TestClient) -> None:
    project = client.post(f"{API}/projects", json={"name": "tmp-proj"}).json()
    folder = storage_path(project)
    (folder / "data.csv").write_text("a,b\n1,2\n")
    response = client.delete(f"{API}/projects/tmp-proj")
    assert response.status_code == 200
    assert response.json() == {"name": "tmp-proj", "storage_removed": True}
    assert not folder.exists()
    assert client.get(f"{API}/projects/tmp-proj").status_code == 404
    assert client.delete(f"{API}/projects/tmp-proj").status_code == 404


def test_clone_copies_settings_and_files(client: TestClient) -> None:
    source = client.post(
        f"{API}/projects", json={"name": "src", "description": "d", "labels": {"k": "v"}}
    ).json()
    (storage_path(source) / "raw").mkdir()
    (storage_path(source) / "raw" / "orders.json").write_text('[{"id": 1}]')
    response = client.post(f"{API}/projects/src/clone", json={"new_name": "src-copy"})
    assert response.status_code == 201
    clone = response.json()
    assert clone["files_copied"] == 1
    copy = clone["project"]
    assert (
        copy["name"] == "src-copy" and copy["labels"] == {"k": "v"} and copy["description"] == "d"
    )
    assert copy["id"] != source["id"]
    assert (storage_path(copy) / "raw" / "orders.json").read_text() == '[{"id": 1}]'
    # the copy is independent: deleting it leaves the source intact
    client.delete(f"{API}/projects/src-copy")
    assert (storage_path(source) / "raw" / "orders.json").exists()


def test_clone_onto_existing_name_conflicts_and_copies_nothing(client: TestClient) -> None:
    client.post(f"{API}/projects", json={"name": "one"})
    two = client.post(f"{API}/projects", json={"name": "two"}).json()
    marker = (storage_path(two) / ".mimir-project.json").read_text()
    response = client.post(f"{API}/projects/one/clone", json={"new_name": "two"})
    assert response.status_code == 409
    assert response.json()["field"] == "body.new_name"
    assert (storage_path(two) / ".mimir-project.json").read_text() == marker


def test_custom_storage_url_inside_base_and_rejections(client: TestClient, tmp_path: Path) -> None:
    base = tmp_path / "home" / "projects"
    inside = (base / "custom" / "place").as_uri()
    created = client.post(f"{API}/projects", json={"name": "custom", "storage_url": inside})
    assert created.status_code == 201
    assert created.json()["storage_url"] == inside
    outside = client.post(f"{API}/projects", json={"name": "escape", "storage_url": "file:///etc"})
    assert outside.status_code == 422
    assert outside.json()["field"] == "body.storage_url"
    creds = client.post(
        f"{API}/projects", json={"name": "creds", "storage_url": "s3://key:secret@bucket/x"}
    )
    assert creds.status_code == 422
    assert "secret" not in creds.text
    assert client.get(f"{API}/projects/escape").status_code == 404


def test_storage_location_holding_data_is_refused(client: TestClient, tmp_path: Path) -> None:
    taken = tmp_path / "home" / "projects" / "taken"
    taken.mkdir(parents=True)
    (taken / "precious.txt").write_text("keep me")
    response = client.post(f"{API}/projects", json={"name": "taken"})
    assert response.status_code == 409
    assert (taken / "precious.txt").read_text() == "keep me"
    assert client.get(f"{API}/projects/taken").status_code == 404


def test_data_survives_an_app_restart(make_client) -> None:  # type: ignore[no-untyped-def]
    first = make_client()
    first.post(f"{API}/projects", json={"name": "durable"})
    second = make_client()
    assert second.get(f"{API}/projects/durable").status_code == 200
