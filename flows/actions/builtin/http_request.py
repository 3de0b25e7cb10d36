"""`http.request`: one HTTP call with httpx, guarded, size-capped, retryable on 429/5xx.

Retrying is Prefect's job: a 429/5xx raises `RetryableHTTPError` and the step's `retries`
re-run the task; 4xx and refused addresses are permanent and fail at once.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any, Literal

import httpx
from pydantic import Field

from flows.actions.base import ActionContext, PermanentError, StrictParams, action
from flows.actions.builtin.files import writable_path
from flows.actions.builtin.net_guard import guarded_client
from flows.settings import runtime_settings


class RetryableHTTPError(Exception):
    """429 or 5xx: worth another try."""


class HttpAuth(StrictParams):
    """Credentials taken from a Prefect Secret block, never written in the YAML."""

    type: Literal["bearer", "basic", "header"] = Field(description="How to send the secret.")
    secret: str = Field(description="Name of the Prefect Secret block holding it.")
    username: str | None = Field(default=None, description="User name for basic auth.")
    header: str = Field(default="Authorization", description="Header name for type 'header'.")


class HttpRequestParams(StrictParams):
    """Inputs of http.request."""

    url: str = Field(description="Absolute http(s) URL.")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = Field(
        default="GET", description="HTTP method."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    params: dict[str, Any] = Field(default_factory=dict, description="Query parameters.")
    json_body: Any = Field(default=None, alias="json", description="JSON body.")
    body: str | None = Field(default=None, description="Raw text body.")
    auth: HttpAuth | None = Field(default=None, description="Credentials from a secret.")
    timeout: float = Field(default=30, gt=0, le=600, description="Seconds per request.")
    max_bytes: int | None = Field(
        default=None,
        gt=0,
        description="Response size cap (default and ceiling MIMIR_HTTP_MAX_RESPONSE_BYTES, or "
        "MIMIR_HTTP_MAX_DOWNLOAD_BYTES with save_to).",
    )
    save_to: str | None = Field(
        default=None,
        description="Stream the body into this file of the project storage instead of the "
        "context (a large export; then storage.load it); the output has path and size.",
    )
    follow_redirects: bool = Field(
        default=False, description="Follow redirects (each hop guarded)."
    )
    expect_json: bool | None = Field(
        default=None, description="Parse the body as JSON (default: by Content-Type)."
    )


@action("http.request")
def http_request(params: HttpRequestParams, ctx: ActionContext) -> dict[str, Any]:
    """Make an HTTP request; returns status, headers and body (parsed JSON when it is JSON)."""
    settings = runtime_settings()
    ceiling, setting = (
        (settings.http_max_download_bytes, "MIMIR_HTTP_MAX_DOWNLOAD_BYTES")
        if params.save_to
        else (settings.http_max_response_bytes, "MIMIR_HTTP_MAX_RESPONSE_BYTES")
    )
    cap = min(params.max_bytes or ceiling, ceiling)
    limit = f"{cap} bytes ({'max_bytes' if cap < ceiling else setting})"
    headers = dict(params.headers)
    auth: httpx.Auth | None = None
    if params.auth:
        secret = ctx.secret(params.auth.secret)
        if params.auth.type == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        elif params.auth.type == "header":
            headers[params.auth.header] = secret
        else:
            auth = httpx.BasicAuth(params.auth.username or "", secret)

    with guarded_client(
        settings.http_allowed_hosts,
        timeout=params.timeout,
        follow_redirects=params.follow_redirects,
        auth=auth,
    ) as client:
        try:
            with client.stream(
                params.method,
                params.url,
                headers=headers,
                params=params.params or None,
                json=params.json_body,
                content=params.body,
            ) as response:
                if params.save_to and response.status_code < 400:
                    saved = _save_body(response, params.save_to, cap, limit, ctx)
                    return {
                        "status": response.status_code,
                        "headers": dict(response.headers),
                        "path": params.save_to,
                        "size": saved,
                        "url": str(response.url),
                    }
                # an error answer to a save_to request is read like any other, within the
                # context's cap (only a successful body goes to the file)
                in_context = min(cap, settings.http_max_response_bytes)
                if in_context < cap:
                    limit = f"{in_context} bytes (MIMIR_HTTP_MAX_RESPONSE_BYTES)"
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > in_context:
                        raise PermanentError(
                            f"response from {params.url} is over {limit}: it would all land in "
                            "the run's context — stream it into a file with save_to: and load "
                            "it with storage.load"
                        )
                    chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise RetryableHTTPError(f"timed out after {params.timeout}s: {exc}") from None
        except httpx.TransportError as exc:
            raise RetryableHTTPError(f"{type(exc).__name__}: {exc}") from None
    raw = b"".join(chunks)
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableHTTPError(f"{params.method} {params.url} answered {response.status_code}")
    if response.status_code >= 400:
        raise PermanentError(
            f"{params.method} {params.url} answered {response.status_code}: {raw[:300]!r}"
        )
    is_json = params.expect_json
    if is_json is None:
        is_json = "json" in response.headers.get("content-type", "")
    body: Any = raw.decode(response.encoding or "utf-8", errors="replace")
    if is_json and raw:
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise PermanentError(f"response is not valid JSON: {exc}") from None
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "body": body,
        "url": str(response.url),
    }


def _save_body(
    response: httpx.Response, relative: str, cap: int, limit: str, ctx: ActionContext
) -> int:
    """Stream the body into `relative` in the project storage, chunk by chunk (memory stays
    at one chunk); a body over `cap` leaves nothing behind. Returns the size written."""
    fs, path = writable_path(ctx, relative)
    partial = f"{path}.part"
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    size = 0
    try:
        with fs.open(partial, "wb") as out:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise PermanentError(
                        f"response from {response.url} is over {limit}; nothing was saved"
                    )
                out.write(chunk)
        fs.mv(partial, path)
    finally:
        if fs.exists(partial):
            fs.rm(partial)
    return size
