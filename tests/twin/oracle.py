"""Compare the twin's answers with pyoxigraph's, term by term.

Terms are compared by value where RDF says two spellings are the same value of the same
datatype family (``"1.50"^^xsd:decimal`` and ``"1.5"``, ``…Z`` and ``…+00:00``); doubles
are compared to 9 significant digits because SUM and AVG add in an unspecified order.
"""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from twin.engine import TwinResult

DIGITS = Context(prec=17)
INTEGERS = {str(XSD[n]) for n in ("integer", "int", "long", "short", "byte")}


def _literal_key(lexical: str, datatype: str | None, language: str | None) -> tuple[Any, ...]:
    if language:
        return ("lang", lexical, language.lower())
    if datatype in (None, str(XSD.string)):
        return ("str", lexical)
    value = Literal(lexical, datatype=URIRef(datatype)).toPython()
    if datatype in (str(XSD.double), str(XSD.float)):
        return ("double", float(f"{float(value):.9g}"))
    if (datatype in INTEGERS or datatype == str(XSD.decimal)) and isinstance(
            value, int | Decimal):
        # decimal division keeps >= 18 digits (XSD leaves more to the implementation)
        return ("num", datatype in INTEGERS, Decimal(value).normalize(DIGITS))
    if isinstance(value, Literal) or value is None:
        return ("typed", lexical, datatype)
    return ("value", datatype, value)


def ours(term: Any) -> tuple[Any, ...] | None:
    """The comparison key of an rdflib term (None for unbound)."""
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ("iri", str(term))
    if isinstance(term, BNode):
        return ("bnode",)
    assert isinstance(term, Literal)
    return _literal_key(str(term), str(term.datatype) if term.datatype else None, term.language)


def theirs(term: Any) -> tuple[Any, ...] | None:
    """The comparison key of a pyoxigraph term."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value)
    if isinstance(term, ox.BlankNode):
        return ("bnode",)
    assert isinstance(term, ox.Literal)
    return _literal_key(term.value, term.datatype.value, term.language)


def _sortable(row: tuple[Any, ...]) -> str:
    return repr(row)


def expected(oracle: ox.Store, query: str) -> Any:
    """pyoxigraph's answer in comparable form."""
    res = oracle.query(query)
    if isinstance(res, ox.QueryBoolean):
        return bool(res)
    if isinstance(res, ox.QuerySolutions):
        names = [v.value for v in res.variables]
        return names, [tuple(theirs(sol[n]) for n in names) for sol in res]
    return sorted({(theirs(t.subject), theirs(t.predicate), theirs(t.object)) for t in res},
                  key=repr)


def actual(result: TwinResult) -> Any:
    """The twin's answer in comparable form."""
    if result.type == "ASK":
        return bool(result.ask)
    if result.type == "SELECT":
        names = [str(v) for v in result.vars]
        return names, [tuple(ours(b.get(v)) for v in result.vars) for b in result.bindings]
    assert result.graph is not None
    return sorted({(ours(s), ours(p), ours(o)) for s, p, o in result.graph}, key=repr)


def same(got: Any, want: Any, *, ordered: bool) -> bool:
    """Whether two comparable answers agree (row order only when `ordered`)."""
    if isinstance(want, bool) or not isinstance(want, tuple):
        return bool(got == want)
    (gn, grows), (wn, wrows) = got, want
    if gn != wn:
        return False
    if ordered:
        return bool(grows == wrows)
    return sorted(grows, key=_sortable) == sorted(wrows, key=_sortable)
