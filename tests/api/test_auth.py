"""Bearer-token auth: open mode only on loopback without tokens, scopes, revocation, secrecy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mimir_api.api.app import UnsafeConfiguration, create_app
from mimir_api.core.config import Settings
from mimir_api.core.security import Scope, create_token, hash_token
from mimir_api.db.engine import make_engine, migrate

API = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_token(client: TestClient, name: str, *scopes: Scope) -> str:
    return create_token(client.app.state.engine, name, frozenset(scopes))  # type: ignore[attr-defined]


def test_open_mode_on_loopback_without_tokens(client: TestClient) -> None:
    info = client.get(f"{API}/system").json()
    assert info["auth_required"] is False
    assert "open mode" in info["caller"]
    assert client.post(f"{API}/projects", json={"name": "open-ok"}).status_code == 201


def test_first_token_switches_auth_on(client: TestClient) -> None:
    token = new_token(client, "admin", Scope.ADMIN)
    response = client.get(f"{API}/projects")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{API}/projects", headers=bearer(token)).status_code == 200
    # liveness and readiness stay public for probes
    assert client.get(f"{API}/health").status_code == 200


def test_scopes_are_enforced(client: TestClient) -> None:
    reader = new_token(client, "reader", Scope.READ)
    writer = new_token(client, "writer", Scope.WRITE)
    admin = new_token(client, "admin", Scope.ADMIN)
    denied = client.post(f"{API}/projects", json={"name": "by-reader"}, headers=bearer(reader))
    assert denied.status_code == 403
    assert "write" in denied.json()["detail"]
    assert client.get(f"{API}/projects/by-reader", headers=bearer(admin)).status_code == 404
    assert (
        client.post(
            f"{API}/projects", json={"name": "by-writer"}, headers=bearer(writer)
        ).status_code
        == 201
    )
    assert client.get(f"{API}/projects", headers=bearer(reader)).status_code == 200
    assert client.get(f"{API}/tokens", headers=bearer(writer)).status_code == 403
    assert client.get(f"{API}/tokens", headers=bearer(admin)).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer mimir_not-a-real-token",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "mimir_token-without-scheme",
    ],
)
def test_invalid_credentials_are_401_even_in_open_mode(client: TestClient, header: str) -> None:
    response = client.get(f"{API}/projects", headers={"Authorization": header})
    assert response.status_code == 401
    assert (
        client.post(
            f"{API}/projects", json={"name": "nope"}, headers={"Authorization": header}
        ).status_code
        == 401
    )
    assert client.get(f"{API}/projects/nope").status_code == 404


def test_revoked_token_stops_working(client: TestClient) -> None:
    admin = new_token(client, "admin", Scope.ADMIN)
    victim = new_token(client, "victim", Scope.READ)
    assert client.get(f"{API}/projects", headers=bearer(victim)).status_code == 200
    revoked = client.post(f"{API}/tokens/victim/revoke", json={}, headers=bearer(admin))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get(f"{API}/projects", headers=bearer(victim)).status_code == 401


def test_token_secrets_are_never_returned(client: TestClient) -> None:
    admin = new_token(client, "admin", Scope.ADMIN)
    listing = client.get(f"{API}/tokens", headers=bearer(admin))
    assert listing.status_code == 200
    assert [t["name"] for t in listing.json()["items"]] == ["admin"]
    assert admin not in listing.text
    assert hash_token(admin) not in listing.text
    assert "hash" not in listing.text


def test_non_loopback_without_tokens_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(UnsafeConfiguration, match="without authentication"):
        create_app(Settings(home=tmp_path / "h", host="0.0.0.0"))


def test_non_loopback_with_a_token_starts_and_requires_it(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path / "h", host="0.0.0.0", prefect_api_url="http://127.0.0.1:9/api"
    )
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    token = create_token(engine, "ops", frozenset({Scope.ADMIN}))
    with TestClient(create_app(settings)) as client:
        assert client.get(f"{API}/projects").status_code == 401
        assert client.get(f"{API}/projects", headers=bearer(token)).status_code == 200


def test_bootstrap_token_from_settings(make_client: Callable[..., TestClient]) -> None:
    client = make_client(host="0.0.0.0", bootstrap_token="boot-secret-0123456789-abcdefghijklmn")
    assert client.get(f"{API}/projects").status_code == 401
    assert (
        client.get(
            f"{API}/projects", headers=bearer("boot-secret-0123456789-abcdefghijklmn")
        ).status_code
        == 200
    )
    info = client.get(
        f"{API}/system", headers=bearer("boot-secret-0123456789-abcdefghijklmn")
    ).json()
    assert "boot-secret" not in str(info)


def test_auth_required_setting_forces_tokens_on_loopback(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(auth="required", bootstrap_token="another-secret-987654321-abcdefghijklmn")
    assert client.get(f"{API}/projects").status_code == 401
