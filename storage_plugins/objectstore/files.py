"""Filesystem access for reading Delta tables' Parquet files and removing dropped tables.

Writes and the transaction log go through delta-rs; reads of the data files use pyarrow
over an fsspec filesystem (s3fs on S3), which keeps the Rust runtime out of pyarrow's
reader threads (see `storage_plugins.objectstore.plugin` on the abort-at-exit problem).
"""

from __future__ import annotations

from typing import Any

import fsspec
from fsspec import AbstractFileSystem

from storage_plugins.errors import BackendUnavailable
from storage_plugins.objectstore.config import ObjectStoreConfig


def make_filesystem(cfg: ObjectStoreConfig) -> tuple[AbstractFileSystem, str]:
    """The filesystem and the root path inside it, with timeouts and no listing cache."""
    options: dict[str, Any] = dict(cfg.storage_options)
    options.update({k: v.get_secret_value() for k, v in cfg.secret_options.items()})
    if cfg.protocol in ("s3", "s3a"):
        for name, value in (
            ("key", cfg.key),
            ("secret", cfg.secret.get_secret_value() if cfg.secret else None),
            ("token", cfg.token.get_secret_value() if cfg.token else None),
            ("endpoint_url", cfg.endpoint_url),
        ):
            if value is not None:
                options.setdefault(name, value)
        options["use_listings_cache"] = False
        client_kwargs = dict(options.pop("client_kwargs", {}) or {})
        if cfg.region:
            client_kwargs.setdefault("region_name", cfg.region)
        options["client_kwargs"] = client_kwargs
        config_kwargs = dict(options.pop("config_kwargs", {}) or {})
        config_kwargs.setdefault("connect_timeout", cfg.connect_timeout_s)
        config_kwargs.setdefault("read_timeout", cfg.read_timeout_s)
        config_kwargs.setdefault("retries", {"max_attempts": 2, "mode": "standard"})
        options["config_kwargs"] = config_kwargs
    elif cfg.protocol == "file":
        options.setdefault("auto_mkdir", True)
    try:
        fs, root = fsspec.core.url_to_fs(cfg.url, **options)
    except (ImportError, ValueError, TypeError) as exc:
        raise BackendUnavailable(f"cannot open {cfg.url}: {exc}") from exc
    if cfg.protocol in ("s3", "s3a"):
        fs.retries = 2  # s3fs's own retry loop, on top of botocore's
    return fs, root.rstrip("/")


def is_local(fs: AbstractFileSystem) -> bool:
    """True for the local-disk filesystem."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def delta_options(cfg: ObjectStoreConfig) -> dict[str, str]:
    """delta-rs (object_store) settings for `cfg`: credentials, endpoint, timeouts, retries."""
    options: dict[str, str] = {
        "timeout": f"{cfg.read_timeout_s:g}s",
        "connect_timeout": f"{cfg.connect_timeout_s:g}s",
        "max_retries": "2",
        "retry_timeout": f"{max(cfg.read_timeout_s, 5):g}s",
    }
    if cfg.protocol in ("s3", "s3a"):
        for name, value in (
            ("AWS_ACCESS_KEY_ID", cfg.key),
            ("AWS_SECRET_ACCESS_KEY", cfg.secret.get_secret_value() if cfg.secret else None),
            ("AWS_SESSION_TOKEN", cfg.token.get_secret_value() if cfg.token else None),
            ("AWS_ENDPOINT_URL", cfg.endpoint_url),
        ):
            if value is not None:
                options[name] = value
        options["AWS_REGION"] = cfg.region or "us-east-1"
        if cfg.endpoint_url and cfg.endpoint_url.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    options.update({k: str(v) for k, v in cfg.delta_options.items()})
    return options
