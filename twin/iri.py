"""Entity IRIs of the twin, and the RDF terms of stored values.

The IRI scheme is the one the ontology's R2RML mapping publishes (`ontology.r2rml`), so an
outside R2RML engine (Ontop, Morph) and the twin name every entity the same way:

    <instance_base><RootClass>/<key 1>/<key 2>...

* ``instance_base`` is the mapping's instance prefix (by default the ontology namespace
  with ``/data/``: ``http://ex.org/shop#`` → ``http://ex.org/shop/data/``);
* ``RootClass`` is the local name of the top class of the entity's hierarchy, so a
  ``Person`` row and an ``Employee`` row of the same individual share one IRI;
* each key value is written in its lexical form (ISO dates, ``true``/``false``) and
  percent-encoded except for ``A-Z a-z 0-9 - . _ ~`` (RFC 3986 unreserved), so the IRI is
  stable, reversible and never contains ``/`` inside one key part.

Literals carry the property's XSD datatype (the column type's datatype when the ontology
gives none); strings are plain literals (``xsd:string``), as R2RML's natural mapping says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from rdflib import Literal, URIRef
from rdflib.namespace import RDF as RDF_NS
from rdflib.namespace import XSD as XSD_NS
from rdflib.term import Node

from ontology.compile import ClassMapping, FieldMapping, SchemaMapping
from ontology.model import XSD, local_name
from ontology.r2rml import instance_iri
from ontology.rows import convert
from storage_plugins.schema import Column, ColumnType

DEFAULT_DATATYPES: dict[ColumnType, str | None] = {
    ColumnType.STRING: None,
    ColumnType.INTEGER: XSD + "integer",
    ColumnType.DECIMAL: XSD + "decimal",
    ColumnType.DOUBLE: XSD + "double",
    ColumnType.BOOLEAN: XSD + "boolean",
    ColumnType.DATE: XSD + "date",
    ColumnType.DATETIME: XSD + "dateTime",
    ColumnType.TIME: XSD + "time",
    ColumnType.ANY_URI: XSD + "anyURI",
    ColumnType.BINARY: XSD + "base64Binary",
    ColumnType.JSON: str(RDF_NS.JSON),
}


def entity_iri(mapping: SchemaMapping, cm: ClassMapping, key: list[Any]) -> URIRef:
    """The IRI of the entity of class `cm` with these key values."""
    return URIRef(instance_iri(mapping, cm.class_iri, key))


@dataclass(frozen=True)
class EntityRef:
    """A parsed entity IRI: which hierarchy (by its root class) and which key values."""

    mapping: SchemaMapping
    root: ClassMapping
    key: tuple[Any, ...]


def root_prefix(mapping: SchemaMapping, root: ClassMapping) -> str:
    """The IRI prefix every entity of `root`'s hierarchy starts with."""
    return f"{mapping.instance_base}{local_name(root.class_iri)}/"


def parse_entity(mappings: list[SchemaMapping], term: Node) -> EntityRef | None:
    """The entity an IRI names, or None when it is not one of the twin's entity IRIs.

    Key parts are converted to the key columns' types; an IRI whose parts do not convert
    (``.../Order/abc`` for an integer key) names no entity.
    """
    if not isinstance(term, URIRef):
        return None
    text = str(term)
    for mapping in mappings:
        if not text.startswith(mapping.instance_base):
            continue
        rest = text[len(mapping.instance_base):]
        root_name, _, tail = rest.partition("/")
        for cm in mapping.classes:
            if cm.root != cm.class_iri or local_name(cm.class_iri) != root_name:
                continue
            parts = tail.split("/")
            if len(parts) != len(cm.key_columns):
                return None
            table = mapping.tabular.table(cm.table)
            try:
                key = tuple(
                    convert(unquote(p), table.column(c)) for p, c in zip(parts, cm.key_columns,
                                                                        strict=True)
                )
            except (ValueError, TypeError, ArithmeticError):
                return None
            if any(v is None for v in key):
                return None
            ref = EntityRef(mapping, cm, key)
            if entity_iri(mapping, cm, list(key)) != term:
                return None  # a non-canonical spelling ("007" for 7) is another IRI
            return ref
    return None


def literal_datatype(field: FieldMapping | None, column: Column) -> str | None:
    """The datatype of a column's literals (None: plain string)."""
    if field is not None and field.datatype and field.datatype != XSD + "string" and (
        field.datatype.startswith(XSD)
    ):
        return field.datatype
    return DEFAULT_DATATYPES.get(column.type)


def _lexical(value: Any) -> str | None:
    """Lexical forms that rdflib would otherwise spell differently from XSD's canonical one."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0")
            text = text + "0" if text.endswith(".") else text
        else:
            text += ".0"
        return text
    if isinstance(value, datetime | date | time):
        return value.isoformat().replace("+00:00", "Z")
    return None


def literal(value: Any, datatype: str | None) -> Literal:
    """The RDF literal of a stored (canonical, non-NULL) value."""
    if datatype is None:
        return Literal(str(value))
    if datatype == str(RDF_NS.JSON):
        return Literal(json.dumps(value, separators=(",", ":"), sort_keys=True),
                       datatype=RDF_NS.JSON)
    if isinstance(value, bytes):
        import base64

        return Literal(base64.b64encode(value).decode("ascii"), datatype=XSD_NS.base64Binary)
    lexical = _lexical(value)
    if lexical is not None:
        return Literal(lexical, datatype=URIRef(datatype))
    if isinstance(value, float):
        return Literal(repr(value).replace("inf", "INF"), datatype=URIRef(datatype))
    return Literal(str(value), datatype=URIRef(datatype))


def value_of(term: Node, column: Column, datatype: str | None) -> tuple[bool, Any]:
    """(True, stored value) when `term` is exactly a literal this column can produce.

    Used to push an object constant down to storage: the value found is then turned back
    into a term and compared with `term`, so lexical variants never match by accident.
    """
    if not isinstance(term, Literal) or term.language is not None:
        return False, None
    dt = str(term.datatype) if term.datatype is not None else None
    if dt == XSD + "string":
        dt = None
    if dt != datatype:
        return False, None
    try:
        value = convert(str(term), column)
    except (ValueError, TypeError, ArithmeticError):
        return False, None
    if value is None:
        return False, None
    if datatype is None:
        return (True, value) if value == str(term) else (False, None)
    if literal(value, datatype) != term:
        return False, None
    return True, value
