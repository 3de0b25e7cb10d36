"""The sample project as a Prefect flow, so the API, MCP and the UI can build it too.

`mimir demo` runs the same steps from the user's terminal; this flow runs them on the work
pool with the worker's credential (scope write, enough for every step), logging each step as
it happens — visible in Mimir through `get_project_run` and in the Prefect UI.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, get_run_logger

from flows.demo.run import PROJECT, DemoFailed, run_demo
from flows.runs import project_tags, record_result, start_deployment
from flows.settings import runtime_settings

DEMO_FLOW_NAME = "sample-project"


@flow(name=DEMO_FLOW_NAME, persist_result=False, validate_parameters=True)
def build_sample_project(notify_url: str | None = None) -> dict[str, Any]:
    """Build (or refresh) the sample project through the platform's REST API; `notify_url`
    is the webhook the approved alert's report is announced to (none: no notice)."""
    settings = runtime_settings()
    if not settings.api_url:
        raise DemoFailed(
            "MIMIR_API_URL is not set on this worker, so the demo cannot reach the API "
            "(mimir up sets it; on Kubernetes the work pool's env does)"
        )
    token = settings.api_token.get_secret_value() if settings.api_token else None
    logger = get_run_logger()
    result = asdict(run_demo(settings.api_url, token, say=logger.info, notify_url=notify_url))
    summary = {
        "project": result["project"],
        "steps": result["steps"],
        "twin": result["twin"],
        "report_path": result["report_path"],
        "model_metrics": result["model_metrics"],
        "open_alerts": result["open_alerts"],
        "alert_report_path": result["alert_report_path"],
        "drift_report_path": result["drift_report_path"],
        "export": result["export"],
    }
    record_result(summary, f"Sample project {PROJECT}")
    return summary


def start_demo(via: str, notify_url: str | None = None) -> Any:
    """Create a run of the `sample-project/mimir` deployment and return at once."""
    return start_deployment(
        f"{DEMO_FLOW_NAME}/mimir",
        {"notify_url": notify_url},
        [*project_tags(PROJECT, "demo", via), "mimir-demo"],
    )
