"""The one path every call takes, whichever surface it came from: scope check, input
validation, then the handler. REST and MCP differ only in how they read the raw input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from mimir_api.core.errors import InvalidInput, MimirError, field_errors_from_pydantic
from mimir_api.services.context import ServiceContext
from mimir_api.services.registry import Operation


def parse_input(op: Operation, raw: Mapping[str, Any], sources: Mapping[str, str]) -> BaseModel:
    """Validate `raw` against the operation's input model, naming every offending field.

    `sources` maps a field to where it came from ('path', 'query', 'body', 'arguments'), so
    an error says e.g. `body.labels` rather than a bare `labels`.
    """
    try:
        return op.input_model.model_validate(dict(raw))
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = err.get("loc", ())
            prefix = sources.get(str(loc[0]), "body") if loc else "body"
            errors.extend(field_errors_from_pydantic([err], prefix=prefix))
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise InvalidInput(f"invalid input for {op.name}: {summary}", errors=errors) from None


def invoke(
    op: Operation, ctx: ServiceContext, raw: Mapping[str, Any], sources: Mapping[str, str]
) -> BaseModel:
    """Authorise, validate and run `op`; raises MimirError subclasses on failure."""
    ctx.actor.require(op.scope, op.name)
    params = parse_input(op, raw, sources)
    try:
        result = op.handler(ctx, params)
    except MimirError as error:
        # Services name fields by their input name; say where the caller put them.
        for item in error.errors:
            head = item.field.split(".", 1)[0].split(":", 1)[0]
            if head in sources:
                item.field = f"{sources[head]}.{item.field}"
        if error.field is not None and error.field.split(".", 1)[0].split(":", 1)[0] in sources:
            error.field = (
                error.errors[0].field if error.errors else f"{sources[error.field]}.{error.field}"
            )
        raise
    if not isinstance(result, op.output_model):
        got, expected = type(result).__name__, op.output_model.__name__
        raise TypeError(f"{op.name} returned {got}, not {expected}")
    return result
