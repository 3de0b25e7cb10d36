"""Which features a model of a class gets, read off the compiled ontology (`SchemaMapping`).

Default features of class C:

* every datatype property of C stored as a column (not the key, not the target):
  ``<property>``;
* for every relationship that touches C, in both directions (a functional property stored as
  a foreign key, or a link table), one hop away:
  ``out.<property>.count`` / ``in.<Class>.<property>.count`` — related entities per entity;
  ``….<attribute>.mean|min|max`` of each numeric attribute of the related class and
  ``….<attribute>.mode`` (most frequent value) of each categorical one.

Numeric: integer, decimal, double, date and dateTime (as days since 1970); categorical:
string, boolean, anyURI. Other column types (time, binary, JSON) are left out, and said so.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ml.errors import MLInputError
from ml.spec import ModelSpec, Task
from ontology.compile import ClassMapping, FieldMapping, SchemaMapping
from ontology.errors import OntologyError
from ontology.model import local_name
from storage_plugins.schema import ColumnType

FeatureKind = Literal["numeric", "categorical"]
Aggregate = Literal["count", "mean", "min", "max", "mode"]

NUMERIC_TYPES = {
    ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.DOUBLE, ColumnType.DATE, ColumnType.DATETIME
}
CATEGORICAL_TYPES = {ColumnType.STRING, ColumnType.BOOLEAN, ColumnType.ANY_URI}
CLASSIFICATION_MAX_INTEGER_VALUES = 20


class Relationship(BaseModel):
    """One hop from the model's class to related entities, and where the pairs are stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        description="Prefix of its features: out.<property> or in.<Class>.<property>.")
    property: str = Field(description="IRI of the object property.")
    direction: Literal["out", "in"] = Field(description="out: C → related; in: related → C.")
    related_class: str = Field(description="IRI of the class at the other end.")
    storage: Literal["reference", "link"] = Field(description="Foreign key or link table.")
    table: str = Field(description="Table holding the pairs (the FK owner or the link table).")
    entity_columns: list[str] = Field(description="Columns of `table` holding C's key.")
    related_columns: list[str] = Field(description="Columns of `table` holding the related key.")


class Feature(BaseModel):
    """One column of the feature table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Column name in the feature table.")
    kind: FeatureKind = Field(description="numeric or categorical.")
    source: Literal["attribute", "relationship"] = Field(description="Where the value comes from.")
    column: str | None = Field(default=None, description="Stored column read (own or related).")
    column_type: str | None = Field(default=None, description="Its storage column type.")
    property: str | None = Field(default=None, description="IRI of the datatype property read.")
    relationship: str | None = Field(default=None, description="Relationship name, if any.")
    aggregate: Aggregate | None = Field(default=None, description="Aggregate over related rows.")
    description: str = Field(description="What the feature means, in words.")


class FeaturePlan(BaseModel):
    """Everything needed to build the feature table of a spec, and to explain it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    class_iri: str = Field(description="IRI of the model's class.")
    class_name: str = Field(description="Local name of the class.")
    table: str = Field(description="The class's table.")
    key_columns: list[str] = Field(description="Key columns identifying an entity.")
    target: str = Field(description="Column of the target property.")
    target_property: str = Field(description="IRI of the target property.")
    target_type: str = Field(description="Storage column type of the target.")
    task: Task = Field(description="classification or regression.")
    features: list[Feature] = Field(description="The features, in column order.")
    relationships: list[Relationship] = Field(description="Relationships the aggregates use.")
    notes: list[str] = Field(default_factory=list, description="What was left out and why.")

    @property
    def feature_names(self) -> list[str]:
        """Names of the features, in order."""
        return [f.name for f in self.features]


def _kind(column_type: ColumnType | None) -> FeatureKind | None:
    if column_type in NUMERIC_TYPES:
        return "numeric"
    if column_type in CATEGORICAL_TYPES:
        return "categorical"
    return None


def _attributes(cm: ClassMapping) -> list[FieldMapping]:
    """Datatype columns of a class that are not part of its key."""
    return [f for f in cm.fields
            if f.kind == "column" and f.columns and f.columns[0] not in cm.key_columns]


def _relationships(mapping: SchemaMapping, cm: ClassMapping) -> list[Relationship]:
    out: list[Relationship] = []
    for f in cm.fields:
        if f.kind not in ("reference", "link") or f.target is None:
            continue
        name = f"out.{local_name(f.property)}"
        if f.kind == "reference":
            out.append(Relationship(
                name=name, property=f.property, direction="out", related_class=f.target,
                storage="reference", table=cm.table, entity_columns=list(cm.key_columns),
                related_columns=list(f.columns)))
        else:
            out.append(Relationship(
                name=name, property=f.property, direction="out", related_class=f.target,
                storage="link", table=f.table, entity_columns=list(f.owner_columns),
                related_columns=list(f.columns)))
    for other in mapping.classes:
        for f in other.fields:
            if f.target != cm.class_iri or f.kind not in ("reference", "link"):
                continue
            name = f"in.{other.name}.{local_name(f.property)}"
            if f.kind == "reference":
                out.append(Relationship(
                    name=name, property=f.property, direction="in", related_class=other.class_iri,
                    storage="reference", table=other.table, entity_columns=list(f.columns),
                    related_columns=list(other.key_columns)))
            else:
                out.append(Relationship(
                    name=name, property=f.property, direction="in", related_class=other.class_iri,
                    storage="link", table=f.table, entity_columns=list(f.columns),
                    related_columns=list(f.owner_columns)))
    return out


