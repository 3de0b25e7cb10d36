"""Compile an `OntologyModel` into a `storage_plugins.schema.TabularSchema`.

Rules (the twin, model features and the row mapper all rely on them):

* **class → table** (``kind="entity"``), named by the storage naming rule
  (`to_identifier` + `NameAllocator`, seeded with the previous schema so recompiling never
  renames an existing table or column).
* **primary key**: a class hierarchy shares one identity. The key is the ``owl:hasKey`` of
  the hierarchy's root class (the topmost superclass within the ontology; with several
  roots, the first by IRI); when the root has none, every table of the hierarchy gets a
  surrogate ``mimir_id`` column (string, derived by the row mapper: from the record's
  ``@id``, else from the class's own key values, else from the record's content or its
  position under its parent). A subclass's own, different key becomes an index.
* **subclasses: table per class.** Each table holds only the properties declared on its
  class (its domain); a subclass table repeats the shared key columns and has a foreign key
  from them to each direct superclass's table. Writing an ``Employee`` that is a ``Person``
  therefore writes one row to ``person`` (inherited properties) and one to ``employee``.
  Chosen over one table per hierarchy because tables stay narrow, adding a subclass is an
  additive migration, and every property maps to exactly one column.
* **datatype property → typed column** (`column_type_for_xsd`; unknown datatypes and
  ``rdfs:Literal`` become strings, with a note). A property with several domain classes
  gets a column in each class's table.
* **functional object property → foreign-key column(s)** referencing the range class's
  primary key (one column named after the property for a one-column key,
  ``<property>_<key column>`` otherwise).
* **other object property → link table** ``<class>_<property>`` (`link_table`).
* An object property whose range is not exactly one class of the ontology cannot reference
  a table: it is stored as the target's IRI (``anyURI`` column; a JSON list of IRIs when
  not functional), with a note. Properties without a domain are not stored (note).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ontology.errors import CompileError
from ontology.model import (
    DatatypeProperty,
    DateOrder,
    ObjectProperty,
    OntologyClass,
    OntologyModel,
    Property,
    effective_domain,
    effective_range,
    local_name,
)
from ontology.xsd import column_type_for_xsd
from storage_plugins.schema import (
    KEY_TYPES,
    Column,
    ColumnType,
    ForeignKey,
    Index,
    NameAllocator,
    SchemaError,
    Table,
    TabularSchema,
    join_identifiers,
    link_table,
    to_identifier,
)

SURROGATE = "mimir_id"
SURROGATE_LENGTH = 64

FieldKind = Literal["column", "reference", "link", "iri", "iri_list"]


class FieldMapping(BaseModel):
    """Where one property of a class is stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    property: str = Field(description="IRI of the property.")
    names: list[str] = Field(
        description="Record field names that mean this property (local name, label, column)."
    )
    kind: FieldKind = Field(
        description=(
            "column (datatype value), reference (foreign key), link (link-table rows), "
            "iri (target IRI in a column), iri_list (JSON list of target IRIs)."
        )
    )
    table: str = Field(description="Table holding the value (the link table for 'link').")
    columns: list[str] = Field(
        description="Value column(s); for 'link', the link table's target-side columns."
    )
    owner_columns: list[str] = Field(
        default_factory=list,
        description="For 'link': the link table's columns that hold the subject's key.",
    )
    type: ColumnType | None = Field(default=None, description="Type of a 'column' value.")
    datatype: str | None = Field(default=None, description="XSD datatype IRI of the values.")
    target: str | None = Field(default=None, description="Target class IRI of references.")
    date_order: DateOrder | None = Field(
        default=None, description="How non-ISO day/month dates of the source are ordered."
    )
    match_on: str | None = Field(
        default=None,
        description="For references and links: IRI of the target's unique datatype property "
        "that source values hold instead of its key (looked up when loading).",
    )


