"""A project's files: upload, list, delete — the user's way to bring data in without a server.

Files live in the project's storage object (a local folder or an S3 prefix, via fsspec), where
pipelines read them with `file.read`. Every write goes to a temporary name first and is moved
into place only when complete, so a failed or refused upload leaves nothing behind. Paths are
relative, may not escape the storage object and may not touch Mimir's reserved area.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import fsspec
from pydantic import BaseModel, Field, model_validator

from domain.storage_object import (
    PathOutsideStorage,
    ReservedPath,
    inside_path,
    writable_path,
)
from mimir_api.core.errors import InvalidInput, NotFound, PayloadTooLarge
from mimir_api.core.security import Scope
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import ProjectName, StrictInput
from mimir_api.services.project_access import project_row
from mimir_api.services.registry import operation

MAX_READ_BYTES = 10 * 1024 * 1024


def clean_relative_path(path: str, *, field: str = "path") -> str:
    """A user-given path inside the storage object, normalised, or InvalidInput naming it."""
    if "\x00" in path:
        raise InvalidInput("the path contains a NUL character", field=field)
    try:
        return inside_path(path)
    except PathOutsideStorage as exc:
        raise InvalidInput(str(exc), field=field) from None


def check_writable(path: str, *, field: str = "path") -> str:
    """A clean path outside Mimir's reserved area, or InvalidInput naming it."""
    clean_relative_path(path, field=field)
    try:
        return writable_path(path)
    except ReservedPath as exc:
        raise InvalidInput(str(exc), field=field) from None


class FileInfo(BaseModel):
    """One file in a project's storage object."""

    path: str = Field(description="Path inside the storage object.")
    size: int = Field(description="Bytes.")
    modified: datetime | None = Field(default=None, description="Last modification, when known.")


class FileList(BaseModel):
    """Files under a prefix."""

    items: list[FileInfo]


class FileListQuery(StrictInput):
    """Input of list_project_files."""

    project: ProjectName
    prefix: str = Field(default="", max_length=1024, description="Only files under this folder.")


class FileUpload(StrictInput):
    """Input of upload_project_file: the content as text or base64 (for agents and scripts).

    Large files go through `PUT /api/v1/projects/{project}/files/content?path=…` (a streamed
    body) or a multipart form to `POST …/files/upload` instead.
    """

    project: ProjectName
    path: str = Field(min_length=1, max_length=1024, description="Where to put the file.")
    text: str | None = Field(default=None, description="Content as UTF-8 text.")
    base64: str | None = Field(default=None, description="Content as base64.")
    overwrite: bool = Field(default=True, description="Replace an existing file of that path.")

    @model_validator(mode="after")
    def _one_content(self) -> FileUpload:
        if (self.text is None) == (self.base64 is None):
            raise ValueError("give exactly one of 'text' or 'base64'")
        return self


class FileDelete(StrictInput):
    """Input of delete_project_file."""

    project: ProjectName
    path: str = Field(min_length=1, max_length=1024, description="The file to delete.")


class FileRef(StrictInput):
    """Input of read_project_file."""

    project: ProjectName
    path: str = Field(min_length=1, max_length=1024, description="Path inside the storage object.")


class FileContent(BaseModel):
    """A file from the project's storage object."""

    path: str = Field(description="Path inside the storage object.")
    size: int = Field(description="Bytes.")
    text: str | None = Field(description="Content, when it is UTF-8 text.")
    base64: str | None = Field(description="Content, base64, when it is binary.")


class FileDeleted(BaseModel):
    """A deleted file."""

    path: str
    deleted: bool


def project_filesystem(ctx: ServiceContext, project: str) -> tuple[Any, str]:
    """The fsspec filesystem and root folder of `project`'s storage object."""
    with ctx.session() as session:
        row = project_row(session, project)
    fs, root = fsspec.core.url_to_fs(row.storage_url)
    return fs, root.rstrip("/")


def _info(fs: Any, root: str, entry: dict[str, Any]) -> FileInfo:
    modified = entry.get("mtime") or entry.get("LastModified")
    if isinstance(modified, int | float):
        modified = datetime.fromtimestamp(modified, tz=UTC)
    name = entry["name"]
    relative = name[len(root) + 1 :] if name.startswith(root + "/") else name
    return FileInfo(path=relative, size=int(entry.get("size") or 0), modified=modified)


