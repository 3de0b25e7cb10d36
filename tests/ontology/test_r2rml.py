"""The R2RML mapping parses, covers every table and builds the IRIs the twin uses."""

from __future__ import annotations

import re
from urllib.parse import quote

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF

from ontology.compile import compile_schema
from ontology.edit import add_class, add_datatype_property, add_object_property, set_key
from ontology.model import OntologyModel
from ontology.r2rml import instance_iri, to_r2rml
from ontology.rows import map_records

RR = Namespace("http://www.w3.org/ns/r2rml#")


def _expand(template: str, row: dict) -> str:
    """Apply an R2RML template to a row (IRI-safe encoding, as the spec requires)."""
    return re.sub(r'\{"([^"]+)"\}', lambda m: quote(str(row[m.group(1)]), safe="-._~"), template)


def _maps(text: str) -> tuple[Graph, dict[str, URIRef]]:
    g = Graph().parse(data=text, format="turtle")
    by_table = {}
    for tmap in g.subjects(RDF.type, RR.TriplesMap):
        logical = g.value(tmap, RR.logicalTable)
        by_table[str(g.value(logical, RR.tableName)).strip('"')] = tmap
    return g, by_table


def test_r2rml_covers_every_table(shop_model: OntologyModel) -> None:
    mapping = compile_schema(shop_model)
    g, by_table = _maps(to_r2rml(mapping))
    assert set(by_table) == set(mapping.tabular.table_names)
    order = by_table["order"]
    subject = g.value(order, RR.subjectMap)
    assert str(g.value(subject, RR.template)) == 'http://ex.org/shop/data/Order/{"order_id"}'
    assert g.value(subject, RR["class"]) == URIRef("http://ex.org/shop#Order")
    predicates = {g.value(pom, RR.predicate): g.value(pom, RR.objectMap)
                  for pom in g.objects(order, RR.predicateObjectMap)}
    approver = predicates[URIRef("http://ex.org/shop#Order/approver")]
    assert str(g.value(approver, RR.template)) == 'http://ex.org/shop/data/Employee/{"approver"}'
    total = predicates[URIRef("http://ex.org/shop#Order/total")]
    assert (str(g.value(total, RR.column)), str(g.value(total, RR.datatype))) == (
        '"total"', "http://www.w3.org/2001/XMLSchema#decimal")
    link = by_table["order_lines"]
    (pom,) = list(g.objects(link, RR.predicateObjectMap))
    assert g.value(pom, RR.predicate) == URIRef("http://ex.org/shop#Order/lines")


def test_templates_match_instance_iris_across_a_hierarchy() -> None:
    m = OntologyModel(iri="http://ex.org/hr")
    m = add_class(m, "Person")
    m = add_class(m, "Employee", superclasses=["Person"])
    m = add_datatype_property(m, "ssn", domain=["Person"])
    m = add_object_property(m, "mentor", domain=["Employee"], range=["Person"], functional=True)
    m = set_key(m, "Person", ["ssn"])
    mapping = compile_schema(m)
    g, by_table = _maps(to_r2rml(mapping))
    rows = map_records(mapping, "Employee", [{"ssn": "a/b c", "mentor": "x y"}]).rows
    person_t = str(g.value(g.value(by_table["person"], RR.subjectMap), RR.template))
    employee_t = str(g.value(g.value(by_table["employee"], RR.subjectMap), RR.template))
    assert person_t == employee_t  # one individual, one IRI, whichever table it comes from
    iri = instance_iri(mapping, "Employee", ["a/b c"])
    assert _expand(employee_t, rows["employee"][0]) == iri == "http://ex.org/hr/data/Person/a%2Fb%20c"
    mentor = next(g.value(p, RR.objectMap) for p in g.objects(by_table["employee"], RR.predicateObjectMap))
    assert _expand(str(g.value(mentor, RR.template)), rows["employee"][0]) == instance_iri(
        mapping, "Person", ["x y"])
