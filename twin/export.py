"""Stream the whole view as RDF: the explicit, on-demand materialisation of a twin.

The view is read source by source in storage batches and written chunk by chunk, so memory
stays flat whatever the size of the data. N-Triples is one triple per line. Turtle chunks
each start with the same ``@prefix`` lines (Turtle allows repeating a prefix declaration),
so the concatenation is one valid document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

from rdflib import Graph, Namespace

from twin.view import Triple, TwinView

ExportFormat = Literal["turtle", "nt"]
CHUNK = 5000
MEDIA_TYPES = {"turtle": "text/turtle", "nt": "application/n-triples"}


def _prefixes(view: TwinView) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, mapping in enumerate(view.mappings):
        suffix = "" if n == 0 else str(n + 1)
        out[f"data{suffix}"] = mapping.instance_base
        namespace = mapping.classes[0].class_iri.rsplit("#", 1)[0] + "#" if mapping.classes \
            else None
        if namespace and namespace.endswith("#"):
            out[f"onto{suffix}"] = namespace
    return out


def _chunk(triples: list[Triple], fmt: ExportFormat, prefixes: dict[str, str]) -> bytes:
    if fmt == "nt":
        return "".join(f"{s.n3()} {p.n3()} {o.n3()} .\n" for s, p, o in triples).encode()
    graph = Graph(bind_namespaces="rdflib")
    for name, iri in prefixes.items():
        graph.bind(name, Namespace(iri))
    for triple in triples:
        graph.add(triple)
    return graph.serialize(format="turtle", encoding="utf-8")


def write(view: TwinView, triples: Iterable[Triple], fmt: ExportFormat = "turtle"
          ) -> Iterator[bytes]:
    """`triples` (of `view`) as chunks of `fmt`."""
    prefixes = _prefixes(view)
    batch: list[Triple] = []
    for triple in triples:
        batch.append(triple)
        if len(batch) >= CHUNK:
            yield _chunk(batch, fmt, prefixes)
            batch = []
    if batch:
        yield _chunk(batch, fmt, prefixes)


def stream(view: TwinView, fmt: ExportFormat = "turtle") -> Iterator[bytes]:
    """Every triple of the view, as chunks of `fmt`."""
    yield from write(view, view.triples(None, None, None), fmt)
