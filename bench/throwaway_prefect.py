"""A throw-away Prefect server for the benchmarks that need one (SQLite, a free port)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """PREFECT_API_URL when set; otherwise a server of our own until the block ends."""
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    with tempfile.TemporaryDirectory() as home, socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        env = dict(
            os.environ,
            PREFECT_HOME=home,
            DO_NOT_TRACK="1",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/api"
        try:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                time.sleep(0.2)
            os.environ["PREFECT_API_URL"] = url
            yield url
        finally:
            from prefect.logging.handlers import APILogWorker  # only once Prefect is in use

            APILogWorker.drain_all(timeout=10)
            server.terminate()
            server.wait(timeout=30)
