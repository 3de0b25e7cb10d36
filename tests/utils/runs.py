"""Follow a flow run Mimir started through Mimir's own API (`get_project_run`) until it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def wait_for_run(
    get: Callable[[str], Any], api: str, project: str, run_id: str, deadline_s: float = 240
) -> dict[str, Any]:
    """Poll `GET {api}/projects/{project}/runs/{run_id}` (with `get(url)`) until the run is
    final, and return it; raises if it is still going after `deadline_s` (a bound, not an
    assertion on speed)."""
    url = f"{api}/projects/{project}/runs/{run_id}"
    stop = time.monotonic() + deadline_s
    while True:
        response = get(url)
        assert response.status_code == 200, response.text
        run = response.json()
        if run["final"]:
            return dict(run)
        if time.monotonic() > stop:
            raise AssertionError(f"run {run_id} still {run['state']} after {deadline_s}s")
        time.sleep(0.5)


def completed_result(
    get: Callable[[str], Any], api: str, project: str, run_id: str
) -> dict[str, Any]:
    """The result a run recorded, once it completed (fails with the run's message otherwise)."""
    run = wait_for_run(get, api, project, run_id)
    assert run["state"] == "COMPLETED", run
    assert run["result"] is not None, run
    return dict(run["result"])
