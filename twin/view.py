"""The virtual RDF view: the triples the R2RML mapping defines, read from storage on demand.

Nothing is copied. Every triple-pattern lookup becomes storage reads of the tables that can
hold matching triples, with the bound parts pushed down as filters:

================================  ==============================================
pattern                           storage read
================================  ==============================================
``<e> ?p ?o``                     key lookup in each table of e's hierarchy
``?s rdf:type <C>``               key columns of C's table
``?s <attr> ?o``                  key + value column, ``value IS NOT NULL``
``?s <attr> "lit"``               ``value = lit`` (the term is checked exactly)
``?s <ref> <e>``                  ``fk = key(e)``
``?s <rel> ?o`` (link table)      the link table, either side filtered when bound
``?s ?p ?o``                      every table (export, DESCRIBE of everything)
================================  ==============================================

Subjects bound to an IRI that is not one of the twin's entity IRIs, and predicates the
mapping does not know, match nothing without touching storage.

A view made with ``as_of=<instant>`` is the same view of the past: every read above is the
storage plugin's temporal read (``read(..., as_of=)``, ``count(..., as_of=)``: history
tables on SQL backends, Delta time travel on the object store), so nothing else changes
and an instant before any data gives an empty view. Storage indexes (primary
keys, the foreign-key and link-table indexes of the SQL plugin; row-group statistics of
the object store) answer the lookups.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from rdflib import Literal as RDFLiteral
from rdflib import URIRef
from rdflib.namespace import RDF as RDF_NS
from rdflib.term import Node

from ml.names import KEY_SEPARATOR, predictions_table_name
from ontology.compile import ClassMapping, FieldMapping, SchemaMapping
from ontology.rows import convert
from storage_plugins.base import StoragePlugin
from storage_plugins.errors import StorageError
from storage_plugins.history import check_as_of
from storage_plugins.query import Filter, OrderBy
from storage_plugins.schema import Column, Table
from twin.errors import HistoryUnavailable
from twin.iri import EntityRef, entity_iri, literal, literal_datatype, parse_entity, value_of

Triple = tuple[Node, Node, Node]
MEMO_ROWS = 200_000
SourceKind = Literal["type", "column", "reference", "link", "iri", "iri_list", "prediction"]
PREDICTION_COLUMNS = ("prediction", "prediction_value")
BATCH = 5000


@dataclass(frozen=True)
class Source:
    """One kind of triple one table produces (a class membership or one property)."""

    kind: SourceKind
    mapping: SchemaMapping
    cm: ClassMapping
    table: Table
    subject_columns: tuple[str, ...]
    predicate: URIRef
    field: FieldMapping | None = None
    target: ClassMapping | None = None
    model_version: int | None = None

    @property
    def object_columns(self) -> tuple[str, ...]:
        """The columns the object comes from (none for rdf:type)."""
        if self.kind == "prediction":
            return PREDICTION_COLUMNS
        return tuple(self.field.columns) if self.field is not None else ()

    def fixed_where(self) -> list[Filter]:
        """Conditions every read of the source carries (a model's shown version)."""
        if self.kind == "prediction":
            return [Filter("model_version", "eq", self.model_version)]
        return []

    def complete(self, row: dict[str, Any]) -> bool:
        """Whether a read row yields a triple (no NULL object part)."""
        if self.kind == "prediction":
            return row["prediction"] is not None
        return all(row[c] is not None for c in self.object_columns)

    def column(self) -> Column:
        """The value column of a literal-valued source."""
        return self.table.column(self.object_columns[0])

    @property
    def datatype(self) -> str | None:
        """The literal datatype of a 'column' source."""
        return literal_datatype(self.field, self.column())


@dataclass(frozen=True)
class ModelBinding:
    """A model whose stored batch predictions the view shows on its class's entities."""

    name: str
    class_iri: str

    @property
    def table(self) -> str:
        """The model's predictions table (written by the `infer` flow)."""
        return predictions_table_name(self.name)


def prediction_iri(mapping: SchemaMapping, model: str) -> URIRef:
    """The property of a model's prediction: ``<instance base>model/<model>#prediction``."""
    return URIRef(f"{mapping.instance_base}model/{model}#prediction")


def entity_key(mapping: SchemaMapping, cm: ClassMapping, text: str) -> tuple[Any, ...]:
    """Key values from an entity id text (`ml.frame.entity_id`); None parts when invalid."""
    table = mapping.tabular.table(cm.table)
    parts = [text] if len(cm.key_columns) == 1 else text.split(KEY_SEPARATOR)
    if len(parts) != len(cm.key_columns):
        return (None,)
    out: list[Any] = []
    for column, part in zip(cm.key_columns, parts, strict=True):
        try:
            out.append(convert(part, table.column(column)))
        except (ValueError, TypeError, ArithmeticError):
            out.append(None)
    return tuple(out)


def _checked(store: StoragePlugin, as_of: datetime | None) -> datetime | None:
    """`as_of` in UTC, or HistoryUnavailable when the store cannot answer it."""
    if as_of is None:
        return None
    if not store.supports_history:
        raise HistoryUnavailable(f"storage plugin {store.name!r} keeps no history: "
                                 "as_of cannot be answered")
    try:
        return check_as_of(as_of)
    except StorageError as exc:
        raise HistoryUnavailable(f"as_of: {exc}") from None


def _sources(mapping: SchemaMapping) -> list[Source]:
    out: list[Source] = []
    tables = {t.name: t for t in mapping.tabular.tables}
    for cm in mapping.classes:
        table = tables[cm.table]
        key = tuple(cm.key_columns)
        out.append(Source("type", mapping, cm, table, key, RDF_NS.type))
        for f in cm.fields:
            pred = URIRef(f.property)
            if f.kind == "link":
                assert f.target is not None
                out.append(Source("link", mapping, cm, tables[f.table], tuple(f.owner_columns),
                                  pred, f, mapping.class_mapping(f.target)))
            elif f.kind == "reference":
                assert f.target is not None
                out.append(Source("reference", mapping, cm, table, key, pred, f,
                                  mapping.class_mapping(f.target)))
            else:
                out.append(Source(f.kind, mapping, cm, table, key, pred, f))
    return out


@dataclass
class _Index:
    """One source's triples by subject key and by object, for the length of one query."""

    by_subject: dict[tuple[Any, ...], list[Triple]] = field(default_factory=dict)
    by_object: dict[Node, list[Triple]] = field(default_factory=dict)


class TwinView:
    """The RDF view of one store through one or more ontology mappings (read-only).

    Example:
        >>> view = TwinView(store, [mapping])  # doctest: +SKIP
        >>> next(view.triples(None, RDF.type, URIRef("http://ex.org/shop#Order")))  # doctest: +SKIP
    """

    def __init__(self, store: StoragePlugin, mappings: list[SchemaMapping], *,
                 as_of: datetime | None = None, models: Sequence[ModelBinding] = ()) -> None:
        self.store = store
        self.as_of = _checked(store, as_of)
        self.memo: dict[int, _Index | None] | None = None
        self.mappings = list(mappings)
        self.sources: list[Source] = [s for m in self.mappings for s in _sources(m)]
        self.names: dict[URIRef, str] = {}
        for binding in models:
            src = self._prediction_source(binding)
            if src is not None:
                self.sources.append(src)
                self.names[src.predicate] = f"{binding.name}.prediction"
        self.by_predicate: dict[URIRef, list[Source]] = {}
        for src in self.sources:
            self.by_predicate.setdefault(src.predicate, []).append(src)
        self.class_sources: dict[URIRef, list[Source]] = {}
        for src in self.sources:
            if src.kind == "type":
                self.class_sources.setdefault(URIRef(src.cm.class_iri), []).append(src)

    # ------------------------------------------------------------------ lookups

    def triples(self, s: Node | None, p: Node | None, o: Node | None) -> Iterator[Triple]:
        """Every triple of the view matching the pattern (None = any)."""
        if p is not None:
            candidates = self.by_predicate.get(p, []) if isinstance(p, URIRef) else []
        elif o is not None and isinstance(o, URIRef) and o in self.class_sources:
            candidates = [src for src in self.sources
                          if src.kind != "type" or src.cm.class_iri == str(o)]
        else:
            candidates = self.sources
        ref: EntityRef | None = None
        if s is not None:
            ref = parse_entity(self.mappings, s)
            if ref is None:
                return
            candidates = [src for src in candidates
                          if src.mapping is ref.mapping and src.cm.root == ref.root.class_iri]
        for src in candidates:
            yield from self._scan(src, ref, o)

    def for_one_query(self) -> TwinView:
        """A view that indexes each table it looks up in, for the length of one query.

        rdflib's evaluator joins by nested loops: one lookup per binding. Within one query,
        a source's rows are read once (up to `MEMO_ROWS` rows) and answered from a dict by
        subject and by object afterwards; bigger sources are read per lookup. Nothing
        outlives the query, so every query still sees storage as it is.
        """
        view = copy.copy(self)
        view.memo = {}
        return view

    def _prediction_source(self, binding: ModelBinding) -> Source | None:
        """The source of a model's stored predictions: the newest version in its table at
        the view's instant (None when it has none, or its class is not in the twin)."""
        for mapping in self.mappings:
            found = [cm for cm in mapping.classes if cm.class_iri == binding.class_iri]
            if found and binding.table in self.store.tables():
                newest = self.store.read(binding.table, columns=["model_version"],
                                         order_by=[OrderBy(column="model_version",
                                                           descending=True)],
                                         limit=1, as_of=self.as_of).rows
                if not newest:
                    return None
                return Source("prediction", mapping, found[0], self.store.describe(binding.table),
                              ("entity",), prediction_iri(mapping, binding.name),
                              model_version=int(newest[0]["model_version"]))
        return None

    def count(self) -> int:
        """Number of triples in the view (one storage count per source)."""
        total = 0
        for src in self.sources:
            cols = src.object_columns
            where = [Filter(cols[0], "is_null", False)] if cols and src.kind != "link" else []
            where += src.fixed_where()
            total += self.rows(src.table.name, where) if src.kind != "iri_list" \
                else sum(1 for _ in self._scan(src, None, None))
        return total

    # ------------------------------------------------------------------ storage reads

    def rows(self, table: str, where: Sequence[Filter] = ()) -> int:
        """Rows of `table` matching `where`, at the view's instant."""
        return self.store.count(table, where=where, as_of=self.as_of)

    def batches(self, table: str, *, where: Sequence[Filter] = (),
                columns: Sequence[str] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Rows of `table` in batches, at the view's instant.

        The present streams (`iter_batches`); a past instant pages through `read` with its
        cursor, since only `read` and `count` take `as_of`.
        """
        if self.as_of is None:
            yield from self.store.iter_batches(table, where=where, columns=columns,
                                               batch_size=BATCH)
            return
        cursor: str | None = None
        limit = min(BATCH, self.store.config.max_page_rows)
        while True:
            page = self.store.read(table, where=where, columns=columns, limit=limit,
                                   cursor=cursor, as_of=self.as_of)
            if page.rows:
                yield page.rows
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # ------------------------------------------------------------------ one source

    def _scan(self, src: Source, ref: EntityRef | None, o: Node | None) -> Iterator[Triple]:
        if self.memo is not None and (ref is not None or o is not None):
            index = self._index(src)
            if index is not None:
                if ref is not None:
                    found = index.by_subject.get(ref.key, [])
                    yield from (t for t in found if o is None or t[2] == o)
                else:
                    assert o is not None
                    yield from index.by_object.get(o, [])
                return
        yield from self._read(src, ref, o)

    def _index(self, src: Source) -> _Index | None:
        assert self.memo is not None
        if id(src) in self.memo:
            return self.memo[id(src)]
        index: _Index | None = _Index()
        if self.rows(src.table.name, src.fixed_where()) > MEMO_ROWS:
            index = None
        else:
            assert index is not None
            cols = src.subject_columns
            columns = list(dict.fromkeys([*cols, *src.object_columns]))
            for batch in self.batches(src.table.name, columns=columns,
                                      where=src.fixed_where()):
                for row in batch:
                    key = self._key(src, row)
                    for triple in self._row_triples(src, row) if src.complete(row) else ():
                        index.by_subject.setdefault(key, []).append(triple)
                        index.by_object.setdefault(triple[2], []).append(triple)
        self.memo[id(src)] = index
        return index

    def _key(self, src: Source, row: dict[str, Any]) -> tuple[Any, ...]:
        """The subject's key (a prediction row names it by the entity id text)."""
        if src.kind == "prediction":
            return entity_key(src.mapping, src.cm, row["entity"])
        return tuple(row[c] for c in src.subject_columns)

    def _read(self, src: Source, ref: EntityRef | None, o: Node | None) -> Iterator[Triple]:
        where: list[Filter] = src.fixed_where()
        check: Node | None = None
        if src.kind == "prediction":  # the entity id text; the value is checked after reading
            if ref is not None:
                where.append(Filter("entity", "eq", KEY_SEPARATOR.join(str(v) for v in ref.key)))
            check = o
        elif ref is not None:
            where += [Filter(c, "eq", v) for c, v in zip(src.subject_columns, ref.key, strict=True)]
        if src.kind == "prediction":
            pass  # nothing more to push down
        elif src.kind == "type":
            if o is not None and o != URIRef(src.cm.class_iri):
                return
        elif src.kind == "column":
            if o is not None:
                ok, value = value_of(o, src.column(), src.datatype)
                if not ok:
                    return
                where.append(Filter(src.object_columns[0], "eq", value))
            else:
                where.append(Filter(src.object_columns[0], "is_null", False))
        elif src.kind in ("reference", "link"):
            assert src.target is not None
            if o is not None:
                target = parse_entity([src.mapping], o)
                if target is None or target.root.class_iri != src.target.root:
                    return
                where += [Filter(c, "eq", v)
                          for c, v in zip(src.object_columns, target.key, strict=True)]
            elif src.kind == "reference":
                where += [Filter(c, "is_null", False) for c in src.object_columns]
        elif src.kind == "iri":
            if o is not None:
                if not isinstance(o, URIRef):
                    return
                where.append(Filter(src.object_columns[0], "eq", str(o)))
            else:
                where.append(Filter(src.object_columns[0], "is_null", False))
        else:  # iri_list: a JSON literal (R2RML: rdf:JSON), matched after reading
            where.append(Filter(src.object_columns[0], "is_null", False))
            check = o
        columns = list(dict.fromkeys([*src.subject_columns, *src.object_columns]))
        for batch in self.batches(src.table.name, where=where, columns=columns):
            for row in batch:
                for triple in self._row_triples(src, row):
                    if check is None or triple[2] == check:
                        yield triple

    def _row_triples(self, src: Source, row: dict[str, Any]) -> Iterator[Triple]:
        return TwinView.row_triples(src, row)

    @staticmethod
    def row_triples(src: Source, row: dict[str, Any]) -> Iterator[Triple]:
        """The triples one stored row of `src`'s table yields (no storage access)."""
        if src.kind == "prediction":
            key = entity_key(src.mapping, src.cm, row["entity"])
            if row["prediction"] is None or None in key:
                return
            value = row["prediction_value"]
            yield (entity_iri(src.mapping, src.cm, list(key)), src.predicate,
                   RDFLiteral(value) if value is not None else RDFLiteral(str(row["prediction"])))
            return
        subject = entity_iri(src.mapping, src.cm, [row[c] for c in src.subject_columns])
        if src.kind == "type":
            yield subject, src.predicate, URIRef(src.cm.class_iri)
        elif src.kind == "column":
            yield subject, src.predicate, literal(row[src.object_columns[0]], src.datatype)
        elif src.kind in ("reference", "link"):
            assert src.target is not None
            yield subject, src.predicate, entity_iri(
                src.mapping, src.target, [row[c] for c in src.object_columns])
        elif src.kind == "iri":
            yield subject, src.predicate, URIRef(str(row[src.object_columns[0]]))
        else:
            values = row[src.object_columns[0]]
            if isinstance(values, str):
                values = json.loads(values)
            yield subject, src.predicate, literal(values, str(RDF_NS.JSON))
