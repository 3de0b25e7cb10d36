"""A small real HTTP server for pipeline tests: paginated orders, flaky and slow endpoints,
and a webhook receiver that records what it got."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ORDERS = [{"id": i, "total": round(10.5 * i, 2), "customer": f"c{i % 3}"} for i in range(1, 8)]
PAGE_SIZE = 3


@dataclass
class HTTPFixture:
    """Handle on the running server."""

    url: str
    calls: Counter[str] = field(default_factory=Counter)
    received: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def http_test_server() -> Iterator[HTTPFixture]:
    """Serve on 127.0.0.1:<free port> in a thread until the block ends."""
    state = HTTPFixture(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            return

        def _json(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            state.calls[parts.path] += 1
            if parts.path == "/orders":
                page = int(query.get("page", 1))
                items = ORDERS[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
                more = page * PAGE_SIZE < len(ORDERS)
                nxt = f"{state.url}/orders?page={page + 1}" if more else None
                self._json(200, {"items": items, "next": nxt, "page": page})
            elif parts.path.startswith("/flaky/"):
                key = parts.path
                failures = int(query.get("fail", 2))
                if state.calls[key] <= failures:
                    self._json(503, {"error": "try again"})
                else:
                    self._json(200, {"ok": True, "attempt": state.calls[key]})
            elif parts.path == "/slow":
                time.sleep(float(query.get("seconds", 5)))
                self._json(200, {"slept": True})
            elif parts.path == "/big":
                self._json(200, {"blob": "x" * int(query.get("bytes", 1000))})
            elif parts.path == "/readings.csv":  # a sensor export, `rows` lines long
                lines = ["reading_id,sensor,value"]
                lines += [f"r{i},s{i % 7},{i * 0.5}" for i in range(int(query.get("rows", 10)))]
                body = ("\n".join(lines) + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif parts.path == "/missing":
                self._json(404, {"error": "nope"})
            elif parts.path == "/events":
                after = int(query.get("after", 0))
                self._json(200, {"events": [o for o in ORDERS if o["id"] > after][:4]})
            else:
                self._json(404, {"error": "unknown path"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            state.calls[self.path] += 1
            state.received.append({"path": self.path, "body": json.loads(body or b"null")})
            self._json(200, {"received": True})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
