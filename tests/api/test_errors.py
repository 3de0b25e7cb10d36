"""Bad input gets the right 4xx problem document and changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

API = "/api/v1"


def assert_problem(response, status: int, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("urn:mimir:problem:")
    assert problem["title"] and problem["detail"]
    if field is not None:
        assert problem["field"] == field, problem
    return problem


def project_count(client: TestClient) -> int:
    return len(client.get(f"{API}/projects").json()["items"])


BAD_CREATES = [
    pytest.param(b'{"name": "ok-name",', "application/json", 400, "body", id="malformed-json"),
    pytest.param(b'["not", "an", "object"]', "application/json", 400, "body", id="json-array"),
    pytest.param(b'{"name": 42}', "application/json", 422, "body.name", id="wrong-type"),
    pytest.param(b'{"name": "Bad Name"}', "application/json", 422, "body.name", id="bad-pattern"),
    pytest.param(
        b'{"name": "fine-name", "colour": "red"}',
        "application/json",
        422,
        "body.colour",
        id="unknown-field",
    ),
    pytest.param(b"{}", "application/json", 422, "body.name", id="missing-field"),
    pytest.param(
        b'{"name": "fine-name", "labels": {"env": 5}}',
        "application/json",
        422,
        "body.labels.env",
        id="nested-type",
    ),
    pytest.param(
        b'{"name": "fine-name", "labels": {"BAD KEY": "x"}}',
        "application/json",
        422,
        "body.labels",
        id="bad-label-key",
    ),
    pytest.param(
        b"name=x", "application/x-www-form-urlencoded", 415, "header.content-type", id="not-json"
    ),
]


@pytest.mark.parametrize(("body", "content_type", "status", "field"), BAD_CREATES)
def test_bad_create_bodies(
    client: TestClient, body: bytes, content_type: str, status: int, field: str | None
) -> None:
    before = project_count(client)
    response = client.post(f"{API}/projects", content=body, headers={"content-type": content_type})
    assert_problem(response, status, field)
    assert project_count(client) == before


def test_every_validation_error_is_reported_at_once(client: TestClient) -> None:
    response = client.post(f"{API}/projects", json={"name": "X", "description": 5, "extra": 1})
    problem = assert_problem(response, 422)
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"body.name", "body.description", "body.extra"}


def test_bad_query_parameters(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/projects", params={"limit": "many"}), 422, "query.limit")
    assert_problem(client.get(f"{API}/projects", params={"limit": 0}), 422, "query.limit")
    assert_problem(client.get(f"{API}/projects", params={"sort": "name"}), 422, "query.sort")
    assert_problem(
        client.get(f"{API}/projects", params={"cursor": "garbage!"}), 422, "query.cursor"
    )


def test_body_and_path_must_agree(client: TestClient) -> None:
    client.post(f"{API}/projects", json={"name": "alpha"})
    response = client.patch(f"{API}/projects/alpha", json={"name": "beta", "description": "x"})
    assert_problem(response, 422, "body.name")
    assert client.get(f"{API}/projects/alpha").json()["description"] == ""


def test_query_string_on_a_body_operation_is_refused(client: TestClient) -> None:
    response = client.post(f"{API}/projects?name=sneaky", json={"name": "plain"})
    assert_problem(response, 422, "query.name")
    assert client.get(f"{API}/projects/plain").status_code == 404


def test_huge_body_is_refused_with_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=4096)
    big = {
        "name": "big-one",
        "description": "x" * 3000,
        "labels": {f"k{i}": "v" * 100 for i in range(40)},
    }
    assert_problem(client.post(f"{API}/projects", json=big), 413)
    assert client.get(f"{API}/projects/big-one").status_code == 404


def test_streamed_body_without_length_is_counted(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=4096)

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"name": "streamed", "description": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    response = client.post(
        f"{API}/projects", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)
    assert client.get(f"{API}/projects/streamed").status_code == 404


def test_unknown_route_and_method(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/nothing-here"), 404)
    assert_problem(client.put(f"{API}/projects"), 405)


def test_missing_project_names_the_field(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/projects/ghost"), 404, "path.name")
    assert_problem(client.get(f"{API}/projects/NOT_VALID"), 422, "path.name")


def test_readiness_reports_unreachable_prefect_as_503(client: TestClient) -> None:
    problem = assert_problem(client.get(f"{API}/ready"), 503)
    assert "prefect" in problem["detail"]
    assert client.get(f"{API}/health").json()["status"] == "ok"