class ClassMapping(BaseModel):
    """Where one class is stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    class_iri: str = Field(description="IRI of the class.")
    name: str = Field(description="Local name of the class.")
    table: str = Field(description="The class's table.")
    root: str = Field(description="IRI of the hierarchy root whose identity the class shares.")
    key_columns: list[str] = Field(description="Primary-key columns, in key order.")
    key_properties: list[str | None] = Field(
        description="Property IRI behind each key column (None for the surrogate)."
    )
    key_types: list[ColumnType] = Field(description="Type of each key column.")
    own_key: list[str] = Field(
        default_factory=list,
        description="The class's own owl:hasKey properties when they are not the table key.",
    )
    superclasses: list[str] = Field(
        default_factory=list, description="Superclass IRIs that have tables (direct ones)."
    )
    fields: list[FieldMapping] = Field(
        default_factory=list, description="Properties declared on this class."
    )

    @property
    def surrogate(self) -> bool:
        """True when rows are identified by the generated ``mimir_id``."""
        return self.key_columns == [SURROGATE] and self.key_properties == [None]


class SchemaMapping(BaseModel):
    """The compiled schema and how each class and property maps onto it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tabular: TabularSchema = Field(description="The schema to apply to storage.")
    classes: list[ClassMapping] = Field(description="One mapping per class.")
    instance_base: str = Field(description="IRI prefix of instances (R2RML subject IRIs).")
    notes: list[str] = Field(
        default_factory=list, description="Properties or keys that could not be mapped as is."
    )

    def class_mapping(self, ref: str) -> ClassMapping:
        """Mapping of a class given by IRI, local name or table name."""
        for cm in self.classes:
            if ref in (cm.class_iri, cm.name, cm.table):
                return cm
        lowered = [cm for cm in self.classes if cm.name.lower() == ref.lower()]
        if len(lowered) == 1:
            return lowered[0]
        from ontology.errors import UnknownElement

        raise UnknownElement("class", ref, [cm.name for cm in self.classes])

    def lineage(self, ref: str) -> list[ClassMapping]:
        """The class and all its superclasses that have tables, nearest first."""
        out: list[ClassMapping] = []
        queue = [self.class_mapping(ref)]
        while queue:
            cm = queue.pop(0)
            if cm in out:
                continue
            out.append(cm)
            queue.extend(self.class_mapping(s) for s in cm.superclasses)
        return out


# --------------------------------------------------------------------------- helpers

def _datatype_column_type(prop: DatatypeProperty, notes: list[str]) -> ColumnType:
    if prop.range is None or prop.range.endswith("#Literal"):
        return ColumnType.STRING
    try:
        return column_type_for_xsd(prop.range)
    except SchemaError:
        notes.append(f"{prop.name}: datatype <{prop.range}> has no column type; stored as string")
        return ColumnType.STRING


def _roots(model: OntologyModel, iri: str) -> list[str]:
    known = model.class_iris
    lineage = [iri, *model.ancestors(iri)]
    roots = [c for c in lineage if c in known
             and not [s for s in model.get_class(c).superclasses if s in known and s != c]]
    return sorted(roots) or [iri]


class _KeySpec:
    def __init__(self, columns: list[str], props: list[str | None], types: list[ColumnType],
                 lengths: list[int | None]) -> None:
        self.columns = columns
        self.props = props
        self.types = types
        self.lengths = lengths


def _key_spec(model: OntologyModel, cls: OntologyClass, notes: list[str],
              names: NameAllocator) -> _KeySpec | None:
    """Key columns from the class's own owl:hasKey, else None. Key properties are datatype
    properties, or references whose column holds the target's one-column key (a link table
    keyed by its two foreign keys)."""
    if not cls.key:
        return None
    cols: list[str] = []
    props: list[str | None] = []
    types: list[ColumnType] = []
    lengths: list[int | None] = []
    for iri in cls.key:
        prop = model.element(iri)
        if isinstance(prop, ObjectProperty):
            ctype_or_none = _reference_key_type(model, prop, notes)
            if ctype_or_none is None:
                notes.append(f"{cls.name}: key property {prop.name} is a reference that cannot "
                             "be a key column; a surrogate key is used")
                return None
            ctype = ctype_or_none
        elif not isinstance(prop, DatatypeProperty):
            notes.append(f"{cls.name}: key property {local_name(iri)} is not a datatype "
                         "property; a surrogate key is used")
            return None
        else:
            ctype = _datatype_column_type(prop, notes)
        if ctype not in KEY_TYPES:
            notes.append(f"{cls.name}: key property {prop.name} has type {ctype.value}, which "
                         "cannot be a key; a surrogate key is used")
            return None
        cols.append(names.assign(iri))
        props.append(iri)
        types.append(ctype)
        lengths.append(None)
    return _KeySpec(cols, props, types, lengths)


