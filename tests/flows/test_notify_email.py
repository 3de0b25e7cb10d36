"""`notify` with `email:` sends through a real SMTP server (aiosmtpd), after the same outbound
address check webhooks pass; one target only."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from flows.actions.base import ActionContext
from flows.actions.builtin.net_guard import AddressRefused
from flows.actions.builtin.output import NotifyParams, notify
from flows.actions.builtin.smtp_pinned import open_smtp
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


def test_the_connection_goes_to_the_vetted_address_not_a_fresh_lookup(
    smtp: tuple[Inbox, int],
) -> None:
    """The name is never resolved again: `mail.invalid` has no DNS answer at all, yet the
    message arrives, because the session connects to the address the outbound check vetted."""
    inbox, port = smtp
    with open_smtp("mail.invalid", port, ["127.0.0.1"], "none") as session:
        session.sendmail("mimir@example.org", ["ops@example.org"], b"Subject: pinned\r\n\r\nhi")
    (raw,) = inbox.messages
    assert message_from_bytes(raw)["Subject"] == "pinned"


@pytest.fixture
def starttls_smtp(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    """An SMTP server offering STARTTLS with a self-signed certificate for `localhost`."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context)
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


def test_starttls_checks_the_certificate(starttls_smtp: tuple[Inbox, int, Path]) -> None:
    """smtplib's own STARTTLS accepts any certificate; Mimir's verifies it, so a server
    with a certificate nobody signed is refused before anything is sent."""
    inbox, port, _ = starttls_smtp
    with pytest.raises(ssl.SSLCertVerificationError):
        open_smtp("localhost", port, ["127.0.0.1"], "starttls")
    assert inbox.messages == []


def test_starttls_checks_the_name_over_the_pinned_address(
    starttls_smtp: tuple[Inbox, int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the certificate trusted, the session over 127.0.0.1 succeeds for the name the
    certificate carries and fails for any other: TLS judges the name, not the address."""
    inbox, port, cert = starttls_smtp
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # OpenSSL's default trust store, this test only
    with open_smtp("localhost", port, ["127.0.0.1"], "starttls") as session:
        session.sendmail("mimir@example.org", ["ops@example.org"], b"Subject: tls\r\n\r\nhi")
    assert len(inbox.messages) == 1
    with pytest.raises(ssl.SSLCertVerificationError, match=r"mismatch|not valid"):
        open_smtp("mail.example.org", port, ["127.0.0.1"], "starttls")
    assert len(inbox.messages) == 1
