"""The `mimir` CLI: tokens, operations by name, and exit codes on bad input."""

from __future__ import annotations

import json
import subprocess

from tests.utils.servers import VENV_BIN


def mimir(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "mimir"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_token_create_list_revoke(mimir_env: dict[str, str]) -> None:
    created = mimir(mimir_env, "token", "create", "ci-bot", "--scope", "read,write")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("mimir_") and len(secret) > 40
    listed = mimir(mimir_env, "token", "list")
    assert "ci-bot" in listed.stdout and "read,write" in listed.stdout and "active" in listed.stdout
    assert secret not in listed.stdout
    duplicate = mimir(mimir_env, "token", "create", "ci-bot")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    assert mimir(mimir_env, "token", "revoke", "ci-bot").returncode == 0
    assert "revoked" in mimir(mimir_env, "token", "list").stdout
    assert mimir(mimir_env, "token", "revoke", "nobody").returncode == 1


def test_token_scope_is_validated(mimir_env: dict[str, str]) -> None:
    result = mimir(mimir_env, "token", "create", "x", "--scope", "read,superuser")
    assert result.returncode == 2
    assert "unknown scope 'superuser'" in result.stderr


def test_call_runs_operations_by_their_shared_name(mimir_env: dict[str, str]) -> None:
    created = mimir(mimir_env, "call", "create_project", '{"name": "from-cli"}')
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["name"] == "from-cli"
    listed = json.loads(mimir(mimir_env, "call", "list_projects").stdout)
    assert [p["name"] for p in listed["items"]] == ["from-cli"]
    bad = mimir(mimir_env, "call", "create_project", '{"name": "from-cli"}')
    assert bad.returncode == 1
    said, problem = bad.stderr.split("\n", 1)
    assert said.startswith(f"mimir: home {mimir_env['MIMIR_HOME']} (from MIMIR_HOME)")
    assert json.loads(problem)["status"] == 409
    assert mimir(mimir_env, "call", "no_such_operation").returncode == 2
    assert mimir(mimir_env, "call", "list_projects", "[1]").returncode == 2


def test_operations_lists_the_registry(mimir_env: dict[str, str]) -> None:
    result = mimir(mimir_env, "operations")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert any(line.startswith("create_project") and "/api/v1/projects" in line for line in lines)
