"""The operation registry: every capability of Mimir, declared once.

An operation is a plain typed function `handler(ctx, params) -> result` where `params` and
`result` are pydantic models. The decorator records how it is exposed (HTTP method and path,
required scope, read-only/destructive hints); `mimir_api.api.rest` and `mimir_api.mcp.server`
generate the REST route and the MCP tool from the same record, which is why they cannot drift.
The operation name is the OpenAPI operationId and the MCP tool name.

This module imports no service: the services import it (for `@operation`), and
`mimir_api.services.catalog` lists the service modules and builds the registry.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

from pydantic import BaseModel

from mimir_api.core.security import Scope

OPERATION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Operation:
    """One capability and how both surfaces expose it."""

    name: str
    summary: str
    description: str
    handler: Handler
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    scope: Scope
    method: HttpMethod
    path: str
    status_code: int = 200
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    tags: tuple[str, ...] = ()

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of `{placeholders}` in the REST path; each is a field of the input model."""
        return tuple(re.findall(r"{(\w+)}", self.path))


def operation(
    *,
    method: HttpMethod,
    path: str,
    scope: Scope,
    status_code: int = 200,
    destructive: bool = False,
    idempotent: bool | None = None,
    read_only: bool | None = None,
    tags: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Mark a service function as an operation; `OperationRegistry.add_module` collects it.

    The name comes from the function, the summary and description from its docstring, and the
    input/output models from its type hints, so nothing is written twice.
    """

    def mark(handler: Handler) -> Handler:
        hints = typing.get_type_hints(handler)
        params = [p for p in handler.__code__.co_varnames[: handler.__code__.co_argcount]]
        if len(params) != 2:
            raise TypeError(f"{handler.__name__}: an operation takes (ctx, params)")
        input_model, output_model = hints[params[1]], hints["return"]
        summary, description = split_docstring(handler.__doc__ or "")
        is_read_only = method == "GET" if read_only is None else read_only
        handler.__mimir_operation__ = Operation(  # type: ignore[attr-defined]
            name=handler.__name__,
            summary=summary,
            description=description,
            handler=handler,
            input_model=input_model,
            output_model=output_model,
            scope=scope,
            method=method,
            path=path,
            status_code=status_code,
            read_only=is_read_only,
            destructive=destructive,
            idempotent=is_read_only if idempotent is None else idempotent,
            tags=tags,
        )
        return handler

    return mark


_LIST_ITEM = re.compile(r"^([-*]|\d+[.)])\s")


def _first_sentence(paragraph: str) -> str:
    """Up to the first '.', '!' or '?' that ends a sentence (not inside brackets or 'e.g.')."""
    depth = 0
    for index, char in enumerate(paragraph):
        depth += (char in "([{") - (char in ")]}")
        at_end = index + 1 == len(paragraph) or paragraph[index + 1].isspace()
        if char in ".!?" and depth <= 0 and at_end:
            word = paragraph[: index + 1].rsplit(" ", 1)[-1].lower()
            if word not in ("e.g.", "i.e.", "etc.", "vs."):
                return paragraph[: index + 1]
    return paragraph


def split_docstring(doc: str) -> tuple[str, str]:
    """(title, description) of an operation from its docstring.

    Docstrings wrap at 100 columns, so the first *line* is often half a sentence; the title is
    the first sentence of the first paragraph instead, and the description is the whole
    docstring with wrapped lines joined (paragraphs and list items kept).
    """
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", inspect.cleandoc(doc)):
        lines: list[str] = []
        for line in block.splitlines():
            line = line.strip()
            if lines and not _LIST_ITEM.match(line):
                lines[-1] += " " + line
            else:
                lines.append(line)
        if lines:
            paragraphs.append("\n".join(lines))
    if not paragraphs:
        return "", ""
    title = _first_sentence(paragraphs[0].replace("\n", " "))
    return title, "\n\n".join(paragraphs)


@dataclass
class OperationRegistry:
    """A set of operations, built by `catalog.build_registry()`; tests may build their own."""

    _operations: dict[str, Operation] = field(default_factory=dict)

    def add(self, op: Operation) -> None:
        """Register one operation; names and (method, path) pairs must be unique."""
        if not OPERATION_NAME.match(op.name):
            raise ValueError(f"operation name {op.name!r} must match {OPERATION_NAME.pattern}")
        if op.name in self._operations:
            raise ValueError(f"operation {op.name!r} is registered twice")
        for other in self._operations.values():
            if (other.method, other.path) == (op.method, op.path):
                raise ValueError(f"{op.name} and {other.name} share {op.method} {op.path}")
        missing = set(op.path_params) - set(op.input_model.model_fields)
        if missing:
            raise ValueError(f"{op.name}: path params {sorted(missing)} are not input fields")
        self._operations[op.name] = op

    def add_module(self, module: ModuleType) -> None:
        """Register every function in `module` marked with `@operation`."""
        for value in vars(module).values():
            op = getattr(value, "__mimir_operation__", None)
            if isinstance(op, Operation):
                self.add(op)

    def get(self, name: str) -> Operation | None:
        """The operation called `name`, or None."""
        return self._operations.get(name)

    def __iter__(self) -> Iterator[Operation]:
        return iter(sorted(self._operations.values(), key=lambda op: op.name))

    def __len__(self) -> int:
        return len(self._operations)
