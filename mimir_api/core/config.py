"""Settings, read once from the environment (`MIMIR_*`) and passed around explicitly.

There is no import-time `settings = Settings()`: `get_settings()` is cached for the process,
and `create_app(settings)` / the CLI take a `Settings` object, so tests build their own.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 (recognised, not bound)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every knob Mimir reads from the environment; README's configuration table lists them."""

    model_config = SettingsConfigDict(env_prefix="MIMIR_", extra="ignore")

    home: Path = Field(
        default=Path(".mimir"),
        description="Folder for all local state: metadata DB, Prefect server DB, project storage.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata DB; defaults to SQLite at MIMIR_HOME/mimir.db.",
    )
    storage_url: str | None = Field(
        default=None,
        description="fsspec URL under which each project's storage object is created "
        "(default: MIMIR_HOME/projects; e.g. s3://bucket/prefix).",
    )
    host: str = Field(default="127.0.0.1", description="Address the API server binds to.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port the API server binds to.")
    auth: Literal["auto", "required"] = Field(
        default="auto",
        description="'auto': open on loopback while no token exists, else tokens required; "
        "'required': tokens always required.",
    )
    bootstrap_token: SecretStr | None = Field(
        default=None,
        description="An admin token accepted in addition to the stored ones (for clusters, "
        "where the token comes from a Secret).",
    )
    worker_token: SecretStr | None = Field(
        default=None,
        description="The credential Mimir's own workers hand results to the API with (scope "
        "write). `mimir up` generates a fresh one per start for its API and worker; it never "
        "turns auth on.",
    )
    max_body_bytes: int = Field(
        default=10 * MIB, ge=1024, description="Largest request body the API accepts, in bytes."
    )
    max_upload_bytes: int = Field(
        default=1024 * MIB,
        ge=1024,
        description="Largest file accepted by a streamed or multipart upload, in bytes.",
    )
    ontology_parse_timeout_s: float = Field(
        default=60.0, gt=0, le=3600,
        description="Seconds an uploaded ontology may take to parse and check (in a worker "
        "process that is killed at the deadline).",
    )
    mcp_page_size: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="Tools per page in MCP tools/list; 0 (default) lists every tool in one page, "
        "since many MCP clients never follow nextCursor.",
    )
    allowed_hosts: CommaList = Field(
        default_factory=list,
        description="Comma-separated host names (no port) the API answers to besides the bound "
        "address and localhost; other Host headers get 421 (DNS rebinding). '*' allows any. "
        "On a wildcard bind (0.0.0.0) any Host is accepted until this is set.",
    )
    cors_origins: CommaList = Field(
        default_factory=list,
        description="Comma-separated browser origins (scheme://host[:port]) allowed to call the "
        "API from other web pages; CORS is off and foreign Origins get 403 unless listed.",
    )
    work_pool: str = Field(
        default="mimir-local", description="Prefect work pool that Mimir's deployments target."
    )
    prefect_api_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PREFECT_API_URL", "MIMIR_PREFECT_API_URL"),
        description="Prefect API to use; when unset `mimir up` starts its own server.",
    )
    worker_limit: int = Field(
        default=4, ge=1, le=256, description="Flow runs the local worker runs at once (mimir up)."
    )
    prefect_port: int = Field(
        default=4200, ge=1, le=65535, description="Port of the Prefect server `mimir up` starts."
    )
    ui_dir: Path | None = Field(
        default=None, description="Folder of the static UI; defaults to the repository's ui/."
    )

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Environment variables hold `a,b,c`; Python callers may pass a list."""
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _plain_origins(cls, value: list[str]) -> list[str]:
        """An origin is scheme://host[:port], exactly as browsers send it (no path, no slash)."""
        for origin in value:
            scheme, sep, rest = origin.partition("://")
            if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com:8443")
        return [origin.lower() for origin in value]

    @field_validator("allowed_hosts")
    @classmethod
    def _lower_hosts(cls, value: list[str]) -> list[str]:
        return [host.lower().strip("[]") for host in value]

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        """Children and subprocesses must agree on MIMIR_HOME whatever their working folder."""
        return value.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        """The metadata DB URL, with the embedded SQLite default filled in."""
        return self.database_url or f"sqlite:///{self.home / 'mimir.db'}"

    @property
    def resolved_storage_url(self) -> str:
        """Base URL of project storage objects, with the local-folder default filled in."""
        return (self.storage_url or (self.home / "projects").as_uri()).rstrip("/")

    @property
    def resolved_prefect_api_url(self) -> str:
        """The Prefect API URL Mimir talks to (its own server's when none is configured)."""
        return self.prefect_api_url or f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def resolved_ui_dir(self) -> Path:
        """Where the static UI lives."""
        return self.ui_dir or Path(__file__).resolve().parents[2] / "ui"

    @property
    def accepted_hosts(self) -> frozenset[str] | None:
        """Host names (lower case, no port) requests may address; None means any."""
        if "*" in self.allowed_hosts:
            return None
        if self.host in WILDCARD_ADDRESSES and not self.allowed_hosts:
            return None
        return frozenset({self.host.lower().strip("[]"), *LOOPBACK_NAMES, *self.allowed_hosts})

    @property
    def binds_loopback(self) -> bool:
        """True when only this machine can reach the API (the only case that may run open)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
