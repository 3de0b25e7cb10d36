"""Ontologies: load/validate/export OWL, a typed data-ontology model, edits, versions and
diffs, extraction from records, proposals, and compilation to the tabular storage schema.

The package imports nothing of Mimir but `storage_plugins.schema`. The service layer and
the Prefect flows call these functions; each module's docstring explains its rules.
"""

from __future__ import annotations

from ontology.compile import ClassMapping, FieldMapping, SchemaMapping, compile_schema
from ontology.diff import OntologyDiff, diff, render_diff
from ontology.edit import (
    ClassPatch,
    PropertyPatch,
    add_class,
    add_datatype_property,
    add_object_property,
    delete_class,
    delete_property,
    rename_class,
    rename_property,
    set_key,
    update_class,
    update_property,
)
from ontology.errors import (
    AmbiguousReference,
    CompileError,
    ElementInUse,
    InvalidEdit,
    InvalidOntology,
    NameConflict,
    OntologyError,
    UnknownElement,
)
from ontology.extract import ExtractionResult, ExtractOptions, extract
from ontology.io import ImportResult, export_ontology, from_turtle, load_ontology, to_turtle
from ontology.model import (
    MIMIR,
    DatatypeProperty,
    ObjectProperty,
    OntologyClass,
    OntologyModel,
)
from ontology.propose import Proposal, ProposedChange, accept, propose
from ontology.r2rml import instance_iri, to_r2rml
from ontology.rdf import graph_from_model, model_from_graph
from ontology.reasoner import ConsistencyResult, check_consistency
from ontology.rows import MappedRows, RejectedRow, RowMapper, map_records, row_mapper
from ontology.validate import ValidationIssue, check_graph
from ontology.versions import OntologyVersion, create_version, version_model

__all__ = [
    "MIMIR",
    "AmbiguousReference",
    "ClassMapping",
    "ClassPatch",
    "CompileError",
    "ConsistencyResult",
    "DatatypeProperty",
    "ElementInUse",
    "ExtractOptions",
    "ExtractionResult",
    "FieldMapping",
    "ImportResult",
    "InvalidEdit",
    "InvalidOntology",
    "MappedRows",
    "NameConflict",
    "ObjectProperty",
    "OntologyClass",
    "OntologyDiff",
    "OntologyError",
    "OntologyModel",
    "OntologyVersion",
    "PropertyPatch",
    "Proposal",
    "ProposedChange",
    "RejectedRow",
    "RowMapper",
    "SchemaMapping",
    "UnknownElement",
    "ValidationIssue",
    "accept",
    "add_class",
    "add_datatype_property",
    "add_object_property",
    "check_consistency",
    "check_graph",
    "compile_schema",
    "create_version",
    "delete_class",
    "delete_property",
    "diff",
    "export_ontology",
    "extract",
    "from_turtle",
    "graph_from_model",
    "instance_iri",
    "load_ontology",
    "map_records",
    "model_from_graph",
    "propose",
    "rename_class",
    "rename_property",
    "render_diff",
    "row_mapper",
    "set_key",
    "to_r2rml",
    "to_turtle",
    "update_class",
    "update_property",
    "version_model",
]
