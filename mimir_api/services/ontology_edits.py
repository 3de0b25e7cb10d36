"""Ontology edit operations: add, change, rename and delete classes and properties, set keys.

Each edit is a pure function of the `ontology` package applied to the current version; a
successful one is saved as a new accepted version (author = the caller, with their message)
and drives storage like any accepted version. A failed edit (unknown class, a rename that
collides, a delete of something still referenced) raises before anything is saved, so the
current version stays as it was. `expected_version` gives optimistic locking to callers
that read, think and then write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import Field

from mimir_api.core.errors import Conflict
from mimir_api.core.security import Scope
from mimir_api.services.context import ServiceContext
from mimir_api.services.ontology_versions import (
    ONE,
    OntologyRef,
    OntologySaved,
    current_record,
    model_of,
    ontology_error,
    ontology_row,
    save_accepted,
    saved,
)
from mimir_api.services.project_access import project_row
from mimir_api.services.registry import operation
from ontology import (
    ClassPatch,
    OntologyModel,
    PropertyPatch,
    add_class,
    add_datatype_property,
    add_object_property,
    delete_class,
    delete_property,
    rename_class,
    rename_property,
    set_key,
    to_turtle,
    update_class,
    update_property,
)
from ontology.errors import InvalidEdit, OntologyError

TAGS = ("ontology edits",)
NAME = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$"


class _Edit(OntologyRef):
    """Fields every edit takes."""

    message: str = Field(default="", max_length=1000, description="Why (kept with the version).")
    expected_version: int | None = Field(
        default=None,
        ge=1,
        description="Refuse (409) unless this is still the current version (optimistic locking).",
    )
    force: bool = Field(
        default=False,
        description="Allow storage changes that lose data (a new key or column type rebuilds "
        "the table and reloads it from the raw area).",
    )


class ClassAdd(_Edit):
    """Input of add_ontology_class."""

    class_name: str = Field(pattern=NAME, description="Local name of the new class, e.g. Order.")
    label: str | None = Field(default=None, max_length=500, description="rdfs:label.")
    comment: str | None = Field(default=None, max_length=4000, description="rdfs:comment.")
    superclasses: list[str] = Field(
        default_factory=list, max_length=50, description="Superclasses (names, labels or IRIs)."
    )


class ClassChange(_Edit):
    """Input of update_ontology_class; omitted fields stay as they are."""

    ref: str = Field(min_length=1, max_length=1000, description="The class (name, label, IRI).")
    label: str | None = Field(default=None, max_length=500, description="New rdfs:label.")
    comment: str | None = Field(default=None, max_length=4000, description="New rdfs:comment.")
    superclasses: list[str] | None = Field(
        default=None, max_length=50, description="New superclasses (replaces the list)."
    )


class ElementRename(_Edit):
    """Input of the rename operations."""

    ref: str = Field(min_length=1, max_length=1000, description="The element (name, label, IRI).")
    new_name: str = Field(pattern=NAME, description="New local name.")


class ElementDelete(_Edit):
    """Input of the delete operations."""

    ref: str = Field(min_length=1, max_length=1000, description="The element (name, label, IRI).")
    cascade: bool = Field(
        default=False,
        description="Also remove what refers to it (subclass links, domains, keys, axioms); "
        "without it a referenced element is not deleted (409).",
    )


class PropertyAdd(_Edit):
    """Input of add_ontology_property."""

    property_name: str = Field(pattern=NAME, description="Local name, e.g. total.")
    kind: Literal["datatype", "object"] = Field(
        default="datatype", description="datatype (an attribute) or object (a relationship)."
    )
    domain: list[str] = Field(
        min_length=1, max_length=50, description="Classes that have it (names, labels, IRIs)."
    )
    range: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="datatype: one XSD type (default xsd:string); object: the target classes.",
    )
    functional: bool | None = Field(
        default=None,
        description="At most one value per subject (default: true for datatype, false for "
        "object properties; a functional relationship becomes a foreign key).",
    )
    label: str | None = Field(default=None, max_length=500, description="rdfs:label.")
    comment: str | None = Field(default=None, max_length=4000, description="rdfs:comment.")


class PropertyChange(_Edit):
    """Input of update_ontology_property; omitted fields stay as they are."""

    ref: str = Field(min_length=1, max_length=1000, description="The property (name, label, IRI).")
    label: str | None = Field(default=None, max_length=500, description="New rdfs:label.")
    comment: str | None = Field(default=None, max_length=4000, description="New rdfs:comment.")
    kind: Literal["datatype", "object"] | None = Field(
        default=None, description="Turn an attribute into a relationship or back."
    )
    domain: list[str] | None = Field(default=None, max_length=50, description="New domain.")
    range: list[str] | None = Field(
        default=None, max_length=50, description="New range: one XSD type or target classes."
    )
    functional: bool | None = Field(default=None, description="New functional flag.")


class KeySet(_Edit):
    """Input of set_ontology_key."""

    class_ref: str = Field(min_length=1, max_length=1000, description="The class.")
    properties: list[str] = Field(
        max_length=16, description="Its key properties in order (empty: no key)."
    )


def _edit(
    ctx: ServiceContext,
    params: _Edit,
    change: Callable[[OntologyModel], OntologyModel],
    field: str,
    name_field: str | None = None,
) -> OntologySaved:
    """Apply `change` to the current version and save the result as a new accepted version."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        row = ontology_row(session, project, params.name)
        current = current_record(session, row)
        if params.expected_version is not None and params.expected_version != current.version:
            raise Conflict(
                f"the current version is {current.version}, not {params.expected_version}; "
                "reload and edit again",
                field="expected_version",
            )
        try:
            model = change(model_of(current.turtle))
        except OntologyError as exc:
            raise ontology_error(exc, field, name_field) from None
        if to_turtle(model) == current.turtle:
            return saved(session, project, row, current, None, changed=False)
        record, storage = save_accepted(
            ctx,
            session,
            project,
            row,
            model,
            origin="manual",
            message=params.message,
            parent=current.version,
            force=params.force,
        )
        return saved(session, project, row, record, storage)


