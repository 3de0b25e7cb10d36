"""Immutable ontology versions, independent of where they are stored.

A project holds one or more ontologies (each with an ``ontology_id``); every save is an
`OntologyVersion`: who, when, why, the complete Turtle text and the version it was derived
from. The metadata DB (in ``mimir_api``) persists these records as they are; this module
only builds and reads them, so it needs no database.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ontology.io import from_turtle, to_turtle
from ontology.model import OntologyModel

Origin = Literal["import", "extraction", "edit", "proposal", "manual"]


class OntologyVersion(BaseModel):
    """One saved state of an ontology; never changed once created."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ontology_id: str = Field(min_length=1, description="The ontology this version belongs to.")
    version: int = Field(ge=1, description="Version number, 1 for the first save.")
    parent: int | None = Field(
        default=None, ge=1, description="The version this one was derived from, if any."
    )
    author: str = Field(min_length=1, description="Who saved it (a user name or 'extraction').")
    created_at: datetime = Field(description="When it was saved (timezone-aware, UTC).")
    message: str = Field(default="", description="Why it was saved, as the author wrote it.")
    origin: Origin = Field(
        default="manual",
        description="How it came about: import, extraction, edit, proposal or manual.",
    )
    turtle: str = Field(description="The complete ontology as Turtle.")
    checksum: str = Field(description="SHA-256 of the Turtle text (hex).")


def create_version(
    ontology_id: str,
    model: OntologyModel,
    *,
    author: str,
    message: str = "",
    parent: OntologyVersion | None = None,
    number: int | None = None,
    origin: Origin = "manual",
    now: datetime | None = None,
) -> OntologyVersion:
    """Build the next version of `ontology_id` from `model`.

    `number` defaults to ``parent.version + 1`` (1 without a parent); pass the store's next
    number when versions branch (a proposal accepted after other saves).

    >>> v1 = create_version("shop", OntologyModel(), author="ana", message="start")
    >>> v2 = create_version("shop", OntologyModel(), author="ana", parent=v1)
    >>> v1.version, v2.version, v2.parent
    (1, 2, 1)
    """
    if parent is not None and parent.ontology_id != ontology_id:
        raise ValueError(
            f"parent belongs to ontology {parent.ontology_id!r}, not {ontology_id!r}"
        )
    if number is None:
        number = parent.version + 1 if parent is not None else 1
    if parent is not None and number <= parent.version:
        raise ValueError(f"version {number} must be newer than its parent {parent.version}")
    turtle = to_turtle(model)
    created = now or datetime.now(UTC)
    if created.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    return OntologyVersion(
        ontology_id=ontology_id,
        version=number,
        parent=parent.version if parent is not None else None,
        author=author,
        created_at=created.astimezone(UTC),
        message=message,
        origin=origin,
        turtle=turtle,
        checksum=hashlib.sha256(turtle.encode("utf-8")).hexdigest(),
    )


def version_model(version: OntologyVersion) -> OntologyModel:
    """The model stored in `version`."""
    return from_turtle(version.turtle)
