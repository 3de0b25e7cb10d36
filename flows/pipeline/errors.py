"""Errors with positions: every problem in a pipeline names its path, line and column.

The errors an *action* raises (StepFailed, PermanentError …) are part of the plugin contract
and live in `flows.actions.base`; the ones here are the engine's own.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from flows.actions.base import Unrecoverable


class Issue(BaseModel):
    """One problem found in a pipeline document."""

    path: str = Field(description="Where in the document, e.g. 'steps[3].with.url'.")
    message: str = Field(description="What is wrong and what was expected.")
    line: int | None = Field(default=None, description="1-based line in the YAML, if known.")
    column: int | None = Field(default=None, description="1-based column in the YAML, if known.")

    def __str__(self) -> str:
        where = f"{self.line}:{self.column}: " if self.line else ""
        return f"{where}{self.path or '<document>'}: {self.message}"


class PipelineInvalid(Exception):
    """The document failed validation; `issues` lists every problem, in document order."""

    def __init__(self, issues: list[Issue], source: str = "pipeline"):
        self.issues = sorted(issues, key=lambda i: (i.line or 0, i.column or 0, i.path))
        self.source = source
        lines = "\n".join(f"  {source}:{issue}" for issue in self.issues)
        super().__init__(f"{len(self.issues)} problem(s) in {source}:\n{lines}")


class ContextOverflow(Unrecoverable):
    """The shared context outgrew `context_limit`."""


class LoopBoundExceeded(Unrecoverable):
    """A jump was taken more often than its bound allows."""
