"""Ontology uploads through the API: bounded in time (issue 10.3) and never fetching (10.5)."""

from __future__ import annotations

import json
import multiprocessing.forkserver
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ontology.test_bounded import big_turtle
from tests.ontology.test_io_no_fetch import _Canary

API = "/api/v1"


@pytest.fixture
def canary() -> Iterator[_Canary]:
    c = _Canary()
    c.thread.start()
    yield c
    c.server.shutdown()
    c.server.server_close()


def _forkserver_children() -> list[int]:
    """Live (not zombie) processes whose parent is this process's multiprocessing forkserver."""
    server = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    if server is None:
        return []
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def test_a_huge_upload_hits_the_deadline_cleanly_and_leaves_no_worker(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client(ontology_parse_timeout_s=1)
    assert client.post(f"{API}/projects", json={"name": "big"}).status_code == 201
    content = big_turtle(70_000)
    response = client.post(f"{API}/projects/big/ontologies",
                           json={"name": "huge", "content": content})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert "ontology parsing exceeded 1 s" in problem["detail"]
    assert problem["errors"][0]["field"] == "body.content"
    assert client.get(f"{API}/projects/big/ontologies").json()["items"] == []
    assert _forkserver_children() == []  # the parser was killed, not left burning CPU


def test_a_jsonld_upload_with_a_remote_context_fetches_nothing(
        client: TestClient, canary: _Canary) -> None:
    assert client.post(f"{API}/projects", json={"name": "jsonld"}).status_code == 201
    url = canary.url + "/context.jsonld"
    doc: dict[str, Any] = {"@context": url, "@id": "ex:A", "@type": "owl:Class"}
    response = client.post(f"{API}/projects/jsonld/ontologies",
                           json={"name": "remote", "content": json.dumps(doc), "format": "json-ld"})
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["type"] == "external_reference" and url in error["message"]
    assert canary.requests == []
