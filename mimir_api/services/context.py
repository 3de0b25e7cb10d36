"""What every operation receives: settings, the metadata DB and the caller."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from mimir_api.core.config import Settings
from mimir_api.core.security import Actor


@dataclass(frozen=True)
class ServiceContext:
    """Passed explicitly to each operation; nothing in the services reads globals."""

    settings: Settings
    engine: Engine
    actor: Actor

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A metadata-DB session; the caller commits, anything uncommitted is rolled back."""
        with Session(self.engine) as session:
            yield session
