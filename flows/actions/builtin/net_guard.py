"""Outbound HTTP guard: pipelines may not reach private, loopback or link-local addresses
(the cloud metadata endpoint, the Prefect API, databases) unless the operator allows them.

Checking a name and then letting the HTTP library resolve it again to connect is a race a
hostile DNS server wins (public answer for the check, 127.0.0.1 for the connection). So the
check happens where the socket is opened: `guarded_client()` gives httpx a network backend
whose `connect_tcp` resolves the host once, vets every address, and connects to a vetted
address. The request keeps its URL, so the Host header, TLS server name and certificate check
stay those of the host name. Every connection goes through it, so every redirect hop is
checked the same way.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from httpcore._backends.sync import SyncBackend

from flows.actions.base import PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
"""(host, port) → IP address strings, in the order to try them."""


class AddressRefused(PermanentError):
    """The URL resolves to an address pipelines may not reach."""


class InvalidAllowList(ValueError):
    """An entry of MIMIR_HTTP_ALLOWED_HOSTS cannot be understood."""


@dataclass(frozen=True)
class AllowEntry:
    """One allow-list entry: a host name or an IP/CIDR, optionally limited to one port."""

    host: str | None
    network: IPNetwork | None
    port: int | None

    def matches(self, host: str, addresses: list[IPAddress], port: int) -> bool:
        """True when this entry allows connecting to `host` (resolved to `addresses`):`port`."""
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return self.host == host.lower().rstrip(".")
        network = self.network
        return (
            network is not None
            and bool(addresses)
            and all(address in network for address in addresses)
        )


def _split_port(entry: str) -> tuple[str, int | None]:
    """'h:80' → ('h', 80); '[::1]:80' → ('::1', 80); '::1' and '10.0.0.0/8' have no port."""
    if entry.startswith("["):
        inner, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise InvalidAllowList(f"{entry!r}: expected '[IPv6]' or '[IPv6]:port'")
        return inner, _port(entry, rest[1:]) if rest else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, _port(entry, port)
    return entry, None


def _port(entry: str, raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise InvalidAllowList(f"{entry!r}: the port must be a number from 1 to 65535")
    return int(raw)


def parse_allow_list(raw: str) -> list[AllowEntry]:
    """Parse MIMIR_HTTP_ALLOWED_HOSTS ('api.internal, 10.0.0.0/8, 127.0.0.2:18492, [::1]:80').

    Raises InvalidAllowList naming the entry, so a typo stops the start instead of being
    silently ignored.
    """
    entries = []
    for entry in filter(None, (item.strip() for item in raw.split(","))):
        host, port = _split_port(entry)
        if not host:
            raise InvalidAllowList(f"{entry!r}: no host before the port")
        try:
            network: IPNetwork | None = ipaddress.ip_network(host, strict=False)
        except ValueError:
            network = None
        if network is None and ("/" in host or not _is_host_name(host)):
            raise InvalidAllowList(
                f"{entry!r}: expected a host name, an IP address or a CIDR, each with an "
                "optional ':port'"
            )
        name = None if network is not None else host.lower().rstrip(".")
        entries.append(AllowEntry(host=name, network=network, port=port))
    return entries


def _is_host_name(host: str) -> bool:
    labels = host.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum()
        for label in labels
    )


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer for `host` (IPv6 scope ids dropped)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def vet_addresses(
    host: str, port: int, allow: Iterable[AllowEntry], resolver: Resolver = system_resolver
) -> list[str]:
    """Resolve `host` once and return the addresses a pipeline may connect to, in order.

    Raises AddressRefused when any answer is private/internal and no allow-list entry covers
    the host (a mixed answer is refused as a whole: the next lookup could pick the bad one).
    """
    try:
        answers = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"cannot resolve {host!r}: {exc}") from None
    if not answers:
        raise AddressRefused(f"{host!r} resolves to no address")
    addresses = [ipaddress.ip_address(answer) for answer in answers]
    if any(entry.matches(host, addresses, port) for entry in allow):
        return [str(address) for address in addresses]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise AddressRefused(
                f"{host}:{port} resolves to {address}, a private/internal address; pipelines "
                "may reach it only if the operator lists it in MIMIR_HTTP_ALLOWED_HOSTS"
            )
    return [str(address) for address in addresses]


def check_scheme(url: str) -> None:
    """Only absolute http(s) URLs with a host may leave a pipeline."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise AddressRefused(f"only http and https URLs are allowed, not {parts.scheme!r}")
    if not parts.hostname:
        raise AddressRefused(f"URL {url!r} has no host")


class GuardedBackend(SyncBackend):
    """httpcore network backend that connects only to vetted addresses of the URL's host."""

    def __init__(self, allow: list[AllowEntry], resolver: Resolver) -> None:
        self.allow = allow
        self.resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Vet `host`, then connect to its first vetted address that answers."""
        last: Exception | None = None
        for address in vet_addresses(host, port, self.allow, self.resolver):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None  # vet_addresses never returns an empty list
        raise last


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose every connection goes through GuardedBackend.

    httpx has no option for a network backend, so the transport's connection pool is
    replaced by one built with it (same TLS context: certifi, server name = URL host).
    """

    def __init__(self, allow: list[AllowEntry], resolver: Resolver = system_resolver) -> None:
        super().__init__(trust_env=False)
        old = self._pool
        self._pool = httpcore.ConnectionPool(
            ssl_context=old._ssl_context,
            network_backend=GuardedBackend(allow, resolver),
        )
        old.close()


def guarded_client(
    allow: str,
    *,
    timeout: float,
    follow_redirects: bool = False,
    auth: httpx.Auth | None = None,
    resolver: Resolver = system_resolver,
) -> httpx.Client:
    """An httpx client for pipeline traffic: guarded connections, no proxies or netrc from
    the environment (`trust_env=False`), http(s) only on every hop."""
    try:
        entries = parse_allow_list(allow)
    except InvalidAllowList as exc:
        raise AddressRefused(f"MIMIR_HTTP_ALLOWED_HOSTS: {exc}") from None

    def scheme_hook(request: httpx.Request) -> None:
        check_scheme(str(request.url))

    return httpx.Client(
        transport=GuardedTransport(entries, resolver),
        timeout=timeout,
        follow_redirects=follow_redirects,
        auth=auth,
        trust_env=False,
        event_hooks={"request": [scheme_hook]},
    )


def check_url(url: str, allow: str, resolver: Resolver = system_resolver) -> None:
    """Raise AddressRefused unless `url` is http(s) and its host's addresses may be reached.

    A pre-flight check for callers that do not connect through `guarded_client`.
    """
    check_scheme(url)
    parts = urlsplit(url)
    try:
        entries = parse_allow_list(allow)
    except InvalidAllowList as exc:
        raise AddressRefused(f"MIMIR_HTTP_ALLOWED_HOSTS: {exc}") from None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    vet_addresses(parts.hostname or "", port, entries, resolver)
