"""Outbound HTTP guard: pipelines may not reach private, loopback or link-local addresses
(the cloud metadata endpoint, the Prefect API, databases) unless the operator allows them."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flows.actions.base import PermanentError


class AddressRefused(PermanentError):
    """The URL resolves to an address pipelines may not reach."""


def _allowed(
    host: str, addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address], allow: str
) -> bool:
    for entry in filter(None, (item.strip() for item in allow.split(","))):
        if entry.lower() == host.lower():
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if addresses and all(address in network for address in addresses):
            return True
    return False


def check_url(url: str, allow: str) -> None:
    """Raise AddressRefused unless every address `url`'s host resolves to is public or allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise AddressRefused(f"only http and https URLs are allowed, not {parts.scheme!r}")
    host = parts.hostname
    if not host:
        raise AddressRefused(f"URL {url!r} has no host")
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise AddressRefused(f"cannot resolve {host!r}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if _allowed(host, addresses, allow):
        return
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise AddressRefused(
                f"{host} resolves to {address}, a private/internal address; pipelines may reach "
                "it only if the operator lists it in MIMIR_HTTP_ALLOWED_HOSTS"
            )
