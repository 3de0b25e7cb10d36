"""`model.predict`: score records or entities with a trained model from a pipeline.

A worker has the storage object but not the metadata DB that records which model versions
finished and their artifacts' content hashes, so the action asks the API's `predict`
operation (``MIMIR_API_URL`` + ``MIMIR_API_TOKEN``, which `mimir up` and the Kubernetes work
pool set), which verifies the artifact before using it. The step output holds
`predictions` (one per entity or record, in order).
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import Field, model_validator

from flows.actions.base import ActionContext, PermanentError, StrictParams, action
from flows.settings import runtime_settings

PREDICT_TIMEOUT_S = 300.0


class ModelPredictParams(StrictParams):
    """Inputs of model.predict."""

    model: str = Field(pattern=r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$", description="The model's name.")
    version: int | None = Field(default=None, ge=1, description="Version (default: latest).")
    records: list[dict[str, Any]] | None = Field(
        default=None, max_length=10_000, description="Feature records to score.")
    entities: list[str] | None = Field(
        default=None, max_length=10_000, description="Stored entity ids to score.")

    @model_validator(mode="after")
    def _one_input(self) -> ModelPredictParams:
        if (self.records is None) == (self.entities is None):
            raise ValueError("give exactly one of 'records' or 'entities'")
        return self


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))[:2000]
    except ValueError:
        return response.text[:2000]


@action("model.predict")
def model_predict(params: ModelPredictParams, ctx: ActionContext) -> dict[str, Any]:
    """Predict with a trained model (through the API, which verifies the artifact)."""
    settings = runtime_settings()
    if not settings.api_url:
        raise PermanentError("model.predict needs MIMIR_API_URL (set by mimir up and the "
                             "Kubernetes work pool) to reach the Mimir API")
    headers = {}
    if settings.api_token is not None:
        headers["Authorization"] = f"Bearer {settings.api_token.get_secret_value()}"
    url = (f"{settings.api_url.rstrip('/')}/api/v1/projects/{ctx.project}/models/"
           f"{params.model}/predict")
    body = params.model_dump(exclude={"model"}, exclude_none=True)
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=PREDICT_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise RuntimeError(f"could not reach the Mimir API at {url}: {exc}") from exc
    if response.status_code in (400, 404, 409, 422):
        raise PermanentError(f"model.predict: {_detail(response)}")
    if response.status_code >= 300:
        raise RuntimeError(f"model.predict: the API answered {response.status_code}: "
                           f"{_detail(response)}")
    items = response.json()["items"]
    return {"model": params.model, "predictions": items, "count": len(items)}
