"""The supervisor starts a dead child again with a growing pause and leaves the others alone."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from mimir_api.core.config import Settings
from mimir_api.supervisor import ChildSpec, Supervisor


def sleeper(name: str) -> ChildSpec:
    return ChildSpec(
        name, [sys.executable, "-c", "import time; time.sleep(120)"], lambda: dict(os.environ)
    )


def watch_until(supervisor: Supervisor, done: object, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        supervisor.watch_children()
        if callable(done) and done():
            return
        time.sleep(0.1)
    raise AssertionError("the supervisor did not get there")


def test_a_crashed_child_is_started_again_and_the_others_stay_up(tmp_path: Path) -> None:
    said: list[str] = []
    supervisor = Supervisor(Settings(home=tmp_path / "home"), echo=said.append)
    try:
        steady = supervisor.spawn(sleeper("steady"))
        flaky = supervisor.spawn(sleeper("flaky"))
        for expected_pause in ("1s", "2s"):
            before = supervisor.children[1].process.pid
            os.kill(before, signal.SIGKILL)
            watch_until(supervisor, lambda: supervisor.children[1].process.pid != before)  # noqa: B023
            assert (
                f"flaky exited with code -9 (see {tmp_path / 'home' / 'logs' / 'flaky'}.log); "
                f"starting it again in {expected_pause}" in "\n".join(said)
            )
            assert supervisor.children[1].process.poll() is None
        assert supervisor.children[0] is steady and steady.process.poll() is None
        assert flaky.process.poll() == -9
        assert [c.name for c in supervisor.children] == ["steady", "flaky"]
    finally:
        for child in supervisor.children:
            child.stop(grace=5)
