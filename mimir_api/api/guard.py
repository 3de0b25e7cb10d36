"""What a browser may do: Host, Origin and Content-Type checks for REST, MCP and the UI alike.

In open mode (loopback, no tokens) any web page the user visits could otherwise act on the API:
a page can POST `text/plain` or forms to 127.0.0.1 without a CORS preflight, and DNS rebinding
makes a foreign name resolve to 127.0.0.1 so the page reads the answers too. So:

- the Host header must name the bound address, localhost or a name in MIMIR_ALLOWED_HOSTS
  (421 otherwise; liveness and readiness probes are exempt, they reveal nothing);
- an Origin header, when present, must be the request's own origin or one of
  MIMIR_CORS_ORIGINS (403 otherwise);
- POST, PUT and PATCH must say `Content-Type: application/json`, body or not (415 otherwise),
  which a page can only send after a CORS preflight that fails unless CORS is configured.
  This one is checked by each route (`require_json`: REST endpoints and the MCP wrapper), after
  routing, so a wrong method still gets its 405.

DELETE needs no Content-Type: browsers preflight it cross-origin anyway.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from mimir_api.api.problems import problem_response
from mimir_api.core.config import Settings
from mimir_api.core.errors import Forbidden, MimirError

JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})
PROBE_PATHS = frozenset({"/api/v1/health", "/api/v1/ready"})


class MisdirectedRequest(MimirError):
    """The Host header names a server this one is not (DNS rebinding, a wrong proxy route)."""

    status = 421
    slug = "misdirected-request"
    title = "Misdirected request"


class UnsupportedMediaType(MimirError):
    """A state-changing request that is not `application/json`."""

    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


def host_name(host_header: str) -> str:
    """'Example.com:8080' → 'example.com'; '[::1]:8080' → '::1'."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def require_json(method: str, headers: Headers) -> None:
    """Raise UnsupportedMediaType unless a POST/PUT/PATCH says `Content-Type: application/json`."""
    if method not in JSON_METHODS:
        return
    content_type = headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType(
            f"{method} requests must be sent with 'Content-Type: application/json' (even "
            f"without a body; send {{}}), got {content_type or 'none'!r}",
            field="header.content-type",
        )


def check_request(
    settings: Settings, method: str, path: str, headers: Headers
) -> MimirError | None:
    """The Host/Origin error this request must get, or None when it may proceed."""
    host = headers.get("host", "")
    accepted = settings.accepted_hosts
    if accepted is not None and path not in PROBE_PATHS and host_name(host) not in accepted:
        return MisdirectedRequest(
            f"this server does not answer to host {host_name(host)!r}; add the name to "
            "MIMIR_ALLOWED_HOSTS if it is yours",
            field="header.host",
        )
    origin = headers.get("origin")
    if origin is not None and origin.lower() not in settings.cors_origins:
        parts = urlsplit(origin.lower())
        if parts.scheme not in ("http", "https") or parts.netloc != host.lower():
            return Forbidden(
                f"requests from the web page at {origin!r} are not allowed; add the origin to "
                "MIMIR_CORS_ORIGINS to allow it",
                field="header.origin",
            )
    return None


class BrowserGuardMiddleware:
    """Apply `check_request` (Host, Origin) to every HTTP request before any route sees it."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            error = check_request(
                self.settings, scope["method"], scope.get("path", ""), Headers(scope=scope)
            )
            if error is not None:
                response = problem_response(error.to_problem(scope.get("path")))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
