"""What `mimir up` gives its worker: the API's URL and, only when auth is on, a rotated
internal token that the API accepts with scope write (and nothing more)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mimir_api.core.config import Settings
from mimir_api.core.errors import Forbidden, Unauthorized
from mimir_api.core.security import Scope, authenticate, create_token
from mimir_api.db.engine import make_engine, migrate
from mimir_api.supervisor import WORKER_TOKEN_NAME, Supervisor


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", port=8123)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    engine.dispose()
    return settings


def test_open_mode_gives_the_url_and_creates_no_token(settings: Settings) -> None:
    env = Supervisor(settings).worker_env()
    assert env["MIMIR_API_URL"] == "http://127.0.0.1:8123"
    assert "MIMIR_API_TOKEN" not in env
    engine = make_engine(settings.resolved_database_url)
    assert authenticate(settings, engine, None).name == "local (open mode)"  # still open
    engine.dispose()


def test_with_auth_on_the_worker_gets_a_rotated_write_token(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    create_token(engine, "admin", frozenset({Scope.ADMIN}))
    supervisor = Supervisor(settings)
    first = supervisor.worker_env()["MIMIR_API_TOKEN"]
    second = supervisor.worker_env()["MIMIR_API_TOKEN"]
    assert first != second
    actor = authenticate(settings, engine, f"Bearer {second}")
    assert (actor.name, actor.scopes) == (WORKER_TOKEN_NAME, frozenset({Scope.WRITE}))
    with pytest.raises(Forbidden):
        actor.require(Scope.ADMIN, "list_tokens")
    with pytest.raises(Unauthorized):
        authenticate(settings, engine, f"Bearer {first}")
    assert "MIMIR_API_TOKEN" not in supervisor.child_env()  # only the worker gets it
    engine.dispose()
