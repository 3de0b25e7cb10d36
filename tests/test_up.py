"""`mimir up` on embedded defaults: its own Prefect server on SQLite, a worker, the API;
clean shutdown on Ctrl-C, data that survives a restart, a worker killed mid-run that is
started again while everything else stays up, a token created mid-session that does not cut
the worker off, CLI commands run from another folder, and 20 concurrent run starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import Platform
from tests.test_ontology_platform import ingest_yaml, write_step
from tests.test_pipelines_platform import run_until_final, save, wait_for
from tests.utils.http_server import http_test_server
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
    home: Path, port: int, prefect_port: int, **extra: str
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        MIMIR_HOME=str(home),
        MIMIR_PORT=str(port),
        MIMIR_PREFECT_PORT=str(prefect_port),
        DO_NOT_TRACK="1",
        **extra,
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


def flow_process(flow_run_id: str) -> int | None:
    """The process executing `flow_run_id` (the worker passes PREFECT__FLOW_RUN_ID)."""
    marker = f"PREFECT__FLOW_RUN_ID={flow_run_id}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    return int(entry.name)
            except OSError:
                continue
    return None


def child_running(parent: int, words: str) -> int | None:
    for pid in children_of(parent):
        try:
            if words.encode() in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" "):
                return pid
        except OSError:
            continue
    return None


def cli_elsewhere(folder: Path, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`mimir …` run from an unrelated folder, with no MIMIR_HOME or Prefect settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MIMIR_"))}
    env.update(XDG_STATE_HOME=str(state), DO_NOT_TRACK="1")
    return subprocess.run(
        [str(VENV_BIN / "mimir"), *args],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.timeout(900)  # one `mimir up` for five scenarios; minutes on a loaded machine
def test_up_survives_its_worker_a_mid_session_token_and_concurrent_starts(
    tmp_path: Path,
) -> None:
    home, port, prefect_port = tmp_path / "mimir", free_port(), free_port()
    state, elsewhere = tmp_path / "state", tmp_path / "elsewhere"
    elsewhere.mkdir()
    base = f"http://127.0.0.1:{port}"
    prefect = f"http://127.0.0.1:{prefect_port}/api"
    with http_test_server() as web:
        process, env = start_up(
            home,
            port,
            prefect_port,
            XDG_STATE_HOME=str(state),
            MIMIR_HTTP_ALLOWED_HOSTS="127.0.0.1",
        )
        try:
            wait_http(f"{base}/api/v1/ready", timeout=420, process=process)  # type: ignore[arg-type]
            assert httpx.post(f"{base}/api/v1/projects", json={"name": "tour"}).status_code == 201

            # a token created mid-session, from another folder, lands in this platform's DB
            created = cli_elsewhere(
                elsewhere, state, "token", "create", "admin", "--scope", "admin"
            )
            assert created.returncode == 0, created.stderr
            assert f"home {home}" in created.stderr
            assert not (elsewhere / ".mimir").exists(), "a home was created implicitly"
            token = created.stdout.strip()
            platform = Platform(base, token, token, home, env)
            assert httpx.get(f"{base}/api/v1/projects").status_code == 401, "auth is on now"

            # ... and the worker still hands the extracted ontology to the API
            raw = ingest_yaml("load-raw", write_step("people", "source: people", [{"id": 1}]))
            assert save(platform, "tour", "load-raw", raw).status_code == 200
            started = httpx.post(
                f"{platform.api}/projects/tour/pipelines/load-raw/runs",
                json={},
                headers=platform.headers(),
            )
            assert started.status_code == 201, started.text
            done = run_until_final(platform, "tour", "load-raw", started.json()["flow_run_id"])
            assert done["state"] == "COMPLETED", done
            ontology = wait_for(
                lambda: (
                    (
                        r := httpx.get(
                            f"{platform.api}/projects/tour/ontologies/main",
                            headers=platform.headers(),
                        )
                    ).status_code
                    == 200
                    and r.json()
                ),
                timeout=240,
            )
            assert ontology["version"] == 1

            # the CLI from elsewhere finds the running Prefect server (no throw-away one)
            check = cli_elsewhere(elsewhere, state, "call", "run_selfcheck", '{"timeout_s": 180}')
            assert check.returncode == 0, check.stderr
            assert f"Prefect API {prefect} (the running platform)" in check.stderr
            assert json.loads(check.stdout)["state"] == "COMPLETED"

            # kill -9 the worker mid-run: the API stays up, the worker comes back, the orphaned
            # flow process is stopped, the run is CRASHED and crash_retries starts it again
            slow = (
                "name: slow\ntype: processing\ncrash_retries: 1\nsteps:\n"
                f"  - name: wait\n    action: http.request\n"
                f"    with: {{url: '{web.url}/slow?seconds=20', timeout: 120}}\n"
            )
            assert save(platform, "tour", "slow", slow).status_code == 200
            run = httpx.post(
                f"{platform.api}/projects/tour/pipelines/slow/runs",
                json={},
                headers=platform.headers(),
            ).json()["flow_run_id"]
            orphan = wait_for(lambda: web.calls["/slow"] >= 1 and flow_process(run), timeout=180)
            worker = child_running(process.pid, "worker start")
            assert worker is not None
            os.kill(worker, signal.SIGKILL)
            assert httpx.get(f"{base}/api/v1/health").status_code == 200
            wait_for(lambda: not alive(orphan), timeout=60)
            wait_for(
                lambda: (w := child_running(process.pid, "worker start")) and w != worker,
                timeout=60,
            )
            assert httpx.get(f"{base}/api/v1/health").status_code == 200
            final = run_until_final(platform, "tour", "slow", run)
            assert final["state"] == "COMPLETED", final
            states = httpx.get(f"{prefect}/flow_run_states/", params={"flow_run_id": run}).json()
            assert "CRASHED" in [s["type"] for s in states]
            assert web.calls["/slow"] == 2, "started again once (crash_retries: 1)"

            # twenty concurrent starts all create their run
            quick = (
                "name: quick\ntype: processing\nsteps:\n  - name: get\n"
                f"    action: http.request\n    with: {{url: '{web.url}/orders'}}\n"
            )
            assert save(platform, "tour", "quick", quick).status_code == 200

            def start(_: int) -> httpx.Response:
                return httpx.post(
                    f"{platform.api}/projects/tour/pipelines/quick/runs",
                    json={},
                    headers=platform.headers(),
                    timeout=180,  # a bound, not a measurement: this machine may be loaded
                )

            with ThreadPoolExecutor(20) as pool:
                answers = list(pool.map(start, range(20)))
            assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers]
            ids = {a.json()["flow_run_id"] for a in answers}
            listed = httpx.get(
                f"{platform.api}/projects/tour/pipelines/quick/runs",
                params={"limit": 50, "include_upcoming": True},
                headers=platform.headers(),
            ).json()
            assert ids <= {item["id"] for item in listed["items"]}

            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=120)
            assert process.returncode == 0, output
            assert "worker exited with code -9" in output
            assert not (state / "mimir" / "current.json").exists()
            assert not (home / "platform.json").exists()
        finally:
            stop_process(process, signals=1)  # type: ignore[arg-type]
