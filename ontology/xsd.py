"""The XSD (and RDF literal) datatype vocabulary, and which storage column type each maps to.

Ontology knowledge: which datatypes a data ontology may use and what they mean as columns.
`storage_plugins` only knows its logical `ColumnType`s; this module is the bridge, used by
the edits (which ranges are allowed) and the schema compiler (which column a property gets).
"""

from __future__ import annotations

from ontology.model import RDF, XSD
from storage_plugins.schema import ColumnType, SchemaError

_XSD_FAMILIES: dict[ColumnType, tuple[str, ...]] = {
    ColumnType.STRING: (
        "string", "normalizedString", "token", "language", "Name", "NCName", "NMTOKEN",
        "ID", "IDREF", "ENTITY", "duration", "dayTimeDuration", "yearMonthDuration",
        "gYear", "gYearMonth", "gMonth", "gMonthDay", "gDay", "QName", "NOTATION",
    ),
    ColumnType.INTEGER: (
        "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
        "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt",
        "unsignedShort", "unsignedByte",
    ),
    ColumnType.DECIMAL: ("decimal",),
    ColumnType.DOUBLE: ("double", "float"),
    ColumnType.BOOLEAN: ("boolean",),
    ColumnType.DATE: ("date",),
    ColumnType.DATETIME: ("dateTime", "dateTimeStamp"),
    ColumnType.TIME: ("time",),
    ColumnType.ANY_URI: ("anyURI",),
    ColumnType.BINARY: ("hexBinary", "base64Binary"),
}

XSD_TYPES: dict[str, ColumnType] = {
    XSD + local: ctype for ctype, names in _XSD_FAMILIES.items() for local in names
}
XSD_TYPES[RDF + "JSON"] = ColumnType.JSON
XSD_TYPES[RDF + "langString"] = ColumnType.STRING
XSD_TYPES[RDF + "PlainLiteral"] = ColumnType.STRING


def column_type_for_xsd(datatype: str) -> ColumnType:
    """Map an XSD/RDF datatype (full IRI, ``xsd:int`` or a bare local name) to a column type.

    >>> column_type_for_xsd("http://www.w3.org/2001/XMLSchema#long")
    <ColumnType.INTEGER: 'integer'>
    >>> column_type_for_xsd("xsd:dateTimeStamp")
    <ColumnType.DATETIME: 'dateTime'>
    """
    iri = datatype
    if datatype.startswith("xsd:"):
        iri = XSD + datatype[4:]
    elif datatype.startswith("rdf:"):
        iri = RDF + datatype[4:]
    elif ":" not in datatype and "#" not in datatype:
        iri = XSD + datatype
    try:
        return XSD_TYPES[iri]
    except KeyError:
        raise SchemaError(f"no column type for datatype {datatype!r}") from None
