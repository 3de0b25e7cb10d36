"""What `mimir up` gives its worker: the API's URL and this start's worker credential, which
the API accepts (scope write, nothing more) in open mode and after a token is created, without
ever turning auth on; other children never see it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from mimir_api.core.config import Settings
from mimir_api.core.errors import Forbidden, Unauthorized
from mimir_api.core.security import (
    WORKER_NAME,
    Scope,
    auth_required,
    authenticate,
    create_token,
)
from mimir_api.db.engine import make_engine, migrate
from mimir_api.supervisor import Supervisor


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", port=8123)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    engine.dispose()
    return settings


def api_settings(settings: Settings, supervisor: Supervisor) -> Settings:
    """The settings the API child reads from the environment `mimir up` gives it."""
    secret = supervisor.api_env()["MIMIR_WORKER_TOKEN"]
    return settings.model_copy(update={"worker_token": SecretStr(secret)})


def test_the_worker_holds_a_credential_in_open_mode_without_turning_auth_on(
    settings: Settings,
) -> None:
    supervisor = Supervisor(settings)
    env = supervisor.worker_env()
    assert env["MIMIR_API_URL"] == "http://127.0.0.1:8123"
    api = api_settings(settings, supervisor)
    engine = make_engine(settings.resolved_database_url)
    assert not auth_required(api, engine), "the worker credential turned auth on"
    assert authenticate(api, engine, None).name == "local (open mode)"
    actor = authenticate(api, engine, f"Bearer {env['MIMIR_API_TOKEN']}")
    assert (actor.name, actor.scopes) == (WORKER_NAME, frozenset({Scope.WRITE}))
    engine.dispose()


def test_a_token_created_mid_session_does_not_cut_the_worker_off(settings: Settings) -> None:
    supervisor = Supervisor(settings)
    api = api_settings(settings, supervisor)
    worker_token = supervisor.worker_env()["MIMIR_API_TOKEN"]
    engine = make_engine(settings.resolved_database_url)
    create_token(engine, "admin", frozenset({Scope.ADMIN}))  # auth turns on now
    assert auth_required(api, engine)
    actor = authenticate(api, engine, f"Bearer {worker_token}")
    assert actor.name == WORKER_NAME
    with pytest.raises(Forbidden):
        actor.require(Scope.ADMIN, "list_tokens")
    engine.dispose()


def test_each_start_has_its_own_credential_and_only_api_and_worker_see_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIMIR_API_TOKEN", "leaked-from-the-shell")
    monkeypatch.setenv("MIMIR_WORKER_TOKEN", "leaked-from-the-shell")
    first, second = Supervisor(settings), Supervisor(settings)
    assert first.worker_secret != second.worker_secret
    assert first.worker_env()["MIMIR_API_TOKEN"] == first.api_env()["MIMIR_WORKER_TOKEN"]
    shared = first.child_env()
    assert "MIMIR_API_TOKEN" not in shared and "MIMIR_WORKER_TOKEN" not in shared
    assert "MIMIR_WORKER_TOKEN" not in first.worker_env()
    assert "MIMIR_API_TOKEN" not in first.api_env()
    engine = make_engine(settings.resolved_database_url)
    with pytest.raises(Unauthorized):  # the previous start's credential is worthless
        authenticate(api_settings(settings, second), engine, f"Bearer {first.worker_secret}")
    engine.dispose()
