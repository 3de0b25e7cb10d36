"""`mimir up` on embedded defaults: its own Prefect server on SQLite, a worker, the API;
clean shutdown on Ctrl-C, and data that survives a restart."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.utils.servers import VENV_BIN, free_port, stop_process, wait_http


def children_of(pid: int) -> set[int]:
    """Direct children of `pid`, read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def start_up(
    home: Path, port: int, prefect_port: int
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        MIMIR_HOME=str(home),
        MIMIR_PORT=str(port),
        MIMIR_PREFECT_PORT=str(prefect_port),
        DO_NOT_TRACK="1",
    )
    process = subprocess.Popen(
        [str(VENV_BIN / "mimir"), "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, env


def test_up_on_embedded_defaults_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    home, port, prefect_port = tmp_path / "mimir", free_port(), free_port()
    base = f"http://127.0.0.1:{port}"

    process, _ = start_up(home, port, prefect_port)
    try:
        wait_http(f"{base}/api/v1/ready", timeout=240, process=process)  # type: ignore[arg-type]
        ready = httpx.get(f"{base}/api/v1/ready").json()
        assert ready["checks"]["prefect"]["ok"] and ready["checks"]["database"]["ok"]
        assert (home / "prefect").is_dir(), (
            "the Prefect server keeps its SQLite DB under MIMIR_HOME"
        )
        created = httpx.post(f"{base}/api/v1/projects", json={"name": "kept"})
        assert created.status_code == 201
        run = httpx.post(f"{base}/api/v1/system/selfcheck", json={"timeout_s": 120}, timeout=150)
        assert run.json()["state"] == "COMPLETED", run.text
        children = children_of(process.pid)
        assert len(children) == 3, "Prefect server, worker and API"

        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=90)
        assert process.returncode == 0, output
        assert "Mimir AIP is up." in output and f"{base}/mcp" in output
        assert f"http://127.0.0.1:{prefect_port}" in output
        assert "Stopped." in output
        assert not [pid for pid in children if alive(pid)], "a child outlived `mimir up`"
    finally:
        stop_process(process, signals=1)  # type: ignore[arg-type]

    process, _ = start_up(home, port, prefect_port)
    try:
        wait_http(f"{base}/api/v1/ready", timeout=240, process=process)  # type: ignore[arg-type]
        assert httpx.get(f"{base}/api/v1/projects/kept").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=90)
        assert process.returncode == 0


def test_up_refuses_a_public_address_without_tokens(tmp_path: Path) -> None:
    env = dict(os.environ, MIMIR_HOME=str(tmp_path / "m"))
    result = subprocess.run(
        [str(VENV_BIN / "mimir"), "up", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "without authentication" in result.stderr
    assert not (tmp_path / "m" / "logs").exists(), "nothing was started"


def test_up_reports_a_busy_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(MIMIR_HOME=str(tmp_path / "m"), MIMIR_PREFECT_PORT=str(port))
        result = subprocess.run(
            [str(VENV_BIN / "mimir"), "up", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in result.stdout