def _reference_key_type(model: OntologyModel, prop: ObjectProperty,
                        notes: list[str]) -> ColumnType | None:
    """The column type of a functional reference that is part of a key: the type of its
    target's own single datatype key; None when it cannot be a key column."""
    targets = effective_range(prop)
    if not prop.functional or prop.match_on or len(targets) != 1 \
            or targets[0] not in model.class_iris:
        return None
    target = model.get_class(targets[0])
    if len(target.key) != 1 or [s for s in target.superclasses if s in model.class_iris]:
        return None
    key_prop = model.element(target.key[0])
    if not isinstance(key_prop, DatatypeProperty):
        return None
    return _datatype_column_type(key_prop, notes)


# --------------------------------------------------------------------------- compiler

@dataclass
class _Compilation:
    """What the three passes of one `compile_schema` call share."""

    model: OntologyModel
    classes: list[OntologyClass]
    notes: list[str]
    prev_tables: dict[str, Table]
    table_names: NameAllocator
    table_of: dict[str, str]
    allocators: dict[str, NameAllocator]
    own_keys: dict[str, _KeySpec | None] = field(default_factory=dict)
    keys: dict[str, _KeySpec] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    mappings: dict[str, ClassMapping] = field(default_factory=dict)
    link_specs: list[tuple[OntologyClass, ObjectProperty, OntologyClass]] = field(
        default_factory=list
    )


def _start(model: OntologyModel, previous: TabularSchema | None) -> _Compilation:
    """Table names for every class and a column-name allocator per table, seeded with the
    previous schema so recompiling never renames an existing table or column."""
    prev_tables = {t.name: t for t in (previous.tables if previous else [])}
    table_names = NameAllocator.for_tables(previous) if previous else NameAllocator()
    classes = list(model.classes)
    table_of = {c.iri: table_names.assign(c.iri) for c in classes}
    allocators: dict[str, NameAllocator] = {}
    for c in classes:
        prev = prev_tables.get(table_of[c.iri])
        allocators[c.iri] = NameAllocator.for_columns(prev) if prev else NameAllocator()
    return _Compilation(model=model, classes=classes, notes=[], prev_tables=prev_tables,
                        table_names=table_names, table_of=table_of, allocators=allocators)


def _assign_keys(run: _Compilation) -> None:
    """Pass 1: the key of every table, shared by each class hierarchy (its root's key, else
    the surrogate)."""
    for c in run.classes:
        run.own_keys[c.iri] = _key_spec(run.model, c, run.notes, NameAllocator())
    for c in run.classes:
        root = _roots(run.model, c.iri)[0]
        run.roots[c.iri] = root
        spec = run.own_keys.get(root)
        names = run.allocators[c.iri]
        if spec is None:
            names.reserve(SURROGATE)
            run.keys[c.iri] = _KeySpec([SURROGATE], [None], [ColumnType.STRING],
                                       [SURROGATE_LENGTH])
        else:
            cols = [names.assign(p) if p else SURROGATE for p in spec.props]
            run.keys[c.iri] = _KeySpec(cols, list(spec.props), list(spec.types),
                                       list(spec.lengths))
        if run.own_keys.get(c.iri) is not None and root != c.iri:
            run.notes.append(f"{c.name}: its own key is kept as an index; the table uses the "
                             f"key of {local_name(root)}")


def _build_entity_tables(run: _Compilation) -> None:
    """Pass 2: one table per class with its key, columns, foreign keys and indexes;
    non-functional object properties are set aside for pass 3."""
    props_by_class: dict[str, list[Property]] = {c.iri: [] for c in run.classes}
    for prop in run.model.properties:
        domain = [d for d in effective_domain(prop) if d in props_by_class]
        if not domain:
            run.notes.append(f"{prop.name}: no domain class in the ontology; not stored")
        for d in domain:
            props_by_class[d].append(prop)
    for c in run.classes:
        _build_entity_table(run, c, props_by_class[c.iri])


