"""Errors raised by the ontology package.

Every error derives from `OntologyError` (a `ValueError`), so the service layer can map the
whole family to one "bad request" problem type; each subclass carries the facts a person
needs (which element, which references) as attributes as well as in its message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class OntologyError(ValueError):
    """Base class of every error the ontology package raises on purpose."""


class UnknownElement(OntologyError, LookupError):
    """A class or property reference matches nothing in the ontology."""

    def __init__(self, kind: str, ref: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.ref = ref
        self.known = sorted(known)
        shown = ", ".join(self.known[:20]) + (" …" if len(self.known) > 20 else "")
        super().__init__(f"unknown {kind} {ref!r}; known: {shown or '(none)'}")


class AmbiguousReference(OntologyError, LookupError):
    """A short name or label matches several elements; use the full IRI."""

    def __init__(self, kind: str, ref: str, matches: Iterable[str]) -> None:
        self.kind = kind
        self.ref = ref
        self.matches = sorted(matches)
        super().__init__(
            f"{kind} reference {ref!r} is ambiguous; it matches {', '.join(self.matches)}"
        )


class NameConflict(OntologyError):
    """An add or rename would give two elements the same IRI (or the same name)."""

    def __init__(self, iri: str, existing_kind: str) -> None:
        self.iri = iri
        self.existing_kind = existing_kind
        super().__init__(f"{iri!r} is already used by a {existing_kind}")


class ElementInUse(OntologyError):
    """A delete was refused because other elements still refer to the element.

    `references` lists ``(referring element IRI, how it refers)`` pairs; deleting with
    ``cascade=True`` removes or rewrites those references explicitly.
    """

    def __init__(self, iri: str, references: Sequence[tuple[str, str]]) -> None:
        self.iri = iri
        self.references = list(references)
        refs = "; ".join(f"{who} ({how})" for who, how in self.references[:10])
        super().__init__(
            f"{iri!r} is still referenced: {refs}. Delete with cascade=True to remove "
            "those references too."
        )


class InvalidEdit(OntologyError):
    """An edit's arguments are invalid in themselves (bad name, unknown datatype, …)."""


class InvalidOntology(OntologyError):
    """A document could not be turned into an ontology; `issues` lists every problem."""

    def __init__(self, issues: Sequence[Any]) -> None:
        self.issues = list(issues)
        first = "; ".join(str(getattr(i, "message", i)) for i in self.issues[:3])
        super().__init__(f"{len(self.issues)} problem(s): {first}")


class CompileError(OntologyError):
    """The ontology cannot be compiled into a valid tabular schema."""
