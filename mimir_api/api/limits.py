"""Limits every request obeys, applied at the edge so no route can forget them: the body size
(an ASGI middleware) and the shape of the input (nesting depth, 64-bit integers)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, get_args

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mimir_api.api.problems import problem_response
from mimir_api.core.errors import FieldError, InvalidInput, PayloadTooLarge
from mimir_api.services.registry import Operation


class BodyLimitMiddleware:
    """Reject bodies over `max_bytes` with 413, by Content-Length or while streaming."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        upload_max_bytes: int | None = None,
        upload_suffixes: tuple[str, ...] = (),
    ):
        self.app = app
        self.max_bytes = max_bytes
        # File uploads stream to storage and have their own, larger limit.
        self.upload_max_bytes = upload_max_bytes or max_bytes
        self.upload_suffixes = upload_suffixes

    def _limit(self, scope: Scope) -> int:
        path = scope.get("path", "")
        if self.upload_suffixes and path.endswith(self.upload_suffixes):
            return self.upload_max_bytes
        return self.max_bytes

    def _error(self, limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(f"the request body exceeds the limit of {limit} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_large = int(value) > limit
                except ValueError:
                    too_large = False
                if too_large:
                    response = problem_response(self._error(limit).to_problem(scope.get("path")))
                    await response(scope, receive, send)
                    return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise self._error(limit)
            return message

        await self.app(scope, counting_receive, send)


MAX_JSON_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGER_TEXT = re.compile(r"[+-]?\d+")


def _takes_int(op: Operation, name: str) -> bool:
    """True when the input field `name` of `op` accepts an int (alone, optional or in a list)."""
    field = op.input_model.model_fields.get(name)
    if field is None:
        return False
    pending: list[Any] = [field.annotation]
    while pending:
        annotation = pending.pop()
        if annotation is int:
            return True
        pending.extend(get_args(annotation))
    return False


def check_input_bounds(op: Operation, raw: Mapping[str, Any], sources: Mapping[str, str]) -> None:
    """Refuse input nested deeper than MAX_JSON_DEPTH or holding integers beyond 64 bits.

    Services hand integers to SQL (64-bit columns) and nested values to JSON encoders that
    recurse; both fail with a 500 on such input, so it is refused here, at the edge, for every
    operation at once. Integer fields given as text (path and query parameters) are checked
    too. Raises InvalidInput naming the field.
    """
    errors: list[FieldError] = []
    for key, value in raw.items():
        where = f"{sources.get(key, 'body')}.{key}"
        pending: list[tuple[Any, str, int]] = [(value, where, 1)]
        while pending and not errors:
            item, path, depth = pending.pop()
            if depth > MAX_JSON_DEPTH:
                errors.append(
                    FieldError(
                        field=where,
                        message=f"nested more than {MAX_JSON_DEPTH} levels deep",
                        type="too_deep",
                    )
                )
            elif isinstance(item, dict):
                pending.extend((v, f"{path}.{k}", depth + 1) for k, v in item.items())
            elif isinstance(item, list):
                pending.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(item))
            elif _out_of_int64(item, text_is_int=_takes_int(op, key)):
                errors.append(
                    FieldError(
                        field=path,
                        message=f"integer out of range; expected {INT64_MIN} to {INT64_MAX}",
                        type="int_out_of_range",
                    )
                )
    if errors:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise InvalidInput(f"invalid input for {op.name}: {summary}", errors=errors)


def _out_of_int64(value: Any, *, text_is_int: bool) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not INT64_MIN <= value <= INT64_MAX
    if text_is_int and isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        digits = value.strip().lstrip("+-")
        return len(digits) > 19 or not INT64_MIN <= int(value) <= INT64_MAX
    return False
