"""An rdflib `Store` over the virtual view, so rdflib's SPARQL evaluator can answer any query.

Only `triples()` does work: each call is a pushed-down lookup of `TwinView` (see its table
of pattern shapes). The store is read-only; a deadline set by the engine is checked on
every lookup and every storage batch, which is how a runaway query stops.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from typing import Any

from rdflib import Graph, URIRef
from rdflib.store import Store

from twin.errors import QueryTimeout, TwinError
from twin.view import Triple, TwinView


class ReadOnlyView(TwinError):
    """Something tried to add to or remove from the virtual view."""


class ViewStore(Store):
    """A read-only, context-free rdflib store answering triple patterns from a `TwinView`."""

    context_aware = False
    formula_aware = False
    transaction_aware = False
    graph_aware = False

    def __init__(self, view: TwinView, *, timeout_s: float | None = None) -> None:
        super().__init__()
        self.view = view
        self.timeout_s = timeout_s
        self.deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self._namespaces: dict[str, URIRef] = {}
        self.lookups = 0

    def _check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            assert self.timeout_s is not None
            raise QueryTimeout(self.timeout_s)

    def triples(
        self, triple_pattern: tuple[Any, Any, Any], context: Any = None
    ) -> Iterator[tuple[Triple, Iterator[Any]]]:
        """Matching triples, looked up in storage now."""
        self._check_time()
        self.lookups += 1
        s, p, o = triple_pattern
        for n, triple in enumerate(self.view.triples(s, p, o)):
            if n % 1000 == 999:
                self._check_time()
            yield triple, iter(())

    def __len__(self, context: Any = None) -> int:
        return self.view.count()

    def add(self, triple: Any, context: Any = None, quoted: bool = False) -> None:
        raise ReadOnlyView("the twin's view is read-only")

    def remove(self, triple: Any, context: Any = None) -> None:
        raise ReadOnlyView("the twin's view is read-only")

    def contexts(self, triple: Any = None) -> Generator[Graph, None, None]:
        yield from ()

    def bind(self, prefix: str, namespace: URIRef, override: bool = True) -> None:
        if override or prefix not in self._namespaces:
            self._namespaces[prefix] = namespace

    def namespace(self, prefix: str) -> URIRef | None:
        return self._namespaces.get(prefix)

    def prefix(self, namespace: URIRef) -> str | None:
        return next((p for p, n in self._namespaces.items() if n == namespace), None)

    def namespaces(self) -> Iterator[tuple[str, URIRef]]:
        yield from self._namespaces.items()


def view_graph(view: TwinView, *, timeout_s: float | None = None) -> Graph:
    """An rdflib Graph whose triples are the view's (nothing loaded)."""
    return Graph(store=ViewStore(view, timeout_s=timeout_s), bind_namespaces="none")

