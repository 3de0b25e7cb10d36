"""Safe YAML loading that remembers where every key and item came from.

PyYAML's composer gives nodes with marks; we build plain Python data from them ourselves so
that duplicate keys are errors (PyYAML silently keeps the last) and every path can be traced
back to a line and column for error messages.
"""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[str | int, ...]
Positions = dict[Path, tuple[int, int]]


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; carries the position of the problem."""

    def __init__(self, message: str, line: int | None, column: int | None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_yaml(text: str) -> tuple[Any, Positions, list[tuple[Path, str]]]:
    """Parse `text`; return the data, a path → (line, column) map and duplicate-key problems.

    Raises YamlSyntaxError for text that is not YAML at all (tabs, bad indentation, …).
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or str(exc)
        if (
            "\t" in text
            and mark is not None
            and "\t" in text.splitlines()[mark.line][: mark.column + 1]
        ):
            message = "tab characters are not allowed in YAML indentation; use spaces"
        raise YamlSyntaxError(
            message, mark.line + 1 if mark else None, mark.column + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), None, None) from None
    positions: Positions = {}
    duplicates: list[tuple[Path, str]] = []

    def build(node: yaml.Node, path: Path) -> Any:
        positions.setdefault(path, _mark(node))
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                if (
                    not isinstance(key, str | int | float | bool)
                    or key_node.tag == "tag:yaml.org,2002:merge"
                ):
                    duplicates.append((path, "only plain scalar keys are allowed (no merge keys)"))
                    continue
                if key in result:
                    positions[(*path, str(key))] = _mark(key_node)
                    duplicates.append(((*path, str(key)), f"duplicate key '{key}'"))
                    continue
                positions[(*path, str(key))] = _mark(key_node)
                result[key] = build(value_node, (*path, str(key)))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, index)) for index, item in enumerate(node.value)]
        return loader.construct_object(node, deep=True)

    try:
        data = build(root, ()) if root is not None else None
    finally:
        loader.dispose()
    return data, positions, duplicates


def position_of(positions: Positions, path: Path) -> tuple[int | None, int | None]:
    """The position of `path`, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        found = positions.get(tuple(path[:end]))
        if found:
            return found
    return None, None


def format_path(path: Path) -> str:
    """('steps', 3, 'with', 'url') → 'steps[3].with.url'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
