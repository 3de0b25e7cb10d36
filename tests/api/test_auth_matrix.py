"""Every operation under no token / read / write / admin, and the browser rules for every operation,
generated from the registry so a new operation is covered the day it is added."""

from __future__ import annotations

import uuid
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from prefect.settings import PREFECT_API_URL, temporary_settings

from mimir_api.core.security import Scope, create_token
from mimir_api.services.catalog import build_registry
from mimir_api.services.registry import Operation

API = "/api/v1"
OPERATIONS = list(build_registry())
RANK = {Scope.PUBLIC: 0, Scope.READ: 1, Scope.WRITE: 2, Scope.ADMIN: 3}
CALLERS = {None: 0, Scope.READ: 1, Scope.WRITE: 2, Scope.ADMIN: 3}
PROBES = {"get_health", "get_readiness"}  # exempt from the Host check


def _placeholder(op: Operation, name: str) -> str:
    annotation = op.input_model.model_fields[name].annotation
    kinds = {annotation, *get_args(annotation)}
    if int in kinds:
        return "1"
    if uuid.UUID in kinds:
        return str(uuid.UUID(int=1))
    return "p"


def url_of(op: Operation) -> str:
    path = op.path
    for name in op.path_params:
        path = path.replace("{" + name + "}", _placeholder(op, name))
    return API + path


def call(client: TestClient, op: Operation, headers: dict[str, str]) -> Any:
    body = {} if op.method in ("POST", "PUT", "PATCH") else None
    return client.request(op.method, url_of(op), json=body, headers=headers)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One app with a read, a write and an admin token (tokens switch auth on)."""
    from mimir_api.api.app import create_app
    from mimir_api.core.config import Settings

    home = tmp_path_factory.mktemp("matrix")
    unreachable = "http://127.0.0.1:9/api"  # Prefect answers fast (503), no ephemeral server
    settings = Settings(home=home / "home", prefect_api_url=unreachable)
    app = create_app(settings)
    engine = app.state.engine
    tokens = {
        scope: create_token(engine, f"matrix-{scope.value}", frozenset({scope}))
        for scope in (Scope.READ, Scope.WRITE, Scope.ADMIN)
    }
    with (
        temporary_settings({PREFECT_API_URL: unreachable}),
        TestClient(app, base_url="http://127.0.0.1") as client,
    ):
        yield client, tokens


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_every_operation_under_every_caller(secured: Any, op: Operation) -> None:
    client, tokens = secured
    for caller, rank in CALLERS.items():
        headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller else {}
        response = call(client, op, headers)
        who = caller.value if caller else "no token"
        if rank >= RANK[op.scope]:
            assert response.status_code not in (401, 403), (who, response.text)
            assert response.status_code < 500 or response.status_code == 503, (who, response.text)
        elif caller is None:
            assert response.status_code == 401, (who, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
        else:
            assert response.status_code == 403, (who, response.text)
            assert op.scope.value in response.json()["detail"]


def test_the_matrix_covers_every_scope() -> None:
    assert {op.scope for op in OPERATIONS} == set(Scope)
    assert len(OPERATIONS) >= 50


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_browser_rules_for_every_operation(secured: Any, op: Operation) -> None:
    client, tokens = secured
    admin = {"Authorization": f"Bearer {tokens[Scope.ADMIN]}"}
    rebinding = call(client, op, {**admin, "Host": "attacker.example:8080"})
    assert rebinding.status_code == (421 if op.name not in PROBES else rebinding.status_code)
    assert op.name in PROBES or rebinding.json()["field"] == "header.host"
    foreign = call(client, op, {**admin, "Origin": "https://attacker.example"})
    assert foreign.status_code == 403 and foreign.json()["field"] == "header.origin"
    if op.method in ("POST", "PUT", "PATCH"):
        for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
            headers = {**admin, "Content-Type": content_type} if content_type else admin
            response = client.request(op.method, url_of(op), headers=headers)
            assert response.status_code == 415, (content_type, response.text)
