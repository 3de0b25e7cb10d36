"""TEST INFRASTRUCTURE: small process and polling helpers shared by the deployment tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    interval: float = 0.5,
    details: Callable[[], str] | None = None,
) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds.

    Deadlines are generous on purpose: they catch hangs, they do not measure speed.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except pytest.fail.Exception:
            raise
        except Exception as exc:  # polled again until the deadline
            last_error = exc
        time.sleep(interval)
    message = f"timed out after {timeout:.0f}s waiting for {what}"
    if last_error is not None:
        message += f" (last error: {last_error!r})"
    if details is not None:
        message += "\n" + details()
    pytest.fail(message)


def tail(path: Path, lines: int = 60) -> str:
    """The end of a log file, for failure messages."""
    if not path.exists():
        return f"<{path} does not exist>"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_process(process: subprocess.Popen[Any], *, signals: int = 1, grace: float = 20) -> None:
    """SIGTERM the process group `signals` times (an idle Prefect worker ignores the first
    one), then SIGKILL what is left after `grace` seconds."""
    if process.poll() is not None:
        return
    for attempt in range(signals):
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace if attempt == signals - 1 else 3)
            return
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait(timeout=10)
