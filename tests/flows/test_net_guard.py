"""The outbound guard connects to the address it checked, on every hop, ignoring proxies from
the environment; allow-list entries may carry a port; `notify` reads a bounded answer.

Every test talks to a real HTTP server on 127.0.0.1; host names are mapped by an injected
resolver, which is how a hostile DNS server is played.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from flows.actions.base import ActionContext
from flows.actions.builtin.net_guard import (
    AddressRefused,
    AllowEntry,
    InvalidAllowList,
    guarded_client,
    parse_allow_list,
)
from flows.actions.builtin.output import NOTIFY_MAX_RESPONSE_BYTES, NotifyParams, notify
from flows.settings import runtime_settings

PUBLIC = "93.184.216.34"  # a global address; nothing here can reach it


@dataclass
class Recorder:
    """A real local server that records every request it gets."""

    port: int = 0
    hosts: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    redirect_to: str | None = None
    body_bytes: int = 2
    sent_all: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def recorder(**options: Any) -> Iterator[Recorder]:
    state = Recorder(**options)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def _answer(self) -> None:
            state.hosts.append(self.headers.get("Host", ""))
            state.paths.append(self.path)
            if state.redirect_to:
                self.send_response(302)
                self.send_header("Location", state.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(state.body_bytes))
            self.end_headers()
            chunk = b"x" * 65536
            left = state.body_bytes
            try:
                while left > 0:
                    self.wfile.write(chunk[: min(left, len(chunk))])
                    left -= min(left, len(chunk))
                state.sent_all = True
            except OSError:
                return

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._answer()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class RebindingResolver:
    """Answers a public address first and 127.0.0.1 afterwards (DNS rebinding)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return [PUBLIC] if len(self.calls) == 1 else ["127.0.0.1"]


def mapping(table: dict[str, list[str]]) -> Any:
    def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


def test_a_rebinding_resolver_never_gets_the_loopback_server_reached() -> None:
    resolver = RebindingResolver()
    with recorder() as local:
        url = f"http://rebind.example:{local.port}/secret"
        with (
            guarded_client("", timeout=2, resolver=resolver) as client,
            pytest.raises(httpx.TransportError),
        ):
            client.get(url)
        assert local.paths == [], "the loopback server was reached"
    assert resolver.calls == ["rebind.example"], "the name was resolved once, and used"


def test_the_vetted_address_is_used_with_the_original_host_header() -> None:
    with recorder() as local:
        resolve = mapping({"service.example": ["127.0.0.1"]})
        allow = f"127.0.0.1:{local.port}"
        with guarded_client(allow, timeout=5, resolver=resolve) as client:
            answer = client.get(f"http://service.example:{local.port}/x")
        assert answer.status_code == 200
        assert local.hosts == [f"service.example:{local.port}"]


def test_an_allow_entry_with_a_port_allows_only_that_port() -> None:
    with recorder() as local:
        other = local.port + 1 if local.port < 65535 else local.port - 1
        with (
            guarded_client(f"127.0.0.1:{other}", timeout=5) as client,
            pytest.raises(AddressRefused, match="MIMIR_HTTP_ALLOWED_HOSTS"),
        ):
            client.get(f"{local.url}/")
        with guarded_client(f"127.0.0.1:{local.port}", timeout=5) as client:
            assert client.get(f"{local.url}/").status_code == 200
        assert len(local.paths) == 1


def test_a_mixed_answer_is_refused_as_a_whole() -> None:
    resolve = mapping({"mixed.example": [PUBLIC, "127.0.0.1"]})
    with recorder() as local:
        with (
            guarded_client("", timeout=2, resolver=resolve) as client,
            pytest.raises(AddressRefused, match=r"127\.0\.0\.1"),
        ):
            client.get(f"http://mixed.example:{local.port}/")
        assert local.paths == []


def test_every_redirect_hop_is_checked() -> None:
    with recorder() as target, recorder(redirect_to=f"{target.url}/inside") as first:
        allow = f"127.0.0.1:{first.port}"
        with (
            guarded_client(allow, timeout=5, follow_redirects=True) as client,
            pytest.raises(AddressRefused),
        ):
            client.get(f"{first.url}/start")
        assert first.paths == ["/start"]
        assert target.paths == [], "the redirect target was reached"


def test_proxies_from_the_environment_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    with recorder() as local, guarded_client("127.0.0.1", timeout=5) as client:
        assert client.get(f"{local.url}/direct").status_code == 200
        assert local.paths == ["/direct"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("api.internal", AllowEntry("api.internal", None, None)),
        ("API.Internal:8443", AllowEntry("api.internal", None, 8443)),
        ("127.0.0.2:18492", AllowEntry(None, parse_allow_list("127.0.0.2")[0].network, 18492)),
        ("[::1]:80", AllowEntry(None, parse_allow_list("::1")[0].network, 80)),
        ("10.0.0.0/8", AllowEntry(None, parse_allow_list("10.0.0.0/8")[0].network, None)),
    ],
)
def test_allow_list_entries(raw: str, expected: AllowEntry) -> None:
    assert parse_allow_list(raw) == [expected]


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ("127.0.0.2:http", "'127.0.0.2:http': the port must be a number"),
        ("host:0", "'host:0': the port must be"),
        ("[::1", "'[::1': expected '[IPv6]'"),
        (":80", "no host before the port"),
        ("not a host", "'not a host': expected a host name"),
        ("10.0.0.0/33", "'10.0.0.0/33': expected"),
    ],
)
def test_bad_allow_list_entries_are_named(raw: str, complaint: str) -> None:
    with pytest.raises(InvalidAllowList) as caught:
        parse_allow_list(f"ok.example, {raw}")
    assert complaint in str(caught.value)


def _context(project: str = "acme") -> ActionContext:
    return ActionContext(
        step="tell",
        pipeline="report",
        pipeline_type="output",
        project=project,
        storage_url="",
        run_id="run-1",
        window=None,
        render=lambda value, _scope: value,
    )


@pytest.fixture
def allow(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def set_allow(value: str) -> None:
        monkeypatch.setenv("MIMIR_HTTP_ALLOWED_HOSTS", value)
        runtime_settings.cache_clear()

    yield set_allow
    runtime_settings.cache_clear()


def test_notify_reads_a_bounded_answer(allow: Any) -> None:
    huge = 1024 * NOTIFY_MAX_RESPONSE_BYTES  # far beyond any socket buffer
    with recorder(body_bytes=huge) as hook:
        allow(f"127.0.0.1:{hook.port}")
        result = notify.fn(NotifyParams(webhook=f"{hook.url}/hook", message="hi"), _context())
        assert result == {"sent": True, "via": "webhook", "status": 200}
        assert hook.paths == ["/hook"]
    assert not hook.sent_all, "notify read the whole answer"


def test_notify_is_guarded(allow: Any) -> None:
    with recorder() as hook:
        allow("")
        with pytest.raises(AddressRefused):
            notify.fn(NotifyParams(webhook=f"{hook.url}/hook", message="hi"), _context())
        assert hook.paths == []
