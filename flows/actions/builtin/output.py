"""Output pipelines: `report.render` writes a report file, `notify` tells someone.

Both are allowed only in output pipelines (checked at compile time).
"""

from __future__ import annotations

import csv
import io
import smtplib
from email.message import EmailMessage
from typing import Any, Literal

import httpx
from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import Field, model_validator

from flows.actions.base import ActionContext, PermanentError, StrictParams, action
from flows.actions.builtin.files import safe_path, writable_path
from flows.actions.builtin.http_request import RetryableHTTPError
from flows.actions.builtin.net_guard import (
    InvalidAllowList,
    guarded_client,
    parse_allow_list,
    vet_addresses,
)
from flows.actions.builtin.smtp_pinned import open_smtp
from flows.settings import runtime_settings

NOTIFY_MAX_RESPONSE_BYTES = 64 * 1024
"""A webhook's answer is only looked at for its status; never read more of it than this."""


class ReportParams(StrictParams):
    """Inputs of report.render."""

    path: str = Field(description="Where to write the report in the project storage.")
    format: Literal["markdown", "html", "csv"] = Field(description="Report format.")
    template: str | None = Field(default=None, description="Inline Jinja template (markdown/html).")
    template_path: str | None = Field(
        default=None, description="Template file in the project storage (markdown/html)."
    )
    data: Any = Field(default=None, description="Value the template sees as `data`.")
    rows: list[dict[str, Any]] | None = Field(default=None, description="Rows for a CSV report.")

    @model_validator(mode="after")
    def _source(self) -> ReportParams:
        if self.format == "csv":
            if self.rows is None:
                raise ValueError("a csv report needs 'rows'")
        elif (self.template is None) == (self.template_path is None):
            raise ValueError("give exactly one of 'template' or 'template_path'")
        return self


@action("report.render", pipeline_types=("output",), deferred=("template",))
def report_render(params: ReportParams, ctx: ActionContext) -> dict[str, Any]:
    """Render a Markdown/HTML report from a sandboxed Jinja template, or CSV from rows."""
    if params.format == "csv":
        rows = params.rows or []
        columns = list(dict.fromkeys(key for row in rows for key in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    else:
        source = params.template
        if source is None:
            fs, template_file = safe_path(ctx, params.template_path or "")
            source = fs.cat_file(template_file).decode()
        env = ImmutableSandboxedEnvironment(autoescape=params.format == "html")
        try:
            text = env.from_string(source).render(
                data=params.data, run_id=ctx.run_id, pipeline=ctx.pipeline
            )
        except TemplateError as exc:
            raise PermanentError(f"report template: {exc}") from None
    fs, target = writable_path(ctx, params.path)
    fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
    data = text.encode()
    fs.pipe_file(target, data)
    return {"path": params.path, "format": params.format, "size": len(data)}


class EmailTarget(StrictParams):
    """An e-mail sent over SMTP; the password comes from the project's Prefect Secret block."""

    host: str = Field(min_length=1, max_length=255, description="SMTP server host.")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    sender: str = Field(min_length=3, max_length=320, description="From address.")
    to: list[str] = Field(min_length=1, max_length=100, description="Recipient addresses.")
    username: str | None = Field(default=None, max_length=320, description="SMTP login.")
    password_secret: str | None = Field(
        default=None,
        description="Name of the project's Prefect Secret block holding the SMTP password.",
    )
    security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="Transport security: STARTTLS, implicit TLS or none."
    )


class NotifyParams(StrictParams):
    """Inputs of notify."""

    message: str = Field(description="The notification text.")
    title: str = Field(default="Mimir AIP", description="Subject / title.")
    webhook: str | None = Field(default=None, description="URL to POST a JSON payload to.")
    webhook_secret: str | None = Field(
        default=None, description="Name of a Prefect Secret block holding the webhook URL."
    )
    block: str | None = Field(
        default=None,
        description="A Prefect notification block as 'type-slug/name' (e.g. 'slack-webhook/ops').",
    )
    email: EmailTarget | None = Field(default=None, description="An e-mail over SMTP.")

    @model_validator(mode="after")
    def _one_target(self) -> NotifyParams:
        targets = (self.webhook, self.webhook_secret, self.block, self.email)
        if sum(x is not None for x in targets) != 1:
            raise ValueError("give exactly one of 'webhook', 'webhook_secret', 'block' or 'email'")
        return self


def _send_email(target: EmailTarget, title: str, message: str, ctx: ActionContext) -> None:
    """Send through SMTP after the same address check webhooks pass (internal SMTP servers
    only when the operator allows them), connected to the address that check vetted; the
    password is never logged or returned."""
    try:
        allow = parse_allow_list(runtime_settings().http_allowed_hosts)
    except InvalidAllowList as exc:
        raise PermanentError(f"MIMIR_HTTP_ALLOWED_HOSTS: {exc}") from None
    addresses = vet_addresses(target.host, target.port, allow)
    password = ctx.secret(target.password_secret) if target.password_secret else None
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = title, target.sender, ", ".join(target.to)
    mail.set_content(message)
    try:
        # connected to the vetted address (no second lookup); TLS verifies the host name
        with open_smtp(target.host, target.port, addresses, target.security) as smtp:
            if target.username:
                smtp.login(target.username, password or "")
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError:
        raise PermanentError(f"SMTP server {target.host} refused the login") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentError(f"SMTP server refused recipients {sorted(exc.recipients)}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise RetryableHTTPError(f"SMTP server {target.host}: {type(exc).__name__}") from None


@action("notify", pipeline_types=("output",))
def notify(params: NotifyParams, ctx: ActionContext) -> dict[str, Any]:
    """Send a notification through a Prefect notification block, a plain webhook or e-mail."""
    if params.email is not None:
        _send_email(params.email, params.title, params.message, ctx)
        return {"sent": True, "via": "email", "recipients": len(params.email.to)}
    if params.block:
        from prefect.blocks.core import Block

        block_type, _, name = params.block.partition("/")
        if not block_type or not name:
            raise PermanentError(f"block {params.block!r}: expected 'type-slug/name'")
        scoped = f"{block_type}/{ctx.block_name(name)}"
        block: Any = Block.load(scoped)
        if not callable(getattr(block, "notify", None)):
            raise PermanentError(f"block {scoped!r} is not a notification block")
        block.notify(params.message, params.title)
        return {"sent": True, "via": "block"}
    url = params.webhook or ctx.secret(params.webhook_secret or "")
    payload = {
        "title": params.title,
        "message": params.message,
        "pipeline": ctx.pipeline,
        "project": ctx.project,
        "run_id": ctx.run_id,
    }
    try:
        with (
            guarded_client(runtime_settings().http_allowed_hosts, timeout=30) as client,
            client.stream("POST", url, json=payload) as response,
        ):
            size = 0
            for chunk in response.iter_bytes():  # read (and drop) at most the cap
                size += len(chunk)
                if size > NOTIFY_MAX_RESPONSE_BYTES:
                    break
    except httpx.TransportError as exc:
        raise RetryableHTTPError(f"webhook unreachable: {type(exc).__name__}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableHTTPError(f"webhook answered {response.status_code}")
    if response.status_code >= 400:
        raise PermanentError(f"webhook answered {response.status_code}")
    return {"sent": True, "via": "webhook", "status": response.status_code}
