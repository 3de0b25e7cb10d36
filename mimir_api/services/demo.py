"""The sample project as an operation: what `mimir demo` does, started from the API, MCP or
the UI's projects page.

The steps run in the `sample-project` flow on the work pool (they wait on pipeline runs,
extraction and training, far longer than a request may take); this operation returns the
run at once, and `get_project_run` on the sample project follows it, step by step in its logs.
"""

from __future__ import annotations

from pydantic import Field, HttpUrl

from flows.demo.flow import DEMO_FLOW_NAME, start_demo
from flows.demo.run import PROJECT
from mimir_api.core.errors import unavailable_on_failure
from mimir_api.core.security import Scope
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import StrictInput
from mimir_api.services.registry import operation
from mimir_api.services.runs import RunStarted, started


class DemoInput(StrictInput):
    """Input of run_demo."""

    notify_url: HttpUrl | None = Field(
        default=None,
        description="A webhook the approved alert's report is announced to (none: no notice). "
        "Outbound rules apply: a private or loopback address must be in "
        "MIMIR_HTTP_ALLOWED_HOSTS.",
    )


class DemoStarted(RunStarted):
    """The demo's run; the sample project is named in `project`."""

    project: str = Field(description="The sample project the run builds (remove it with "
                                     "delete_project).")


@operation(method="POST", path="/demo", scope=Scope.WRITE, status_code=201, tags=("demo",))
def run_demo(ctx: ServiceContext, params: DemoInput) -> DemoStarted:
    """Build (or refresh) the sample wind-farm project in a flow run, returned at once.

    The run creates the project, its pipelines, ontology, twin, model, anomalies, triggers
    (manual, pipeline-run and model-drift), reports and a twin export;
    follow it with get_project_run on the sample project. Running it again reuses what exists.
    """
    deployment = f"{DEMO_FLOW_NAME}/mimir"
    with unavailable_on_failure(
        f"Prefect could not start {deployment} (is `mimir up` running, or were Mimir's "
        "deployments registered with `mimir deploy`?)"
    ):
        notify = str(params.notify_url) if params.notify_url else None
        flow_run = start_demo(f"api:{ctx.actor.name}", notify)
    return DemoStarted(**started(flow_run, deployment).model_dump(), project=PROJECT)
