"""The errors services raise; each maps to one RFC 9457 problem type on every surface.

Services raise these and nothing HTTP-specific; REST turns them into
`application/problem+json` responses and MCP into error results carrying the same document.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, Field

PROBLEM_BASE = "urn:mimir:problem:"


class FieldError(BaseModel):
    """One offending input field."""

    field: str = Field(description="Dotted path of the field, e.g. 'body.labels.env'.")
    message: str = Field(description="What was wrong and what was expected.")
    type: str = Field(default="invalid", description="Machine-readable error kind.")
    line: int | None = Field(default=None, description="Line in an uploaded document, if any.")
    column: int | None = Field(default=None, description="Column in an uploaded document.")


class Problem(BaseModel):
    """An RFC 9457 problem document, as every Mimir error is reported."""

    type: str = Field(description="URI identifying the kind of problem.")
    title: str = Field(description="Short, human-readable summary of the problem kind.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="Explanation specific to this occurrence.")
    instance: str | None = Field(default=None, description="The request path it happened on.")
    field: str | None = Field(default=None, description="The first offending field, if any.")
    errors: list[FieldError] = Field(default_factory=list, description="All offending fields.")


class MimirError(Exception):
    """Base of all expected errors; `status` and `slug` fix the problem type."""

    status = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(
        self, detail: str, *, field: str | None = None, errors: list[FieldError] | None = None
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or ([FieldError(field=field, message=detail)] if field else [])
        self.field = field or (self.errors[0].field if self.errors else None)

    def to_problem(self, instance: str | None = None) -> Problem:
        """Render as the problem document both surfaces return."""
        return Problem(
            type=PROBLEM_BASE + self.slug,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            field=self.field,
            errors=self.errors,
        )


class InvalidInput(MimirError):
    """Input failed validation; `errors` names every offending field."""

    status = 422
    slug = "validation-error"
    title = "Invalid input"


class BadRequest(MimirError):
    """The request could not be read at all (malformed JSON, wrong content type)."""

    status = 400
    slug = "bad-request"
    title = "Malformed request"


class Unauthorized(MimirError):
    """No valid credentials were presented."""

    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(MimirError):
    """Valid credentials lacking the scope the operation needs."""

    status = 403
    slug = "forbidden"
    title = "Insufficient scope"


class NotFound(MimirError):
    """The addressed resource does not exist."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(MimirError):
    """The request clashes with existing state (a duplicate name, say)."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(MimirError):
    """The request body exceeded MIMIR_MAX_BODY_BYTES."""

    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class Unavailable(MimirError):
    """A dependency (Prefect, a storage backend) could not be reached."""

    status = 503
    slug = "unavailable"
    title = "Dependency unavailable"


def field_errors_from_pydantic(errors: list[Any], prefix: str = "") -> list[FieldError]:
    """Turn pydantic's error list into FieldErrors with dotted paths and readable messages."""
    result = []
    for err in errors:
        loc = ".".join(str(part) for part in err.get("loc", ()))
        path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "body")
        message = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden":
            message = "unknown field; remove it (fields are checked strictly)"
        result.append(FieldError(field=path, message=message, type=err.get("type", "invalid")))
    return result


@contextmanager
def unavailable_on_failure(what: str) -> Iterator[None]:
    """Report any failure of an outside service (Prefect, a backend) as Unavailable, prefixed
    with what was being attempted; Mimir's own errors pass through unchanged."""
    try:
        yield
    except MimirError:
        raise
    except Exception as exc:
        raise Unavailable(f"{what}: {exc}") from exc
