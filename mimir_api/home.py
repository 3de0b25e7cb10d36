"""Which Mimir home (and which running platform) a command means.

A command started in another folder must not quietly create and use an empty `./.mimir`
(a token created there goes to the wrong database), and `mimir call` / `mimir mcp` must use
the running platform's Prefect API, not start a throw-away server. The order:

1. `MIMIR_HOME`, when set;
2. the platform `mimir up` is running now: it records itself in a per-user pointer file
   (`$XDG_STATE_HOME/mimir/current.json`, default `~/.local/state/mimir/current.json`) and in
   `<home>/platform.json`, and removes both when it stops;
3. `./.mimir`, only if it already exists.

Nothing here creates a home; `mimir up` (and `mimir token create`, which must write
somewhere) decide that themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RECORD_FILE = "platform.json"
LOCAL_HOME = ".mimir"


@dataclass(frozen=True)
class PlatformRecord:
    """What a running `mimir up` tells other commands about itself."""

    home: str
    pid: int
    api_url: str
    prefect_api_url: str


@dataclass(frozen=True)
class HomeChoice:
    """The home a command uses, why, and the platform running on it (if any)."""

    path: Path | None
    source: str
    running: PlatformRecord | None


def state_dir() -> Path:
    """Per-user state folder for the pointer file (XDG base directory spec)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "mimir"


def pointer_file() -> Path:
    """Where `mimir up` says which home it serves."""
    return state_dir() / "current.json"


def _alive(pid: int) -> bool:
    """True when `pid` is a live process that looks like a `mimir up` (pids are reused).

    An empty command line (a process in the middle of exec, or a zombie) cannot be judged
    by its name, so liveness alone decides there.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return not cmdline or b"mimir" in cmdline


def _read(path: Path) -> PlatformRecord | None:
    try:
        raw = json.loads(path.read_text())
        record = PlatformRecord(
            home=str(raw["home"]),
            pid=int(raw["pid"]),
            api_url=str(raw["api_url"]),
            prefect_api_url=str(raw["prefect_api_url"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if _alive(record.pid) else None


def running_platform(home: Path) -> PlatformRecord | None:
    """The `mimir up` serving `home` right now, if one is."""
    record = _read(home / RECORD_FILE)
    if record is None or Path(record.home).resolve() != home.resolve():
        return None
    return record


def _write(path: Path, record: PlatformRecord) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(record), indent=2))
    temporary.replace(path)


def record_platform(record: PlatformRecord) -> None:
    """Called by `mimir up` once it is up: let other commands find it."""
    _write(Path(record.home) / RECORD_FILE, record)
    with contextlib.suppress(OSError):  # an unwritable state folder must not stop the platform
        _write(pointer_file(), record)


def forget_platform(record: PlatformRecord) -> None:
    """Called by `mimir up` when it stops: remove its records (only if they are still its)."""
    for path in (Path(record.home) / RECORD_FILE, pointer_file()):
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text()).get("pid") == record.pid:
                path.unlink()


def find_home(cwd: Path | None = None) -> HomeChoice:
    """The home a command should use (see the module docstring); `path` None: none found."""
    configured = os.environ.get("MIMIR_HOME")
    if configured:
        home = Path(configured).expanduser().resolve()
        return HomeChoice(home, "MIMIR_HOME", running_platform(home))
    current = _read(pointer_file())
    if current is not None:
        home = Path(current.home)
        return HomeChoice(home, f"the running `mimir up` (pid {current.pid})", current)
    local = (cwd or Path.cwd()) / LOCAL_HOME
    if local.is_dir():
        home = local.resolve()
        return HomeChoice(home, "./.mimir", running_platform(home))
    return HomeChoice(None, "none", None)
