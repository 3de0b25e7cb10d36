"""File-system access for the object store: the fsspec filesystem and versioned logs.

Object stores have no transactions and (S3) no atomic rename, so every change is a new
immutable *version* file, created only if it does not exist yet: S3's conditional PUT
(``If-None-Match: *``) or, on a local disk, a hard link from a fully written temporary file.
Whoever creates ``v<N>.json`` first wins version N; a loser re-reads and retries. Readers
take the highest version and therefore always see a complete, committed state.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import fsspec
from fsspec import AbstractFileSystem

from storage_plugins.errors import BackendUnavailable
from storage_plugins.objectstore.config import ObjectStoreConfig

_VERSION_RE = re.compile(r"^v(\d{12})\.json$")
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class CommitConflict(Exception):
    """Another writer created the version this writer wanted."""


def make_filesystem(cfg: ObjectStoreConfig) -> tuple[AbstractFileSystem, str]:
    """The filesystem and the root path inside it, with timeouts and no listing cache.

    Listing caches are off because versions are found by listing: a cached listing would
    hide other writers' commits. fsspec reuses a filesystem instance for equal options,
    which saves S3 client set-up per plugin instance.
    """
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
    """True for the local-disk filesystem (where hard links give atomic create)."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def process_lock(fs: AbstractFileSystem, path: str) -> threading.Lock:
    """A lock shared by every plugin instance of this process for one log directory.

    Serialising commits inside a process avoids pointless retries; across processes the
    exclusive version files alone decide.
    """
    key = f"{fs.protocol}:{path}"
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def put_exclusive(fs: AbstractFileSystem, path: str, data: bytes) -> None:
    """Create `path` with `data` atomically; raise `CommitConflict` if it exists."""
    parent = path.rsplit("/", 1)[0]
    if is_local(fs):
        os.makedirs(parent, exist_ok=True)
        temp = f"{parent}/.tmp-{uuid.uuid4().hex}"
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            raise CommitConflict(path) from None
        finally:
            os.unlink(temp)
        directory = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # make the new name itself durable
        finally:
            os.close(directory)
        return
    try:
        fs.pipe_file(path, data, mode="create")
    except FileExistsError:
        raise CommitConflict(path) from None


@dataclass(frozen=True)
class LogEntry:
    """One committed version: its number and JSON body (version 0: nothing committed)."""

    version: int
    body: dict[str, Any]


class VersionLog:
    """A directory of ``v<12 digits>.json`` files, each a complete state."""

    def __init__(self, fs: AbstractFileSystem, path: str) -> None:
        self.fs = fs
        self.path = path

    def versions(self) -> list[int]:
        """Committed version numbers, ascending."""
        try:
            names = self.fs.ls(self.path, detail=False)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            match = _VERSION_RE.match(str(name).rsplit("/", 1)[-1])
            if match:
                found.append(int(match.group(1)))
        return sorted(found)

    def file(self, version: int) -> str:
        """The path of a version file."""
        return f"{self.path}/v{version:012d}.json"

    def read(self, version: int) -> LogEntry:
        """One version; version 0 is the empty initial state."""
        if version == 0:
            return LogEntry(0, {})
        return LogEntry(version, json.loads(self.fs.cat_file(self.file(version))))

    def latest(self) -> LogEntry:
        """The newest committed version."""
        versions = self.versions()
        for version in reversed(versions):
            try:
                return self.read(version)
            except FileNotFoundError:  # pruned between listing and reading
                continue
        return LogEntry(0, {})

    def commit(self, version: int, body: dict[str, Any]) -> None:
        """Create `version`; raises `CommitConflict` when another writer got there first."""
        data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        put_exclusive(self.fs, self.file(version), data)
