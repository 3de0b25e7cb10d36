"""Which home a CLI command uses: MIMIR_HOME, else the running `mimir up` (its pointer file),
else an existing ./.mimir — and none is ever created implicitly. Each command says on stderr
which home and Prefect API it uses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mimir_api.home import PlatformRecord, find_home, forget_platform, record_platform
from tests.utils.servers import VENV_BIN


def run(cwd: Path, state: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MIMIR_"))}
    clean.update(XDG_STATE_HOME=str(state), DO_NOT_TRACK="1", **env)
    return subprocess.run(
        [str(VENV_BIN / "mimir"), *args],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def fake_up() -> Iterator[subprocess.Popen[bytes]]:
    """A live process whose command line names mimir, standing in for `mimir up`'s pid."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "mimir", "up"]
    )
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    while b"mimir" not in cmdline.read_bytes():  # Popen can return before exec has finished
        time.sleep(0.01)
    yield process
    process.kill()
    process.wait()


@pytest.mark.parametrize(
    "args",
    [("token", "list"), ("token", "create", "bot"), ("call", "list_projects"), ("db", "upgrade")],
)
def test_no_home_is_an_error_and_nothing_is_created(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run(tmp_path, tmp_path / "state", *args)
    assert result.returncode == 2
    assert "no Mimir home found" in result.stderr
    assert list(tmp_path.iterdir()) == [], "something was created"


def test_an_existing_local_home_is_used_and_named(tmp_path: Path) -> None:
    (tmp_path / ".mimir").mkdir()
    result = run(tmp_path, tmp_path / "state", "call", "list_projects")
    assert result.returncode == 0, result.stderr
    assert f"home {tmp_path / '.mimir'} (from ./.mimir)" in result.stderr
    assert "Prefect API http://127.0.0.1:4200/api (default; no `mimir up` is running" in (
        result.stderr
    )


def test_the_running_platform_is_found_from_any_folder(
    tmp_path: Path, fake_up: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, state, elsewhere = tmp_path / "home", tmp_path / "state", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (elsewhere / ".mimir").mkdir()  # a running platform wins over a stray local folder
    record = PlatformRecord(str(home), fake_up.pid, "http://127.0.0.1:1", "http://127.0.0.1:2/api")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.delenv("MIMIR_HOME", raising=False)
    record_platform(record)
    assert find_home(elsewhere).running == record
    created = run(elsewhere, state, "token", "create", "bot")
    assert created.returncode == 0, created.stderr
    assert f"home {home} (from the running `mimir up` (pid {fake_up.pid}))" in created.stderr
    listed = run(tmp_path, state, "token", "list", MIMIR_HOME=str(home))
    assert "bot" in listed.stdout
    assert not (elsewhere / ".mimir" / "mimir.db").exists()
    configured = run(elsewhere, state, "call", "list_projects", MIMIR_HOME=str(home))
    assert "Prefect API http://127.0.0.1:2/api (the running platform)" in configured.stderr

    forget_platform(record)
    assert find_home(tmp_path).path is None, "a stopped platform is forgotten"


def test_a_dead_platform_record_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, state = tmp_path / "home", tmp_path / "state"
    home.mkdir()
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = PlatformRecord(str(home), int(finished.stdout), "http://x", "http://y/api")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.delenv("MIMIR_HOME", raising=False)
    record_platform(dead)
    assert find_home(tmp_path).path is None