def _build_entity_table(run: _Compilation, c: OntologyClass, props: list[Property]) -> None:
    key = run.keys[c.iri]
    names = run.allocators[c.iri]
    columns = [
        Column(name=col, type=t, nullable=False, max_length=length, source=p)
        for col, t, length, p in zip(key.columns, key.types, key.lengths, key.props,
                                     strict=True)
    ]
    fks: list[ForeignKey] = []
    fields: list[FieldMapping] = []
    for prop in props:
        mapped = _map_property(run.model, c, prop, names, columns, fks, run.keys, run.table_of,
                               key, run.notes, run.link_specs)
        if mapped is not None:
            fields.append(mapped)
    supers = [s for s in c.superclasses if s in run.table_of and s != c.iri]
    for s in supers:
        if run.keys[s].types == key.types:
            fks.append(ForeignKey(columns=list(key.columns), references=run.table_of[s],
                                  ref_columns=list(run.keys[s].columns),
                                  description=f"{c.name} is a {local_name(s)}"))
        else:
            run.notes.append(f"{c.name}: its key differs from superclass {local_name(s)}'s; "
                             "no foreign key to it")
    indexes = []
    own = run.own_keys.get(c.iri)
    own_props: list[str] = []
    if own is not None and run.roots[c.iri] != c.iri:
        own_props = [p for p in own.props if p]
        by_source = {col.source: col.name for col in columns}
        own_cols = [by_source[p] for p in own_props if p in by_source]
        if own_cols and own_cols != key.columns:
            indexes.append(Index(columns=own_cols))
    # Relationship columns are what joins and "entities linked to X" filters look up (the
    # twin's SPARQL, one-hop features): index each, or every such lookup scans the table.
    for fk in fks:
        already = [ix.columns for ix in indexes]
        if fk.columns != key.columns[: len(fk.columns)] and fk.columns not in already:
            indexes.append(Index(columns=list(fk.columns)))
    try:
        run.tables[c.iri] = Table(
            name=run.table_of[c.iri], columns=columns, primary_key=list(key.columns),
            foreign_keys=fks, indexes=indexes, source=c.iri,
            description=c.comment or c.label,
        )
    except ValueError as exc:
        raise CompileError(f"class {c.name}: {exc}") from exc
    run.mappings[c.iri] = ClassMapping(
        class_iri=c.iri, name=c.name, table=run.table_of[c.iri], root=run.roots[c.iri],
        key_columns=list(key.columns), key_properties=list(key.props),
        key_types=list(key.types), own_key=own_props, superclasses=supers, fields=fields,
    )


def _build_link_tables(run: _Compilation) -> list[Table]:
    """Pass 3: link tables (named <class table>_<property>; kept from the previous schema)."""
    previous_links = {t.source: t.name for t in run.prev_tables.values()
                      if t.kind == "link" and t.source}
    link_tables: list[Table] = []
    for c, prop, target in run.link_specs:
        multi = len([d for d in effective_domain(prop) if d in run.table_of]) > 1
        source_key = f"{prop.iri}@{c.iri}" if multi else prop.iri
        name = previous_links.get(source_key) or run.table_names.assign(
            join_identifiers(run.table_of[c.iri], to_identifier(prop.iri)))
        left, right = run.tables[c.iri], run.tables[target.iri]
        try:
            link = link_table(name, left, right, source=prop.iri,
                              description=f"{c.name}.{prop.name} → {target.name}")
        except (SchemaError, ValueError) as exc:
            raise CompileError(f"link table for {prop.name}: {exc}") from exc
        link_tables.append(link)
        n_left = len(left.primary_key)
        mapped = FieldMapping(
            property=prop.iri, names=_names(prop), kind="link", table=name,
            columns=link.column_names[n_left:], owner_columns=link.column_names[:n_left],
            target=target.iri, match_on=prop.match_on,
        )
        cm = run.mappings[c.iri]
        run.mappings[c.iri] = cm.model_copy(update={"fields": [*cm.fields, mapped]})
    return link_tables


def compile_schema(
    model: OntologyModel,
    *,
    previous: TabularSchema | None = None,
    instance_base: str | None = None,
) -> SchemaMapping:
    """Compile `model` into tables (see the module docstring for the rules).

    Raises `CompileError` when the result is not a valid schema.

    >>> from ontology.extract import extract
    >>> m = extract({"customers": [{"id": 1}, {"id": 2}],
    ...              "orders": [{"no": "A", "customer_id": 1}, {"no": "B", "customer_id": 2}]},
    ...             base_iri="http://ex.org/shop#").model
    >>> s = compile_schema(m).tabular
    >>> s.table("order").column_names, s.table("order").foreign_keys[0].references
    (['no', 'customer_id'], 'customer')
    """
    run = _start(model, previous)
    _assign_keys(run)
    _build_entity_tables(run)
    link_tables = _build_link_tables(run)
    try:
        schema = TabularSchema(
            tables=[run.tables[c.iri] for c in run.classes] + link_tables,
            source=model.iri, description=model.label,
        )
    except ValueError as exc:
        raise CompileError(str(exc)) from exc
    base = instance_base or (model.namespace.rstrip("#/") + "/data/")
    return SchemaMapping(
        tabular=schema, classes=[run.mappings[c.iri] for c in run.classes], instance_base=base,
        notes=run.notes,
    )


