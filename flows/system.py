"""Mimir's own housekeeping flows.

`selfcheck` is the smallest flow Mimir deploys: it proves, end to end, that a run triggered
through the API reaches a worker (a local process or a Kubernetes pod), imports Mimir's code
there and reports back to Prefect. `mimir up` registers it next to the other Mimir flows, and
the API's `run_selfcheck` operation triggers it.
"""

from __future__ import annotations

import platform
import socket
from importlib.metadata import version
from typing import Any

from prefect import flow, task

SELFCHECK_FLOW_NAME = "mimir-selfcheck"


@task(name="describe-worker")
def describe_worker(echo: str) -> dict[str, Any]:
    """Report where the run executed, so a caller can tell a pod from a local process."""
    return {
        "echo": echo,
        "hostname": socket.gethostname(),
        "python": platform.python_version(),
        "mimir_version": version("mimir-aip"),
    }


@flow(name=SELFCHECK_FLOW_NAME, log_prints=True)
def selfcheck(echo: str = "ok") -> dict[str, Any]:
    """Run one task and return what the worker saw; the result is persisted by Prefect."""
    report = describe_worker(echo)
    print(f"selfcheck ran on {report['hostname']} (python {report['python']})")
    return report