def infer_task(target_type: ColumnType, distinct_values: int | None = None) -> Task:
    """classification for string/boolean targets and integers with few values, else regression."""
    if target_type in (ColumnType.STRING, ColumnType.BOOLEAN, ColumnType.ANY_URI):
        return "classification"
    if target_type is ColumnType.INTEGER and (
        distinct_values is None or distinct_values <= CLASSIFICATION_MAX_INTEGER_VALUES
    ):
        return "classification"
    return "regression"


def _target_field(cm: ClassMapping, ref: str) -> FieldMapping:
    for f in cm.fields:
        if f.property == ref or ref in f.names or (f.columns and f.columns[0] == ref):
            if f.kind != "column":
                raise MLInputError(
                    f"target {ref!r} of class {cm.name} is a relationship, not a datatype "
                    "property; pick one of its attributes", field="target")
            return f
    have = ", ".join(local_name(f.property) for f in cm.fields if f.kind == "column")
    raise MLInputError(
        f"target {ref!r} is not a datatype property of class {cm.name}; its datatype "
        f"properties are: {have or '(none)'}", field="target")


def plan_features(
    mapping: SchemaMapping, spec: ModelSpec, *, distinct_target_values: int | None = None
) -> FeaturePlan:
    """The feature table `spec` asks for; `MLInputError` naming the bad field otherwise."""
    try:
        cm = mapping.class_mapping(spec.entity_class)
    except OntologyError as exc:
        raise MLInputError(str(exc), field="entity_class") from None
    target = _target_field(cm, spec.target)
    target_type = target.type or ColumnType.STRING
    if _kind(target_type) is None:
        raise MLInputError(
            f"target {spec.target!r} has type {target_type.value}, which cannot be predicted",
            field="target")
    task: Task = (infer_task(target_type, distinct_target_values)
                  if spec.task == "auto" else spec.task)
    if task == "regression" and _kind(target_type) != "numeric":
        raise MLInputError(
            f"regression needs a numeric target; {spec.target!r} is {target_type.value}",
            field="task")
    notes: list[str] = []
    features: list[Feature] = []
    for f in _attributes(cm):
        if f.property == target.property:
            continue
        kind = _kind(f.type)
        if kind is None:
            notes.append(f"{f.columns[0]}: type {f.type} is not used as a feature")
            continue
        features.append(Feature(
            name=f.columns[0], kind=kind, source="attribute", column=f.columns[0],
            column_type=str(f.type), property=f.property,
            description=f"{cm.name}.{local_name(f.property)}"))
    relationships: list[Relationship] = []
    if spec.relationships:
        for rel in _relationships(mapping, cm):
            related = mapping.class_mapping(rel.related_class)
            relationships.append(rel)
            features.append(Feature(
                name=f"{rel.name}.count", kind="numeric", source="relationship",
                relationship=rel.name, aggregate="count",
                description=f"number of {related.name} entities via {rel.name}"))
            for f in _attributes(related):
                kind = _kind(f.type)
                if kind is None:
                    continue
                aggregates: tuple[Aggregate, ...] = (
                    ("mean", "min", "max") if kind == "numeric" else ("mode",))
                for agg in aggregates:
                    features.append(Feature(
                        name=f"{rel.name}.{f.columns[0]}.{agg}", kind=kind,
                        source="relationship", column=f.columns[0], column_type=str(f.type),
                        property=f.property, relationship=rel.name, aggregate=agg,
                        description=f"{agg} of {related.name}.{local_name(f.property)} "
                                    f"via {rel.name}"))
    features = _select(features, spec)
    if not features:
        raise MLInputError(
            f"no features left for class {cm.name} after include/exclude", field="include")
    return FeaturePlan(
        class_iri=cm.class_iri, class_name=cm.name, table=cm.table,
        key_columns=list(cm.key_columns), target=target.columns[0],
        target_property=target.property, target_type=target_type.value, task=task,
        features=features, relationships=relationships, notes=notes)


def _select(features: list[Feature], spec: ModelSpec) -> list[Feature]:
    names = {f.name for f in features}
    for field, wanted in (("include", spec.include or []), ("exclude", spec.exclude)):
        for name in wanted:
            if name not in names:
                shown = ", ".join(sorted(names)[:40])
                raise MLInputError(
                    f"{field}: unknown feature {name!r}; known features: {shown}", field=field)
    chosen = [f for f in features if spec.include is None or f.name in spec.include]
    return [f for f in chosen if f.name not in spec.exclude]
