"""Query results in the W3C formats, and content negotiation between them.

SELECT/ASK: SPARQL 1.1 Query Results JSON, XML, CSV and TSV. CONSTRUCT/DESCRIBE: Turtle,
N-Triples, JSON-LD. rdflib's serializers write every format, so the twin's answers look
exactly like any rdflib-backed endpoint's.
"""

from __future__ import annotations

import io
from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from twin.engine import TwinResult

RESULT_TYPES: dict[str, str] = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES: dict[str, str] = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/n-triples": "nt",
    "text/plain": "nt",
    "application/ld+json": "json-ld",
}
DEFAULT_RESULT = "application/sparql-results+json"
DEFAULT_GRAPH = "text/turtle"


class NotAcceptable(ValueError):
    """No format of the result's kind matches the Accept header."""


def _accepted(header: str | None) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for index, part in enumerate((header or "*/*").split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        q = 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if media:
            out.append((media, q - index * 1e-6))  # earlier wins among equal q
    return sorted(out, key=lambda m: -m[1])


def negotiate(accept: str | None, graph: bool, boolean: bool = False) -> tuple[str, str]:
    """(media type, rdflib format) for a result of this kind; raises NotAcceptable.

    ASK answers have no CSV/TSV form in the W3C formats, so only JSON and XML match them.
    """
    table, default = (GRAPH_TYPES, DEFAULT_GRAPH) if graph else (RESULT_TYPES, DEFAULT_RESULT)
    if boolean:
        table = {m: f for m, f in table.items() if f in ("json", "xml")}
    for media, q in _accepted(accept):
        if q <= 0:
            continue
        if media in table:
            return media, table[media]
        if media in ("*/*", "application/*", "text/*"):
            if media == "text/*" and not default.startswith("text/"):
                text = next((m for m in table if m.startswith("text/")), None)
                if text:
                    return text, table[text]
                continue
            return default, table[default]
    kinds = ", ".join(sorted(table))
    raise NotAcceptable(f"this {'graph' if graph else 'result'} can be returned as: {kinds}")


def serialize(result: TwinResult, fmt: str) -> bytes:
    """The result in rdflib format `fmt` (json, xml, csv, tsv, turtle, nt, json-ld)."""
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        assert result.graph is not None
        return result.graph.serialize(format=fmt, encoding="utf-8")
    if fmt == "tsv":
        return _tsv(result)
    buffer = io.BytesIO()
    result.to_rdflib().serialize(buffer, format=fmt, encoding="utf-8")
    return buffer.getvalue()


def _tsv(result: TwinResult) -> bytes:
    """SPARQL 1.1 TSV: a header of ?variables, then terms in N-Triples/Turtle syntax
    (rdflib has no TSV writer)."""
    lines = ["\t".join(f"?{v}" for v in result.vars)]
    for row in result.bindings:
        cells = []
        for var in result.vars:
            term = row.get(var)
            cells.append("" if term is None else term.n3().replace("\t", "\\t"))
        lines.append("\t".join(cells))
    return ("\n".join(lines) + "\n").encode("utf-8")


def term_json(term: Node) -> dict[str, Any]:
    """One RDF term in SPARQL JSON results form."""
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    assert isinstance(term, Literal)
    out: dict[str, Any] = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype is not None and term.datatype != XSD.string:
        out["datatype"] = str(term.datatype)
    return out
