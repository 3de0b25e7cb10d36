"""Register Mimir's own flows as Prefect deployments and trigger them.

`mimir up` calls `register_mimir_deployments` once the Prefect API is healthy; `prefect.yaml`
declares the same deployments for `prefect deploy --all` on a cluster. A deployment's source
is this source tree (`from_source` with a local path), so a process worker runs the installed
code and a Kubernetes pod runs the code baked into Mimir's image at the same path.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists

from flows.anomaly_flow import detect_anomalies
from flows.demo.flow import build_sample_project
from flows.ml_flow import infer, monitor_model, train_model
from flows.ontology_flow import extract_ontology
from flows.runs import MIMIR_DEPLOYMENT, run_summary, start_deployment
from flows.system import SELFCHECK_FLOW_NAME, selfcheck
from flows.table_flows import export_project_table, load_ontology_tables
from flows.twin_flow import sync_twin

SOURCE_ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT_NAME = MIMIR_DEPLOYMENT
PULL_STEPS: list[dict[str, Any]] = [
    {"prefect.deployments.steps.set_working_directory": {"directory": str(SOURCE_ROOT)}}
]
"""What a worker does before it loads a Mimir-made deployment's flow: run from Mimir's code."""


@dataclass(frozen=True)
class MimirFlow:
    """One of Mimir's own flows and where its code lives in the source tree."""

    flow: Flow[..., Any]
    entrypoint: str

    @property
    def deployment(self) -> str:
        """The `flow/deployment` name `run_deployment` takes."""
        return f"{self.flow.name}/{DEPLOYMENT_NAME}"


MIMIR_FLOWS: tuple[MimirFlow, ...] = (
    MimirFlow(flow=selfcheck, entrypoint="flows/system.py:selfcheck"),
    MimirFlow(flow=extract_ontology, entrypoint="flows/ontology_flow.py:extract_ontology"),
    MimirFlow(flow=load_ontology_tables, entrypoint="flows/table_flows.py:load_ontology_tables"),
    MimirFlow(flow=export_project_table, entrypoint="flows/table_flows.py:export_project_table"),
    MimirFlow(flow=train_model, entrypoint="flows/ml_flow.py:train_model"),
    MimirFlow(flow=infer, entrypoint="flows/ml_flow.py:infer"),
    MimirFlow(flow=monitor_model, entrypoint="flows/ml_flow.py:monitor_model"),
    MimirFlow(flow=sync_twin, entrypoint="flows/twin_flow.py:sync_twin"),
    MimirFlow(flow=detect_anomalies, entrypoint="flows/anomaly_flow.py:detect_anomalies"),
    MimirFlow(flow=build_sample_project, entrypoint="flows/demo/flow.py:build_sample_project"),
)


def ensure_work_pool(name: str, pool_type: str = "process") -> bool:
    """Create the work pool if it is missing; True when it was created now."""

    async def _ensure() -> bool:
        async with get_client() as client:
            try:
                await client.create_work_pool(WorkPoolCreate(name=name, type=pool_type))
            except ObjectAlreadyExists:
                return False
            return True

    return asyncio.run(_ensure())


def register_mimir_deployments(work_pool: str) -> list[str]:
    """Create or update one deployment per Mimir flow on `work_pool`; returns their names."""
    names = []
    for mimir_flow in MIMIR_FLOWS:
        source_flow = cast(
            Flow[..., Any],
            mimir_flow.flow.from_source(source=str(SOURCE_ROOT), entrypoint=mimir_flow.entrypoint),
        )
        source_flow.deploy(
            name=DEPLOYMENT_NAME,
            work_pool_name=work_pool,
            build=False,
            push=False,
            print_next_steps=False,
            ignore_warnings=True,
            tags=["mimir", "mimir-system"],
        )
        names.append(mimir_flow.deployment)
    return names


def run_selfcheck(echo: str, timeout: float) -> dict[str, Any]:
    """Trigger the selfcheck deployment and wait up to `timeout` seconds for it to finish."""
    # Called from a thread without an event loop, async_dispatch takes the sync branch.
    flow_run = start_deployment(
        f"{SELFCHECK_FLOW_NAME}/{DEPLOYMENT_NAME}",
        {"echo": echo},
        ["mimir-selfcheck"],
        timeout=timeout,
    )
    summary = run_summary(flow_run)
    return {
        "flow_run_id": summary["id"],
        "flow_run_name": summary["name"],
        "state": summary["state"],
        "state_name": summary["state_name"],
    }
