"""The shape every operation's input must have, whichever surface it came from: nesting at
most MAX_JSON_DEPTH levels deep and integers within 64 bits.

REST (`mimir_api.api.rest`) and MCP (`mimir_api.mcp.server`) both call `check_input_bounds`
before `invoke`, so one rule covers all operations without each service repeating it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, get_args

from mimir_api.core.errors import FieldError, InvalidInput
from mimir_api.services.registry import Operation

MAX_JSON_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGER_TEXT = re.compile(r"[+-]?\d+")


def _takes_int(op: Operation, name: str) -> bool:
    """True when the input field `name` of `op` accepts an int (alone, optional or in a list)."""
    field = op.input_model.model_fields.get(name)
    if field is None:
        return False
    pending: list[Any] = [field.annotation]
    while pending:
        annotation = pending.pop()
        if annotation is int:
            return True
        pending.extend(get_args(annotation))
    return False


def check_input_bounds(op: Operation, raw: Mapping[str, Any], sources: Mapping[str, str]) -> None:
    """Refuse input nested deeper than MAX_JSON_DEPTH or holding integers beyond 64 bits.

    Services hand integers to SQL (64-bit columns) and nested values to JSON encoders that
    recurse; both fail with a 500 on such input, so it is refused here, at the edge, for every
    operation at once. Integer fields given as text (path and query parameters) are checked
    too. Raises InvalidInput naming the field.
    """
    errors: list[FieldError] = []
    for key, value in raw.items():
        where = f"{sources.get(key, 'body')}.{key}"
        pending: list[tuple[Any, str, int]] = [(value, where, 1)]
        while pending and not errors:
            item, path, depth = pending.pop()
            if depth > MAX_JSON_DEPTH:
                errors.append(
                    FieldError(
                        field=where,
                        message=f"nested more than {MAX_JSON_DEPTH} levels deep",
                        type="too_deep",
                    )
                )
            elif isinstance(item, dict):
                pending.extend((v, f"{path}.{k}", depth + 1) for k, v in item.items())
            elif isinstance(item, list):
                pending.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(item))
            elif _out_of_int64(item, text_is_int=_takes_int(op, key)):
                errors.append(
                    FieldError(
                        field=path,
                        message=f"integer out of range; expected {INT64_MIN} to {INT64_MAX}",
                        type="int_out_of_range",
                    )
                )
    if errors:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise InvalidInput(f"invalid input for {op.name}: {summary}", errors=errors)


def _out_of_int64(value: Any, *, text_is_int: bool) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not INT64_MIN <= value <= INT64_MAX
    if text_is_int and isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        digits = value.strip().lstrip("+-")
        return len(digits) > 19 or not INT64_MIN <= int(value) <= INT64_MAX
    return False
