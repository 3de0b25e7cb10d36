"""Settings the pipeline runtime reads in the worker (a process or a pod), from MIMIR_* env."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class RuntimeSettings(BaseSettings):
    """Limits and policies that apply to every pipeline run on this worker."""

    model_config = SettingsConfigDict(env_prefix="MIMIR_", extra="ignore")

    http_allowed_hosts: str = Field(
        default="",
        description="Comma-separated hosts, IPs or CIDRs that http.request may reach even though "
        "they are private/loopback (e.g. '127.0.0.1,10.0.0.0/8,api.internal').",
    )
    http_max_response_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest HTTP response body http.request reads into the run's context "
        "(MIMIR_HTTP_MAX_RESPONSE_BYTES, default 10 MiB); larger downloads go to a file with "
        "`save_to:` and into storage with storage.load.",
    )
    http_max_download_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=1024,
        description="Largest body http.request streams into a project file with `save_to:` "
        "(MIMIR_HTTP_MAX_DOWNLOAD_BYTES, default 1 GiB); it never passes through memory whole.",
    )
    csv_max_rows: int = Field(
        default=100_000,
        ge=1,
        description="Most rows csv.parse reads into the run's context (MIMIR_CSV_MAX_ROWS, "
        "default 100,000); storage.load streams files of any length in batches instead.",
    )
    for_each_max_items: int = Field(
        default=10_000, ge=1, description="Upper bound on items one for_each step may process."
    )
    api_url: str | None = Field(
        default=None,
        description="Base URL of the Mimir API that flows hand results to (ontology proposals); "
        "`mimir up` sets it for its worker. Unset: nothing is handed over, e.g. in "
        "`mimir pipeline run`.",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token (scope write) for MIMIR_API_URL when the API requires auth.",
    )


@lru_cache(maxsize=1)
def runtime_settings() -> RuntimeSettings:
    """Read once per process."""
    return RuntimeSettings()
