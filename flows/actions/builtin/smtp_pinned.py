"""SMTP connections to an address vetted beforehand, with certificates checked by name.

Why not plain `smtplib.SMTP(host)`: it resolves the name again when it connects, so a DNS
answer that changes between the outbound check (`net_guard.vet_addresses`) and the connection
could point the pipeline at an internal server (DNS rebinding). Here the TCP connection goes
to the vetted address while TLS — implicit or STARTTLS — still verifies the server's
certificate against the host *name* (smtplib's own default context verifies nothing).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from typing import Any, Literal

Security = Literal["starttls", "ssl", "none"]


def _connect(addresses: list[str], port: int, timeout: float,
             source: Any) -> socket.socket:
    """A TCP connection to the first vetted address that answers."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout, source)
        except OSError as exc:
            error = exc
    raise error or OSError("no address to connect to")


class PinnedSMTP(smtplib.SMTP):
    """`smtplib.SMTP` whose socket goes to one of `addresses`, never to a fresh lookup."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        self._addresses = addresses  # before super(): its __init__ connects
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return _connect(self._addresses, port, timeout, self.source_address)


class PinnedSMTPSSL(smtplib.SMTP_SSL):
    """`smtplib.SMTP_SSL` over a pinned address; the certificate is checked for `host`."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        self._addresses = addresses
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        plain = _connect(self._addresses, port, timeout, self.source_address)
        return self.context.wrap_socket(plain, server_hostname=host)  # the name, not the IP


def open_smtp(host: str, port: int, addresses: list[str], security: Security,
              timeout: float = 30) -> smtplib.SMTP:
    """An SMTP session with `host` over one of its vetted `addresses`, TLS as asked."""
    if security == "ssl":
        return PinnedSMTPSSL(host, port, addresses, timeout)
    smtp = PinnedSMTP(host, port, addresses, timeout)
    if security == "starttls":
        try:
            smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
    return smtp
