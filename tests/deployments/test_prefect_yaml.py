"""prefect.yaml: one file deploys Mimir's flows to the local process pool or to `mimir-k8s`,
chosen by MIMIR_WORK_POOL, with the real `prefect deploy --all` against a running server."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.utilities.importtools import import_object

from flows.deploy import DEPLOYMENT_NAME, MIMIR_FLOWS

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFECT_YAML = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())
TEMPLATE_PATH = REPO_ROOT / "deployments" / "work-pool" / "mimir-k8s.json"
DEPLOYMENTS = PREFECT_YAML["deployments"]


def run_cli(args: list[str], env: dict[str, str], cwd: Path = REPO_ROOT) -> str:
    result = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_every_deployment_takes_its_pool_from_mimir_work_pool() -> None:
    assert DEPLOYMENTS
    for deployment in DEPLOYMENTS:
        assert deployment["work_pool"]["name"] == "{{ $MIMIR_WORK_POOL }}", deployment["name"]


def test_flow_code_comes_from_the_installed_package() -> None:
    # No pull steps, module-path entrypoints: the same deployment runs in a local virtualenv
    # and in the Mimir image, where `mimir-aip` is installed.
    assert PREFECT_YAML["pull"] == []
    for deployment in DEPLOYMENTS:
        assert "pull" not in deployment
        entrypoint = deployment["entrypoint"]
        assert ":" not in entrypoint and not entrypoint.endswith(".py"), entrypoint


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["flow_name"])
def test_entrypoint_is_the_named_flow(deployment: dict[str, Any]) -> None:
    flow = import_object(deployment["entrypoint"])
    assert isinstance(flow, Flow)
    assert flow.name == deployment["flow_name"]
    # The API triggers `<flow name>/mimir` (flows/deploy.py).
    assert deployment["name"] == DEPLOYMENT_NAME
    kind = deployment["work_pool"].get("job_variables", {}).get("mimir_kind")
    assert kind, "set mimir_kind (the pod label mimir.kind on Kubernetes)"


def test_every_mimir_flow_is_deployed() -> None:
    """prefect.yaml deploys the same flows that `mimir up` registers locally."""
    assert {d["flow_name"] for d in DEPLOYMENTS} == {f.flow.name for f in MIMIR_FLOWS}


@pytest.mark.parametrize(
    ("pool", "pool_type"), [("mimir-local", "process"), ("mimir-k8s", "kubernetes")]
)
def test_prefect_deploy_all_targets_the_pool_from_the_environment(
    prefect_server: Any,
    prefect_env: Callable[..., dict[str, str]],
    pool: str,
    pool_type: str,
    tmp_path: Path,
) -> None:
    env = prefect_env()
    create = [
        "prefect",
        "--no-prompt",
        "work-pool",
        "create",
        pool,
        "--type",
        pool_type,
        "--overwrite",
    ]
    if pool_type == "kubernetes":
        create += ["--base-job-template", str(TEMPLATE_PATH)]
    run_cli(create, env)
    if pool_type == "process":  # from the repository, as on a laptop
        run_cli(["prefect", "--no-prompt", "deploy", "--all"], prefect_env(MIMIR_WORK_POOL=pool))
    else:  # from anywhere with --prefect-file, as inside the Mimir image (/app/prefect.yaml)
        run_cli(
            [
                "prefect",
                "--no-prompt",
                "deploy",
                "--all",
                "--prefect-file",
                str(REPO_ROOT / "prefect.yaml"),
            ],
            prefect_env(MIMIR_WORK_POOL=pool),
            cwd=tmp_path,
        )

    with (
        temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}),
        get_client(sync_client=True) as client,
    ):
        for expected in DEPLOYMENTS:
            deployment = client.read_deployment_by_name(
                f"{expected['flow_name']}/{expected['name']}"
            )
            assert deployment.work_pool_name == pool
            assert deployment.entrypoint == expected["entrypoint"]
            assert not deployment.pull_steps
            assert deployment.parameters == expected.get("parameters", {})
            assert deployment.job_variables == expected["work_pool"].get("job_variables", {})
