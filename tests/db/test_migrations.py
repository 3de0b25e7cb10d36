"""The metadata DB migrates on SQLite and PostgreSQL, and the migrations match the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from mimir_api.core.config import Settings
from mimir_api.core.security import LOCAL_OPERATOR
from mimir_api.db.engine import alembic_config, make_engine, migrate
from mimir_api.services import projects
from mimir_api.services.context import ServiceContext
from tests.utils.servers import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty metadata DB on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'meta.db'}"
    else:
        with postgres_database("mimir_test_meta") as url:
            yield url


def test_migrations_create_exactly_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert diff == [], f"models and migrations differ: {diff}"
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert version == head and head is not None and int(head.split("_")[0]) >= 2
    assert {"projects", "api_tokens", "pipelines", "pipeline_versions"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_migrate_is_idempotent_and_keeps_data(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    settings = Settings(home=tmp_path / "home", database_url=database_url)
    ctx = ServiceContext(settings=settings, engine=engine, actor=LOCAL_OPERATOR)
    projects.create_project(ctx, projects.ProjectCreate(name="survivor"))
    migrate(engine)
    page = projects.list_projects(ctx, projects.ProjectListQuery())
    assert [p.name for p in page.items] == ["survivor"]
    engine.dispose()


def test_project_operations_on_each_backend(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    settings = Settings(home=tmp_path / "home", database_url=database_url)
    ctx = ServiceContext(settings=settings, engine=engine, actor=LOCAL_OPERATOR)
    created = projects.create_project(
        ctx, projects.ProjectCreate(name="meta-test", labels={"tier": "gold"})
    )
    assert created.created_at.tzinfo is not None
    updated = projects.update_project(
        ctx, projects.ProjectUpdate(name="meta-test", description="x")
    )
    assert updated.labels == {"tier": "gold"} and updated.description == "x"
    clone = projects.clone_project(
        ctx, projects.ProjectClone(name="meta-test", new_name="meta-copy")
    )
    assert clone.project.labels == {"tier": "gold"}
    from mimir_api.core.errors import Conflict

    with pytest.raises(Conflict):
        projects.create_project(ctx, projects.ProjectCreate(name="meta-copy"))
    names = [p.name for p in projects.list_projects(ctx, projects.ProjectListQuery()).items]
    assert names == ["meta-copy", "meta-test"]
    engine.dispose()
