"""Parsing and reshaping: `json.parse`, `json.query` (JMESPath), `csv.parse`, `transform.*`."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import Field

from flows.actions.base import ActionContext, PermanentError, StrictParams, action
from flows.settings import runtime_settings


class JsonParseParams(StrictParams):
    """Inputs of json.parse."""

    text: str = Field(description="JSON text.")


@action("json.parse")
def json_parse(params: JsonParseParams, ctx: ActionContext) -> dict[str, Any]:
    """Parse JSON text; the value is under `result`."""
    try:
        return {"result": json.loads(params.text)}
    except ValueError as exc:
        raise PermanentError(f"not valid JSON: {exc}") from None


class JsonQueryParams(StrictParams):
    """Inputs of json.query."""

    data: Any = Field(description="The value to query (usually a template).")
    path: str = Field(description="JMESPath expression, e.g. 'items[?active].id'.")


@action("json.query")
def json_query(params: JsonQueryParams, ctx: ActionContext) -> dict[str, Any]:
    """Select from JSON data with JMESPath; the value is under `result`."""
    try:
        return {"result": jmespath.search(params.path, params.data)}
    except JMESPathError as exc:
        raise PermanentError(f"JMESPath {params.path!r}: {exc}") from None


class CsvParseParams(StrictParams):
    """Inputs of csv.parse."""

    text: str = Field(description="CSV text with a header row.")
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="Field separator.")
    max_rows: int | None = Field(
        default=None,
        ge=1,
        description="Fail beyond this many rows (default and ceiling MIMIR_CSV_MAX_ROWS).",
    )


@action("csv.parse")
def csv_parse(params: CsvParseParams, ctx: ActionContext) -> dict[str, Any]:
    """Parse CSV with a header into a list of row objects under `rows`.

    The rows land in the run's context, so the row cap protects the worker; a file with more
    rows is for `storage.load`, which streams it into storage in batches."""
    ceiling = runtime_settings().csv_max_rows
    cap = min(params.max_rows or ceiling, ceiling)
    text = params.text.removeprefix("\ufeff")  # a byte-order mark is not part of the header
    reader = csv.DictReader(io.StringIO(text), delimiter=params.delimiter)
    rows: list[dict[str, Any]] = []
    for row in reader:
        if len(rows) >= cap:
            setting = "max_rows" if cap < ceiling else "MIMIR_CSV_MAX_ROWS"
            raise PermanentError(
                f"CSV line {reader.line_num}: more than {cap} rows ({setting}); csv.parse keeps "
                "every row in the run's context — stream a large file with storage.load instead"
            )
        rows.append(row)
    return {"rows": rows, "columns": reader.fieldnames or []}


class MapParams(StrictParams):
    """Inputs of transform.map."""

    items: list[Any] = Field(description="The list to transform.")
    template: Any = Field(description="Output per item; templates see `item` and `index`.")


@action("transform.map", deferred=("template",))
def transform_map(params: MapParams, ctx: ActionContext) -> dict[str, Any]:
    """Build one output per item from a template; the list is under `result`."""
    return {
        "result": [
            ctx.render(params.template, {"item": item, "index": index})
            for index, item in enumerate(params.items)
        ]
    }


class FilterParams(StrictParams):
    """Inputs of transform.filter."""

    items: list[Any] = Field(description="The list to filter.")
    condition: str = Field(description="Template per item (sees `item`); truthy keeps it.")


@action("transform.filter", deferred=("condition",))
def transform_filter(params: FilterParams, ctx: ActionContext) -> dict[str, Any]:
    """Keep the items whose condition is truthy; the list is under `result`."""
    kept = [item for item in params.items if ctx.render(params.condition, {"item": item})]
    return {"result": kept}


class SelectParams(StrictParams):
    """Inputs of transform.select."""

    items: list[dict[str, Any]] = Field(description="Objects to project.")
    fields: list[str] = Field(
        min_length=1, description="Fields to keep (missing ones become null)."
    )


@action("transform.select")
def transform_select(params: SelectParams, ctx: ActionContext) -> dict[str, Any]:
    """Keep only the named fields of each object; the list is under `result`."""
    return {
        "result": [{field: item.get(field) for field in params.fields} for item in params.items]
    }


class RenameParams(StrictParams):
    """Inputs of transform.rename."""

    items: list[dict[str, Any]] = Field(description="Objects whose fields to rename.")
    mapping: dict[str, str] = Field(description="Old name → new name.")


@action("transform.rename")
def transform_rename(params: RenameParams, ctx: ActionContext) -> dict[str, Any]:
    """Rename fields of each object; the list is under `result`."""
    return {
        "result": [
            {params.mapping.get(key, key): value for key, value in item.items()}
            for item in params.items
        ]
    }
