"""Emit the ontology ↔ tables mapping as W3C R2RML (Turtle).

Outside tools (Ontop, GraphDB, Morph) can then query the stored data as RDF with the same
IRIs the twin uses. One ``rr:TriplesMap`` per table:

* entity table → subjects ``<instance_base><RootClass>/<key>/…`` (the hierarchy root's
  name, so a ``person`` row and an ``employee`` row of the same individual share one IRI),
  ``rr:class`` the table's class, one predicate-object map per column: literals with their
  XSD datatype, foreign keys as IRIs built from the referenced class's template;
* link table → one predicate-object map from the left side's IRI to the right side's.

Identifiers are written as SQL delimited identifiers (``"order"``), because several table
names (``order``, ``user``) are reserved words.
"""

from __future__ import annotations

from urllib.parse import quote

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF as RDF_NS

from ontology.compile import ClassMapping, FieldMapping, SchemaMapping
from ontology.model import RDF, XSD, local_name

RR = Namespace("http://www.w3.org/ns/r2rml#")


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _template_part(identifier: str) -> str:
    return "{" + _quoted(identifier).replace("{", "\\{").replace("}", "\\}") + "}"


def subject_template(mapping: SchemaMapping, cm: ClassMapping, columns: list[str] | None = None
                     ) -> str:
    """The R2RML template of the class's instance IRIs (optionally over other columns)."""
    root = mapping.class_mapping(cm.root)
    cols = columns if columns is not None else cm.key_columns
    escaped = mapping.instance_base.replace("{", "\\{").replace("}", "\\}")
    return f"{escaped}{local_name(root.class_iri)}/" + "/".join(_template_part(c) for c in cols)


def instance_iri(mapping: SchemaMapping, class_ref: str, key: list[object]) -> str:
    """The IRI R2RML gives the individual with these key values (IRI-safe encoded).

    >>> from ontology.extract import extract
    >>> from ontology.compile import compile_schema
    >>> m = compile_schema(extract({"people": [{"id": "a b"}, {"id": "c"}]},
    ...                            base_iri="http://ex.org/o#").model)
    >>> instance_iri(m, "Person", ["a b"])
    'http://ex.org/o/data/Person/a%20b'
    """
    cm = mapping.class_mapping(class_ref)
    root = mapping.class_mapping(cm.root)
    parts = [quote(_lexical(v), safe="-._~") for v in key]
    return f"{mapping.instance_base}{local_name(root.class_iri)}/" + "/".join(parts)


def _lexical(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def to_r2rml(mapping: SchemaMapping) -> str:
    """The R2RML mapping document (Turtle) for every table of `mapping`.

    >>> from ontology.extract import extract
    >>> from ontology.compile import compile_schema
    >>> m = compile_schema(extract({"orders": [{"no": 1}, {"no": 2}]},
    ...                            base_iri="http://ex.org/o#").model)
    >>> 'rr:tableName "\\\\"order\\\\""' in to_r2rml(m)
    True
    """
    g = Graph(bind_namespaces="core")
    g.bind("rr", RR)
    base = Namespace("urn:mimir:r2rml:")
    g.bind("map", base)
    by_table = {cm.table: cm for cm in mapping.classes}
    for table in mapping.tabular.tables:
        tmap = base[table.name]
        g.add((tmap, RDF_NS.type, RR.TriplesMap))
        logical = BNode()
        g.add((tmap, RR.logicalTable, logical))
        g.add((logical, RR.tableName, Literal(_quoted(table.name))))
        subject = BNode()
        g.add((tmap, RR.subjectMap, subject))
        if table.kind == "entity":
            cm = by_table[table.name]
            g.add((subject, RR.template, Literal(subject_template(mapping, cm))))
            g.add((subject, RR["class"], URIRef(cm.class_iri)))
            for f in cm.fields:
                if f.kind == "link":
                    continue
                pom = BNode()
                g.add((tmap, RR.predicateObjectMap, pom))
                g.add((pom, RR.predicate, URIRef(f.property)))
                obj = BNode()
                g.add((pom, RR.objectMap, obj))
                if f.kind == "reference":
                    assert f.target is not None
                    target = mapping.class_mapping(f.target)
                    g.add((obj, RR.template, Literal(subject_template(mapping, target, f.columns))))
                elif f.kind == "iri":
                    g.add((obj, RR.column, Literal(_quoted(f.columns[0]))))
                    g.add((obj, RR.termType, RR.IRI))
                else:
                    g.add((obj, RR.column, Literal(_quoted(f.columns[0]))))
                    datatype = f.datatype or (RDF + "JSON" if f.kind == "iri_list" else None)
                    if datatype and datatype != XSD + "string" and (
                        datatype.startswith(XSD) or datatype == RDF + "JSON"
                    ):
                        g.add((obj, RR.datatype, URIRef(datatype)))
        else:
            owner, field = _link_owner(mapping, table.name)
            g.add((subject, RR.template, Literal(subject_template(mapping, owner,
                                                                 field.owner_columns))))
            pom = BNode()
            g.add((tmap, RR.predicateObjectMap, pom))
            g.add((pom, RR.predicate, URIRef(field.property)))
            obj = BNode()
            g.add((pom, RR.objectMap, obj))
            assert field.target is not None
            target = mapping.class_mapping(field.target)
            g.add((obj, RR.template, Literal(subject_template(mapping, target, field.columns))))
    return g.serialize(format="turtle")


def _link_owner(mapping: SchemaMapping, table: str) -> tuple[ClassMapping, FieldMapping]:
    for cm in mapping.classes:
        for f in cm.fields:
            if f.kind == "link" and f.table == table:
                return cm, f
    raise LookupError(f"no class maps to link table {table!r}")
