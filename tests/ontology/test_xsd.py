"""ontology/xsd.py: the XSD/RDF datatype vocabulary and the column type each maps to."""

from __future__ import annotations

import pytest

from ontology.xsd import column_type_for_xsd
from storage_plugins.schema import ColumnType, SchemaError


@pytest.mark.parametrize(
    ("datatype", "expected"),
    [
        ("http://www.w3.org/2001/XMLSchema#int", ColumnType.INTEGER),
        ("xsd:nonNegativeInteger", ColumnType.INTEGER),
        ("xsd:float", ColumnType.DOUBLE),
        ("decimal", ColumnType.DECIMAL),
        ("xsd:dateTimeStamp", ColumnType.DATETIME),
        ("xsd:hexBinary", ColumnType.BINARY),
        ("xsd:anyURI", ColumnType.ANY_URI),
        ("rdf:JSON", ColumnType.JSON),
        ("http://www.w3.org/1999/02/22-rdf-syntax-ns#langString", ColumnType.STRING),
    ],
)
def test_xsd_mapping(datatype: str, expected: ColumnType) -> None:
    assert column_type_for_xsd(datatype) is expected


def test_unknown_xsd_type() -> None:
    with pytest.raises(SchemaError, match="no column type"):
        column_type_for_xsd("xsd:nonsense")
