"""Errors of the ML domain: each names the field or feature at fault and what was expected.

They subclass `ValueError` so callers that only know "bad input" can catch them; the API maps
`MLInputError` to 422 and `ArtifactError` to 409 (a stored artifact that cannot be trusted).
"""

from __future__ import annotations


class MLError(ValueError):
    """Base of every error raised by `ml`."""


class MLInputError(MLError):
    """A spec, a data set or a record cannot be used; `field` names what is wrong."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ArtifactError(MLError):
    """A stored model artifact is missing, altered (hash mismatch) or holds untrusted types."""
