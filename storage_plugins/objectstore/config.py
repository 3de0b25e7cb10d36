"""Settings of the object-store plugin."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from storage_plugins.base import PluginConfig


class ObjectStoreConfig(PluginConfig):
    """Where the Delta tables live and how to reach that place.

    Example:
        >>> cfg = ObjectStoreConfig(url="s3://bucket/projects/p1", key="AKIA...",
        ...                         secret="hunter2", endpoint_url="http://minio:9000")
        >>> cfg.redacted()["secret"]
        '**********'
    """

    url: str = Field(
        description=(
            "Root of the store: a local folder ('/data/p1' or 'file:///data/p1'), "
            "'s3://bucket/prefix', or any fsspec URL ('memory://p1', 'gcs://...')."
        )
    )
    endpoint_url: str | None = Field(
        default=None, description="S3 only: endpoint of an S3-compatible service (MinIO, …)."
    )
    key: str | None = Field(default=None, description="S3 only: access key id.")
    secret: SecretStr | None = Field(default=None, description="S3 only: secret access key.")
    token: SecretStr | None = Field(default=None, description="S3 only: session token.")
    region: str | None = Field(default=None, description="S3 only: region name.")
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra fsspec filesystem options (non-secret), passed as keyword arguments.",
    )
    secret_options: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Extra fsspec filesystem options that are secrets (masked when shown).",
    )
    connect_timeout_s: float = Field(
        default=5.0, gt=0, description="Seconds before a connection attempt fails."
    )
    read_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds a request may wait for a response."
    )
    compression: Literal["snappy", "zstd", "gzip", "lz4", "uncompressed"] = Field(
        default="snappy", description="Parquet compression codec of the data files."
    )
    chunk_rows: int = Field(
        default=10_000, ge=1, description="Rows validated and encoded per chunk during a write."
    )
    delta_options: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Extra delta-rs storage options (object_store keys such as "
            "'AWS_S3_LOCKING_PROVIDER'); credentials come from key/secret/token."
        ),
    )
    max_commit_attempts: int = Field(
        default=100,
        ge=1,
        description=(
            "How often a write reloads the table and retries after a commit conflict. Each "
            "concurrent writer's commit can beat a retry once, so this must exceed the commits "
            "other writers make meanwhile; retries back off exponentially (capped at 1 s)."
        ),
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("url must not be empty")
        return value.rstrip("/") or "/"

    @property
    def protocol(self) -> str:
        """The fsspec protocol of `url` ('file' for plain paths)."""
        head, sep, _ = self.url.partition("://")
        return head if sep else "file"

    def redacted(self) -> dict[str, Any]:
        """Settings safe to show: secrets masked (also in `secret_options`)."""
        return super().redacted()
