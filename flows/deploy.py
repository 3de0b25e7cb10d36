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
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectAlreadyExists

from flows.ontology_flow import extract_ontology
from flows.system import SELFCHECK_FLOW_NAME, selfcheck

SOURCE_ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT_NAME = "mimir"


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
    flow_run = cast(
        FlowRun,
        run_deployment(
            name=f"{SELFCHECK_FLOW_NAME}/{DEPLOYMENT_NAME}",
            parameters={"echo": echo},
            timeout=timeout,
            poll_interval=0.5,
            as_subflow=False,
            tags=["mimir-selfcheck"],
        ),
    )
    state = flow_run.state
    return {
        "flow_run_id": str(flow_run.id),
        "flow_run_name": flow_run.name,
        "state": state.type.value if state else "UNKNOWN",
        "state_name": state.name if state else "Unknown",
    }
