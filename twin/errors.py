"""Errors of the twin's query engine (the API maps them to problem+json)."""

from __future__ import annotations


class TwinError(Exception):
    """Base class of the twin's errors."""


class QuerySyntaxError(TwinError):
    """The text is not a SPARQL 1.1 query; `line` and `column` are 1-based."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"SPARQL syntax error{where}: {message}")


class UpdateRefused(TwinError):
    """SPARQL Update was sent to the read-only query engine."""

    def __init__(self) -> None:
        super().__init__(
            "SPARQL Update is refused: the twin's query endpoint is read-only (change data "
            "through storage writes, or make what-if edits in a scenario)"
        )


class UnsupportedQuery(TwinError):
    """A construct the twin cannot answer correctly; names the construct."""

    def __init__(self, construct: str, why: str) -> None:
        self.construct = construct
        super().__init__(f"{construct} is not supported by the twin: {why}")


class QueryTimeout(TwinError):
    """The query ran longer than the twin's timeout."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"the query ran longer than the twin's timeout of {seconds:g} s")


class NotTranslatable(Exception):
    """Internal: this algebra node has no SQL translation (the evaluator answers it)."""


class HistoryUnavailable(TwinError):
    """An `as_of` the store cannot answer: naive, trimmed by a vacuum, or no history kept."""
