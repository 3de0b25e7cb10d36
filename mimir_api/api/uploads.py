"""File uploads that do not fit a JSON body: a streamed `PUT` and a multipart form.

These two routes are hand-written beside the generated ones because their bodies are not JSON
(MCP has `upload_project_file` with base64 for the same job). They take the same path as every
operation — bearer token, scope check, then `services.files.store_file` — and spool the body to
a temporary file while counting, so memory stays bounded and the size limit holds even for a
body that declared no length.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from mimir_api.api.rest import PROBLEM_RESPONSE
from mimir_api.core.errors import BadRequest, InvalidInput, PayloadTooLarge
from mimir_api.core.security import Scope, authenticate
from mimir_api.services.context import ServiceContext
from mimir_api.services.files import FileInfo, store_file

SPOOL_IN_MEMORY = 8 * 1024 * 1024
CHUNK = 1024 * 1024
UPLOAD_PATHS = ("/files/content", "/files/upload")


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    handle.seek(0)
    while chunk := handle.read(CHUNK):
        yield chunk


async def _context(request: Request) -> ServiceContext:
    state = request.app.state
    actor = await run_in_threadpool(
        authenticate, state.settings, state.engine, request.headers.get("authorization")
    )
    actor.require(Scope.WRITE, "upload_project_file")
    return ServiceContext(settings=state.settings, engine=state.engine, actor=actor)


async def put_file(
    request: Request, project: str, path: str, overwrite: bool = True
) -> JSONResponse:
    """Store the raw request body as `path` (e.g. `curl -T data.csv …?path=sources/data.csv`)."""
    ctx = await _context(request)
    limit = ctx.settings.max_upload_bytes
    seen = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise PayloadTooLarge(
                    f"the file is larger than the {limit}-byte upload limit "
                    "(MIMIR_MAX_UPLOAD_BYTES)"
                )
            spool.write(chunk)
        info = await run_in_threadpool(
            store_file, ctx, project, path, _chunks(spool), max_bytes=limit, overwrite=overwrite
        )
    return JSONResponse(info.model_dump(mode="json"), status_code=201)


async def post_multipart(request: Request, project: str) -> JSONResponse:
    """Store each file part of a multipart form under `dir` (default: the top folder)."""
    ctx = await _context(request)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise BadRequest(f"upload a multipart/form-data form (field 'file'), got {content_type!r}")
    limit = ctx.settings.max_upload_bytes
    form = await request.form(max_files=100, max_fields=100, max_part_size=1024 * 1024)
    folder = form.get("dir") or ""
    if not isinstance(folder, str):
        raise InvalidInput("'dir' must be a text field", field="dir")
    stored: list[FileInfo] = []
    try:
        files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if not files:
            raise InvalidInput("the form has no file part (field 'file')", field="file")
        for upload in files:
            name = (upload.filename or "").rsplit("/", 1)[-1]
            if not name:
                raise InvalidInput("a file part has no filename", field="file")
            target = f"{folder.strip('/')}/{name}" if folder.strip("/") else name
            info = await run_in_threadpool(
                store_file, ctx, project, target, _chunks(upload.file), max_bytes=limit
            )
            stored.append(info)
    finally:
        await form.close()
    return JSONResponse({"items": [i.model_dump(mode="json") for i in stored]}, status_code=201)


def install_upload_routes(app: FastAPI, prefix: str) -> None:
    """Add the two upload routes, documented in the OpenAPI document."""
    router = APIRouter(prefix=prefix, tags=["files"])
    router.add_api_route(
        "/projects/{project}/files/content",
        put_file,
        methods=["PUT"],
        operation_id="put_project_file",
        status_code=201,
        responses={"4XX": PROBLEM_RESPONSE, "5XX": PROBLEM_RESPONSE},
        summary="Upload a file as the raw request body (streamed; up to MIMIR_MAX_UPLOAD_BYTES).",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {}}},
            },
            "security": [{"bearerAuth": []}],
            "x-mimir-scope": "write",
            "x-mimir-mcp-tool": "upload_project_file",
        },
    )
    router.add_api_route(
        "/projects/{project}/files/upload",
        post_multipart,
        methods=["POST"],
        operation_id="upload_project_files_form",
        status_code=201,
        responses={"4XX": PROBLEM_RESPONSE, "5XX": PROBLEM_RESPONSE},
        summary="Upload files as a multipart/form-data form (fields 'file', optional 'dir').",
        openapi_extra={
            "security": [{"bearerAuth": []}],
            "x-mimir-scope": "write",
            "x-mimir-mcp-tool": "upload_project_file",
        },
    )
    app.include_router(router)
