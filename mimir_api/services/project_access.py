"""How operations reach a project: its metadata row and its store — one lookup each.

Every operation addressing a project by name goes through `project_row` (so "does not exist"
reads the same everywhere), and every operation that reads or writes tables opens them with
`project_store` (so a store that cannot be opened is always a 503 naming the project).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session, select

from domain.stores import open_project_store
from mimir_api.core.errors import NotFound, unavailable_on_failure
from mimir_api.db.models import Project
from mimir_api.services.context import ServiceContext
from storage_plugins.base import StoragePlugin


def project_row(session: Session, name: str, *, field: str = "project") -> Project:
    """The project called `name`, or NotFound naming the input `field` that held the name."""
    row = session.exec(select(Project).where(Project.name == name)).first()
    if row is None:
        raise NotFound(f"project '{name}' does not exist", field=field)
    return row


def detached_project(ctx: ServiceContext, name: str) -> Project:
    """The project row, usable after its session closed (for work outside a transaction)."""
    with ctx.session() as session:
        row = project_row(session, name)
        session.expunge(row)
        return row


def open_store_of(project: Project) -> StoragePlugin:
    """The store holding the project's tables (caller closes it); Unavailable if it cannot be
    opened. Prefer `project_store`, which closes it."""
    with unavailable_on_failure(f"cannot open the storage of project '{project.name}'"):
        return open_project_store(
            project.name, project.storage_url, configured=bool(project.storage_plugin)
        )


@contextmanager
def project_store(project: Project) -> Iterator[StoragePlugin]:
    """The project's store for the duration of a `with` block."""
    store = open_store_of(project)
    try:
        yield store
    finally:
        store.close()