@operation(method="POST", path=ONE + "/classes", scope=Scope.WRITE, status_code=201, tags=TAGS)
def add_ontology_class(ctx: ServiceContext, params: ClassAdd) -> OntologySaved:
    """Add a class (a new table once saved)."""
    return _edit(
        ctx,
        params,
        lambda m: add_class(
            m,
            params.class_name,
            label=params.label,
            comment=params.comment,
            superclasses=params.superclasses,
        ),
        "superclasses",
        "class_name",
    )


@operation(method="PATCH", path=ONE + "/classes", scope=Scope.WRITE, idempotent=True, tags=TAGS)
def update_ontology_class(ctx: ServiceContext, params: ClassChange) -> OntologySaved:
    """Change a class's label, comment or superclasses."""
    fields = params.model_fields_set & {"label", "comment", "superclasses"}
    patch = ClassPatch(**{f: getattr(params, f) for f in fields})
    return _edit(ctx, params, lambda m: update_class(m, params.ref, patch), "ref")


@operation(method="POST", path=ONE + "/classes/rename", scope=Scope.WRITE, tags=TAGS)
def rename_ontology_class(ctx: ServiceContext, params: ElementRename) -> OntologySaved:
    """Rename a class and every reference to it (its table gets the new name; the old one
    and its rows stay)."""
    return _edit(
        ctx, params, lambda m: rename_class(m, params.ref, params.new_name), "ref", "new_name"
    )


@operation(
    method="DELETE",
    path=ONE + "/classes",
    scope=Scope.WRITE,
    destructive=True,
    idempotent=False,
    tags=TAGS,
)
def delete_ontology_class(ctx: ServiceContext, params: ElementDelete) -> OntologySaved:
    """Delete a class (refused while referenced, unless `cascade`); its table and rows stay,
    and extraction never proposes it again."""
    return _edit(ctx, params, lambda m: delete_class(m, params.ref, cascade=params.cascade), "ref")


@operation(method="POST", path=ONE + "/properties", scope=Scope.WRITE, status_code=201, tags=TAGS)
def add_ontology_property(ctx: ServiceContext, params: PropertyAdd) -> OntologySaved:
    """Add an attribute (datatype property → a typed column) or a relationship (object
    property → a foreign key when functional, else a link table)."""

    def change(model: OntologyModel) -> OntologyModel:
        if params.kind == "datatype":
            if len(params.range) > 1:
                raise InvalidEdit("a datatype property has exactly one datatype as its range")
            return add_datatype_property(
                model,
                params.property_name,
                domain=params.domain,
                range=params.range[0] if params.range else "xsd:string",
                functional=True if params.functional is None else params.functional,
                label=params.label,
                comment=params.comment,
            )
        return add_object_property(
            model,
            params.property_name,
            domain=params.domain,
            range=params.range,
            functional=bool(params.functional),
            label=params.label,
            comment=params.comment,
        )

    return _edit(ctx, params, change, "domain", "property_name")


@operation(method="PATCH", path=ONE + "/properties", scope=Scope.WRITE, idempotent=True, tags=TAGS)
def update_ontology_property(ctx: ServiceContext, params: PropertyChange) -> OntologySaved:
    """Change a property's label, comment, kind, domain, range or functional flag."""
    names = {"label", "comment", "kind", "domain", "range", "functional"}
    fields = params.model_fields_set & names
    patch = PropertyPatch(**{f: getattr(params, f) for f in fields})
    return _edit(ctx, params, lambda m: update_property(m, params.ref, patch), "ref")


@operation(method="POST", path=ONE + "/properties/rename", scope=Scope.WRITE, tags=TAGS)
def rename_ontology_property(ctx: ServiceContext, params: ElementRename) -> OntologySaved:
    """Rename a property and every reference to it (keys, axioms); a new column gets the
    new name, the old column and its values stay."""
    return _edit(
        ctx, params, lambda m: rename_property(m, params.ref, params.new_name), "ref", "new_name"
    )


@operation(
    method="DELETE",
    path=ONE + "/properties",
    scope=Scope.WRITE,
    destructive=True,
    idempotent=False,
    tags=TAGS,
)
def delete_ontology_property(ctx: ServiceContext, params: ElementDelete) -> OntologySaved:
    """Delete a property (refused while a key uses it, unless `cascade`); its column stays."""
    return _edit(
        ctx, params, lambda m: delete_property(m, params.ref, cascade=params.cascade), "ref"
    )


@operation(method="PUT", path=ONE + "/key", scope=Scope.WRITE, idempotent=True, tags=TAGS)
def set_ontology_key(ctx: ServiceContext, params: KeySet) -> OntologySaved:
    """Set (or clear) a class's key (owl:hasKey): its table's primary key."""
    return _edit(
        ctx, params, lambda m: set_key(m, params.class_ref, params.properties), "properties"
    )
