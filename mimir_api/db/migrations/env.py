"""Alembic environment: runs migrations on the engine `mimir_api.db.engine` hands in."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import mimir_api.db.models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    """Online migrations only: Mimir always has a live engine at hand."""
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
