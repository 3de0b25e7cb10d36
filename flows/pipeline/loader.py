"""Safe YAML loading that remembers where every key and item came from.

PyYAML's composer gives nodes with marks; we build plain Python data from them ourselves so
that duplicate keys are errors (PyYAML silently keeps the last) and every path can be traced
back to a line and column for error messages.

The text comes from users and agents over the API, so the loader is bounded: anchors and
aliases are refused outright (a few hundred bytes of nested aliases expand to gigabytes, and
`a: &x [*x]` is a cycle), and nesting deeper than MAX_DEPTH is refused before the recursive
composer can exhaust the stack. Pipelines and test cases never need either.
"""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[str | int, ...]
Positions = dict[Path, tuple[int, int]]
MAX_DEPTH = 100


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; carries the position of the problem."""

    def __init__(self, message: str, line: int | None, column: int | None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _refuse(message: str, mark: Any) -> YamlSyntaxError:
    return YamlSyntaxError(
        message, mark.line + 1 if mark else None, mark.column + 1 if mark else None
    )


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses anchors, aliases and deep nesting, with positions."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _refuse(
                f"aliases (*{event.anchor}) are not allowed; write the value out in full",
                event.start_mark,
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _refuse(
                f"anchors (&{anchor}) are not allowed; write repeated values out in full",
                event.start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _refuse(
                    f"the document is nested more than {MAX_DEPTH} levels deep", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _reader_position(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def load_yaml(text: str) -> tuple[Any, Positions, list[tuple[Path, str]]]:
    """Parse `text`; return the data, a path → (line, column) map and duplicate-key problems.

    Raises YamlSyntaxError for text that is not YAML at all (tabs, bad indentation, …), for
    anchors, aliases, control characters and nesting deeper than MAX_DEPTH.
    """
    try:
        loader = _BoundedLoader(text)
    except yaml.reader.ReaderError as exc:
        line, column = _reader_position(text, exc.position)
        raise YamlSyntaxError(
            f"control character {exc.character!r} is not allowed in YAML; remove or escape it",
            line,
            column,
        ) from None
    try:
        root = loader.get_single_node()
    except YamlSyntaxError:
        loader.dispose()
        raise
    except yaml.MarkedYAMLError as exc:
        loader.dispose()
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
        loader.dispose()
        raise YamlSyntaxError(str(exc), None, None) from None
    positions: Positions = {}
    duplicates: list[tuple[Path, str]] = []

    def build(node: yaml.Node, path: Path) -> Any:
        positions.setdefault(path, _mark(node))
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = _construct_scalar(key_node)
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
        return _construct_scalar(node)

    def _construct_scalar(node: yaml.Node) -> Any:
        try:
            return loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            raise _refuse(f"invalid value: {problem}", node.start_mark) from None

    try:
        data = build(root, ()) if root is not None else None
    finally:
        loader.dispose()
    return data, positions, duplicates


def load_plain_yaml(text: str) -> Any:
    """Parse `text` with the same bounds as load_yaml and return only the data.

    For YAML the CLI reads besides pipelines (test cases, `--param` values); raises
    YamlSyntaxError for invalid text and for duplicate keys.
    """
    data, positions, duplicates = load_yaml(text)
    if duplicates:
        path, message = duplicates[0]
        line, column = position_of(positions, path)
        raise YamlSyntaxError(f"{format_path(path) or 'document'}: {message}", line, column)
    return data


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
