"""Sandboxed Jinja2 templates in step inputs.

A value that is exactly one `{{ expression }}` evaluates to the expression's native value (a
list stays a list); any other string with `{{ }}` renders to text. Undefined names chain
(`steps.page.body.next | default(...)` works before `page` ran) but fail loudly when used as
a value, so a typo is an error rather than an empty string.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, TemplateError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

_SINGLE = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.DOTALL)


class MimirUndefined(ChainableUndefined, StrictUndefined):
    """Chainable for attribute access, strict when rendered, iterated or compared."""

    __slots__ = ()


ENV = ImmutableSandboxedEnvironment(undefined=MimirUndefined, autoescape=False)


class TemplateFailed(ValueError):
    """A template could not be parsed or evaluated."""


def is_template(value: Any) -> bool:
    """True for strings that contain Jinja syntax."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _single_expression(value: str) -> str | None:
    match = _SINGLE.match(value)
    if match and "{{" not in match.group(1) and "}}" not in match.group(1):
        return match.group(1)
    return None


@lru_cache(maxsize=4096)
def _compiled_expression(source: str) -> Any:
    return ENV.compile_expression(source, undefined_to_none=False)


@lru_cache(maxsize=4096)
def _compiled_template(source: str) -> Any:
    return ENV.from_string(source)


def render(value: Any, variables: dict[str, Any]) -> Any:
    """Render every template inside `value` (dicts and lists recursively)."""
    if isinstance(value, dict):
        return {key: render(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, variables) for item in value]
    if not is_template(value):
        return value
    try:
        expression = _single_expression(value)
        if expression is not None:
            result = _compiled_expression(expression)(**variables)
            if isinstance(result, MimirUndefined):
                str(result)  # raises UndefinedError naming the missing attribute
            return result
        return _compiled_template(value).render(**variables)
    except TemplateError as exc:
        raise TemplateFailed(f"template {value!r}: {exc.message or exc}") from None
    except (TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        raise TemplateFailed(f"template {value!r}: {exc}") from None


def references(value: Any) -> tuple[set[str], set[str], list[str]]:
    """Step names (`steps.X`), parameter names (`params.X`) a value's templates use, and
    syntax errors found while parsing them."""
    step_refs: set[str] = set()
    param_refs: set[str] = set()
    errors: list[str] = []
    for text in _strings(value):
        if not is_template(text):
            continue
        try:
            tree = ENV.parse(text)
        except TemplateError as exc:
            errors.append(f"template syntax error: {exc.message}")
            continue
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            target = node.node  # type: ignore[attr-defined]
            if isinstance(target, nodes.Name) and target.name in ("steps", "params"):
                key = (
                    node.attr
                    if isinstance(node, nodes.Getattr)
                    else getattr(getattr(node, "arg", None), "value", None)
                )
                if isinstance(key, str):
                    (step_refs if target.name == "steps" else param_refs).add(key)
    return step_refs, param_refs, errors


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []
