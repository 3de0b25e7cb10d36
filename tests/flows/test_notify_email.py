"""`notify` with `email:` sends through a real SMTP server (aiosmtpd), after the same outbound
address check webhooks pass; one target only."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from flows.actions.base import ActionContext
from flows.actions.builtin.net_guard import AddressRefused
from flows.actions.builtin.output import NotifyParams, notify
from flows.settings import runtime_settings
from tests.utils.servers import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def context() -> ActionContext:
    return ActionContext(
        step="mail",
        pipeline="p",
        pipeline_type="output",
        project="acme",
        storage_url="",
        run_id="run-1",
        window=None,
        render=lambda value, _scope: value,
    )


def email_params(port: int) -> NotifyParams:
    return NotifyParams.model_validate(
        {
            "title": "Pump 7 runs hot",
            "message": "value 500 outside 19.5..21.1",
            "email": {
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "sender": "mimir@example.org",
                "to": ["ops@example.org", "oncall@example.org"],
            },
        }
    )


def test_email_is_delivered_when_the_operator_allows_the_host(
    smtp: tuple[Inbox, int], allow_local_http: None
) -> None:
    inbox, port = smtp
    assert notify.fn(email_params(port), context()) == {
        "sent": True,
        "via": "email",
        "recipients": 2,
    }
    (raw,) = inbox.messages
    mail = message_from_bytes(raw)
    assert mail["Subject"] == "Pump 7 runs hot"
    assert mail["To"] == "ops@example.org, oncall@example.org"
    assert "value 500 outside 19.5..21.1" in mail.get_payload()


def test_email_to_an_internal_host_is_refused_by_default(
    smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    monkeypatch.delenv("MIMIR_HTTP_ALLOWED_HOSTS", raising=False)
    runtime_settings.cache_clear()
    try:
        with pytest.raises(AddressRefused, match="MIMIR_HTTP_ALLOWED_HOSTS"):
            notify.fn(email_params(port), context())
    finally:
        runtime_settings.cache_clear()
    assert inbox.messages == []


def test_one_target_only() -> None:
    with pytest.raises(ValueError, match="exactly one of 'webhook', 'webhook_secret', 'block'"):
        NotifyParams.model_validate(
            {
                "message": "m",
                "webhook": "https://example.org/hook",
                "email": {"host": "h", "sender": "a@b.c", "to": ["d@e.f"]},
            }
        )