def _names(prop: Property) -> list[str]:
    out = [prop.name]
    for extra in (prop.label, (prop.column or "").split(".")[-1] or None):
        if extra and extra not in out:
            out.append(extra)
    return out


def _map_property(
    model: OntologyModel,
    cls: OntologyClass,
    prop: Property,
    names: NameAllocator,
    columns: list[Column],
    fks: list[ForeignKey],
    keys: dict[str, _KeySpec],
    table_of: dict[str, str],
    key: _KeySpec,
    notes: list[str],
    link_specs: list[tuple[OntologyClass, ObjectProperty, OntologyClass]],
) -> FieldMapping | None:
    """Add the column(s) of one property to a table under construction."""
    existing = {c.name for c in columns}
    if isinstance(prop, DatatypeProperty):
        ctype = _datatype_column_type(prop, notes)
        if prop.iri in key.props:
            col = key.columns[key.props.index(prop.iri)]
        else:
            col = names.assign(prop.iri)
            columns.append(Column(name=col, type=ctype, source=prop.iri,
                                  description=prop.comment))
        return FieldMapping(property=prop.iri, names=_names(prop), kind="column",
                            table=table_of[cls.iri], columns=[col], type=ctype,
                            datatype=prop.range, date_order=prop.date_order)
    targets = [r for r in effective_range(prop) if r in table_of]
    if len(targets) != 1 or len(effective_range(prop)) != 1:
        col = names.assign(prop.iri)
        kind: FieldKind = "iri" if prop.functional else "iri_list"
        columns.append(Column(
            name=col, type=ColumnType.ANY_URI if prop.functional else ColumnType.JSON,
            source=prop.iri, description=prop.comment,
        ))
        notes.append(f"{cls.name}.{prop.name}: range is not exactly one class of the "
                     f"ontology; stored as {'an IRI' if prop.functional else 'a JSON list'}")
        return FieldMapping(property=prop.iri, names=_names(prop), kind=kind,
                            table=table_of[cls.iri], columns=[col])
    target = model.get_class(targets[0])
    if not prop.functional:
        link_specs.append((cls, prop, target))
        return None
    tkey = keys[target.iri]
    if prop.iri in key.props and len(tkey.columns) == 1:  # the reference is a key column
        col = key.columns[key.props.index(prop.iri)]
        fks.append(ForeignKey(columns=[col], references=table_of[target.iri],
                              ref_columns=list(tkey.columns), source=prop.iri))
        return FieldMapping(property=prop.iri, names=_names(prop), kind="reference",
                            table=table_of[cls.iri], columns=[col], target=target.iri)
    base = names.assign(prop.iri)
    if len(tkey.columns) == 1:
        fk_cols = [base]
    else:
        fk_cols = [base] + [join_identifiers(base, c) for c in tkey.columns[1:]]
        fk_cols[0] = join_identifiers(base, tkey.columns[0])
    for col, t, length in zip(fk_cols, tkey.types, tkey.lengths, strict=True):
        if col in existing:
            raise CompileError(f"{cls.name}.{prop.name}: column {col!r} is taken")
        names.reserve(col)
        columns.append(Column(name=col, type=t, max_length=length, source=prop.iri,
                              description=prop.comment))
    fks.append(ForeignKey(columns=fk_cols, references=table_of[target.iri],
                          ref_columns=list(tkey.columns), source=prop.iri))
    return FieldMapping(property=prop.iri, names=_names(prop), kind="reference",
                        table=table_of[cls.iri], columns=fk_cols, target=target.iri,
                        match_on=prop.match_on)


def tables_for(mapping: SchemaMapping, classes: Sequence[str]) -> list[str]:
    """Tables a write of the given classes touches (lineage tables and link tables)."""
    out: list[str] = []
    for ref in classes:
        for cm in mapping.lineage(ref):
            for t in [cm.table, *(f.table for f in cm.fields)]:
                if t not in out:
                    out.append(t)
    return out
