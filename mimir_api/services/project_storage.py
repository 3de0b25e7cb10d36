"""Each project's storage object: a folder or bucket prefix reached through fsspec.

Only this module touches the object itself, so the rest of the service layer never cares
whether it lives on local disk or in S3.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from urllib.parse import urlsplit

import fsspec
from fsspec import AbstractFileSystem

from mimir_api.core.errors import Conflict, InvalidInput, Unavailable

MARKER = ".mimir-project.json"
REMOTE_SCHEMES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"}


def project_url(base_url: str, name: str) -> str:
    """The default storage URL of project `name` under the configured base."""
    return f"{base_url.rstrip('/')}/{name}"


def validate_storage_url(url: str, base_url: str, field: str = "storage_url") -> str:
    """Accept a user-chosen storage URL only if it is safe to own (and later delete).

    Credentials never go in the URL (they would be echoed back). Local folders must lie
    inside the configured base so a project cannot claim, and on delete remove, `/etc`.
    """
    parts = urlsplit(url)
    scheme = parts.scheme or "file"
    if parts.username or parts.password:
        raise InvalidInput("credentials must not appear in a storage URL", field=field)
    if scheme == "file":
        base = urlsplit(base_url)
        if base.scheme not in ("", "file"):
            raise InvalidInput(
                "local folders are not allowed when MIMIR_STORAGE_URL is remote", field=field
            )
        root = Path(base.path).resolve()
        target = Path(parts.path).resolve()
        if target == root or root not in target.parents:
            raise InvalidInput(f"a local storage folder must lie inside {root}", field=field)
        return target.as_uri()
    if scheme not in REMOTE_SCHEMES:
        raise InvalidInput(
            f"unsupported storage scheme {scheme!r}; expected file or one of "
            f"{sorted(REMOTE_SCHEMES)}",
            field=field,
        )
    if not parts.netloc:
        raise InvalidInput(
            "a remote storage URL needs a bucket, e.g. s3://bucket/prefix", field=field
        )
    return url.rstrip("/")


def _fs(url: str) -> tuple[AbstractFileSystem, str]:
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise InvalidInput(f"cannot open storage URL: {exc}", field="storage_url") from exc
    return fs, path


def create_storage_object(url: str, project_id: str, name: str) -> None:
    """Create the (empty) storage object and its marker; refuse one that holds data."""
    fs, path = _fs(url)
    try:
        if fs.exists(path) and fs.find(path):
            raise Conflict(f"storage location {url} already holds data", field="storage_url")
        fs.makedirs(path, exist_ok=True)
        with fs.open(posixpath.join(path, MARKER), "w") as marker:
            json.dump({"project_id": project_id, "name": name}, marker)
    except (OSError, PermissionError) as exc:
        raise Unavailable(f"cannot create storage at {url}: {exc}") from exc


def remove_storage_object(url: str) -> bool:
    """Delete the storage object and everything in it; False if it was already gone."""
    fs, path = _fs(url)
    try:
        if not fs.exists(path):
            return False
        fs.rm(path, recursive=True)
    except OSError as exc:
        raise Unavailable(f"cannot remove storage at {url}: {exc}") from exc
    return True


def copy_storage_object(source_url: str, target_url: str, project_id: str, name: str) -> int:
    """Copy every file of a project's storage object into a new, empty one; returns the count.

    Works across filesystems (a local project cloned into S3) by streaming file by file.
    """
    create_storage_object(target_url, project_id, name)
    src_fs, src_path = _fs(source_url)
    dst_fs, dst_path = _fs(target_url)
    copied = 0
    try:
        for file in src_fs.find(src_path):
            relative = posixpath.relpath(file, src_path)
            if relative == MARKER:
                continue
            destination = posixpath.join(dst_path, relative)
            dst_fs.makedirs(posixpath.dirname(destination), exist_ok=True)
            with src_fs.open(file, "rb") as reader, dst_fs.open(destination, "wb") as writer:
                while chunk := reader.read(4 * 1024 * 1024):
                    writer.write(chunk)
            copied += 1
    except OSError as exc:
        remove_storage_object(target_url)
        raise Unavailable(f"cannot copy storage {source_url} → {target_url}: {exc}") from exc
    return copied
