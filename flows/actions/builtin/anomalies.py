"""`twin.anomalies`: the project's alerts (or raw anomalies) for a report in an output pipeline.

Alerts and anomalies live in the metadata DB, which a worker does not have: the step reads them
from the Mimir API (`list_alerts` / `list_anomalies`) with the worker's token
(MIMIR_API_URL / MIMIR_API_TOKEN, set by `mimir up` and by the Kubernetes work pool), one page
after another up to `limit`. A step in a triggered run usually narrows it to the triggering
alert's class (`class_name: "{{ params.trigger.payload.class_name }}"`).
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import Field

from flows.actions.base import ActionContext, PermanentError, StrictParams, action
from flows.settings import runtime_settings

PAGE = 1000
TIMEOUT_S = 60.0


class TwinAnomaliesParams(StrictParams):
    """Inputs of twin.anomalies."""

    kind: Literal["alerts", "anomalies"] = Field(
        default="alerts", description="Alerts (one per condition) or every stored anomaly."
    )
    state: Literal["open", "acknowledged", "resolved"] | None = Field(
        default=None, description="Alerts only: only this state."
    )
    class_name: str | None = Field(
        default=None, max_length=255, description="Only this class (empty: all)."
    )
    limit: int = Field(default=1000, ge=1, le=100_000, description="Most items returned.")


def _get(path: str, query: dict[str, Any]) -> dict[str, Any]:
    settings = runtime_settings()
    if not settings.api_url:
        raise PermanentError(
            "twin.anomalies needs the Mimir API (MIMIR_API_URL is not set on this worker; "
            "`mimir up` sets it)"
        )
    headers = {}
    if settings.api_token is not None:
        headers["Authorization"] = f"Bearer {settings.api_token.get_secret_value()}"
    url = f"{settings.api_url.rstrip('/')}/api/v1{path}"
    response = httpx.get(url, params=query, headers=headers, timeout=TIMEOUT_S)
    if 400 <= response.status_code < 500:
        raise PermanentError(f"the Mimir API refused {path}: {response.text[:500]}")
    response.raise_for_status()  # 5xx: Prefect's task retries may help
    body: dict[str, Any] = response.json()
    return body


@action("twin.anomalies")
def twin_anomalies(params: TwinAnomaliesParams, ctx: ActionContext) -> dict[str, Any]:
    """The project's alerts or anomalies (`rows`, like storage.read: `.items` would be the
    dict method in a template) up to `limit`; `count` and `by_severity` (alerts) make a
    report's summary line."""
    if not ctx.project:
        raise PermanentError("twin.anomalies runs in a project's pipeline only")
    path = f"/projects/{ctx.project}/{params.kind}"
    query: dict[str, Any] = {}
    if params.class_name:
        query["class_name"] = params.class_name
    if params.state and params.kind == "alerts":
        query["state"] = params.state
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(items) < params.limit:
        page = _get(
            path,
            {**query, "limit": min(PAGE, params.limit - len(items))}
            | ({"cursor": cursor} if cursor else {}),
        )
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    result: dict[str, Any] = {"rows": items, "count": len(items), "truncated": bool(cursor)}
    if params.kind == "alerts":
        by_severity: dict[str, int] = {}
        for item in items:
            by_severity[item["severity"]] = by_severity.get(item["severity"], 0) + 1
        result["by_severity"] = by_severity
    return result
