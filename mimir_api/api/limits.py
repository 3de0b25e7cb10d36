"""Request-size limit as a small ASGI middleware, so no route can forget it (the shape of the
input, nesting and 64-bit integers, is checked by `mimir_api.services.input_bounds`)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mimir_api.api.problems import problem_response
from mimir_api.core.errors import PayloadTooLarge


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