def store_file(
    ctx: ServiceContext,
    project: str,
    path: str,
    chunks: Iterable[bytes],
    *,
    max_bytes: int,
    overwrite: bool = True,
) -> FileInfo:
    """Write `chunks` to `path` atomically: a temporary name, then a move into place.

    Counting while writing enforces `max_bytes` on streams whose length nobody declared; the
    partial temporary file is removed on any failure, so storage is as it was.
    """
    normal = check_writable(path)
    fs, root = project_filesystem(ctx, project)
    target = f"{root}/{normal}"
    if not overwrite and fs.exists(target):
        raise InvalidInput(f"file {normal!r} exists (overwrite is false)", field="path")
    if fs.isdir(target):
        raise InvalidInput(f"{normal!r} is a folder", field="path")
    temporary = f"{root}/_mimir/uploads/{uuid.uuid4().hex}"
    fs.makedirs(posixpath.dirname(temporary), exist_ok=True)
    size = 0
    try:
        with fs.open(temporary, "wb") as handle:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"the file is larger than the {max_bytes}-byte upload limit "
                        "(MIMIR_MAX_UPLOAD_BYTES)"
                    )
                handle.write(chunk)
        fs.makedirs(posixpath.dirname(target), exist_ok=True)
        fs.mv(temporary, target)
    except BaseException:
        if fs.exists(temporary):
            fs.rm(temporary)
        raise
    return FileInfo(path=normal, size=size, modified=datetime.now(tz=UTC))


@operation(method="GET", path="/projects/{project}/files", scope=Scope.READ, tags=("files",))
def list_project_files(ctx: ServiceContext, params: FileListQuery) -> FileList:
    """List the files in a project's storage object (uploads, exports, reports)."""
    fs, root = project_filesystem(ctx, params.project)
    base = root
    if params.prefix:
        base = f"{root}/{clean_relative_path(params.prefix, field='prefix')}"
    if not fs.exists(base):
        return FileList(items=[])
    found = fs.find(base, detail=True)
    items = [
        _info(fs, root, entry)
        for name, entry in sorted(found.items())
        if entry.get("type") != "directory" and not _is_internal(name[len(root) + 1 :])
    ]
    return FileList(items=items)


def _is_internal(relative: str) -> bool:
    return relative.startswith(("_mimir/", "tables/")) or relative in (
        ".mimir-project.json",
        "tables.sqlite",
        "tables.sqlite-wal",
        "tables.sqlite-shm",
    )


@operation(
    method="POST",
    path="/projects/{project}/files",
    scope=Scope.WRITE,
    status_code=201,
    tags=("files",),
)
def upload_project_file(ctx: ServiceContext, params: FileUpload) -> FileInfo:
    """Upload a file (text or base64) into a project's storage object, for `file.read`."""
    if params.text is not None:
        data = params.text.encode("utf-8")
    else:
        try:
            data = base64.b64decode(params.base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("'base64' is not valid base64", field="base64") from None
    return store_file(
        ctx,
        params.project,
        params.path,
        [data],
        max_bytes=ctx.settings.max_upload_bytes,
        overwrite=params.overwrite,
    )


@operation(
    method="DELETE",
    path="/projects/{project}/files/content",
    scope=Scope.WRITE,
    destructive=True,
    tags=("files",),
)
def delete_project_file(ctx: ServiceContext, params: FileDelete) -> FileDeleted:
    """Delete one uploaded file (or export, or report) from a project's storage object."""
    normal = check_writable(params.path)
    fs, root = project_filesystem(ctx, params.project)
    target = f"{root}/{normal}"
    if not fs.isfile(target):
        raise NotFound(f"no file '{normal}' in project '{params.project}'", field="path")
    fs.rm(target)
    return FileDeleted(path=normal, deleted=True)


@operation(
    method="GET", path="/projects/{project}/files/content", scope=Scope.READ, tags=("files",)
)
def read_project_file(ctx: ServiceContext, params: FileRef) -> FileContent:
    """Read a file (up to 10 MiB) from the project's storage object, e.g. an export or report."""
    normal = clean_relative_path(params.path)
    fs, root = project_filesystem(ctx, params.project)
    target = f"{root}/{normal}"
    if not fs.isfile(target):
        raise NotFound(f"no file '{normal}' in project '{params.project}'", field="path")
    size = fs.size(target)
    if size > MAX_READ_BYTES:
        raise InvalidInput(
            f"the file has {size} bytes, over the {MAX_READ_BYTES}-byte limit", field="path"
        )
    data = fs.cat_file(target)
    try:
        return FileContent(path=normal, size=size, text=data.decode("utf-8"), base64=None)
    except UnicodeDecodeError:
        return FileContent(
            path=normal, size=size, text=None, base64=base64.b64encode(data).decode()
        )
