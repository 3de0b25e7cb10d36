"""A scenario's overlay as SQL: each table it touches becomes (kept base rows) UNION ALL (rows).

The evaluator applies a scenario triple by triple (`twin.scenario.ScenarioView`); the SQL
translation needs tables. For every table the overlay can change, `OverlaidTables` gives a
SELECT with the table's columns that holds exactly the rows whose triples are the scenario's:

* a class table: the base rows of entities the scenario does not touch (references to a
  removed entity turned into NULLs, since that triple is hidden), UNION ALL the touched
  entities' rows rebuilt from their triples as the scenario has them (one base read of the
  touched keys, the overlay applied to those triples, the row put back together);
* a link table: base rows minus removed entities on either side and minus every pair the
  scenario adds or removes, UNION ALL the pairs it adds.

Rebuilt rows are ``VALUES`` lists of bound parameters (no text from the edits is spliced in).
Where the rows cannot say what the triples say, `NotTranslatable` sends the query to the
evaluator as before, so an answer is never different, only slower: two values of one
single-valued column or reference (an added relationship on a foreign key that already has
a target), attributes on an entity without a row in that table (an edit of an entity that
does not exist there), one table holding several classes, or a foreign key whose columns
also hold another property while its target is removed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from rdflib import URIRef
from rdflib.namespace import RDF as RDF_NS
from rdflib.term import Node

from twin.errors import NotTranslatable
from twin.iri import EntityRef, literal, parse_entity, value_of
from twin.scenario import Overlay
from twin.view import Source, Triple, TwinView

CHUNK = 400  # rows per VALUES list
_NAMES = itertools.count(1)  # CTE names, unique within a process


class OverlaidTables(Mapping[str, Any]):
    """`tables` with each table the overlay touches replaced by its scenario SELECT.

    Built lazily, table by table, as the translation asks for them: a query that reads no
    table an unexpressible edit touches still runs as SQL, and untouched tables cost nothing.
    """

    def __init__(self, view: TwinView, overlay: Overlay, engine: sa.Engine,
                 tables: dict[str, Any], dialect: str) -> None:
        self.view, self.overlay, self.engine = view, overlay, engine
        self.tables, self.dialect = tables, dialect
        self.done: dict[str, Any] = {}
        self.by_table: dict[str, list[Source]] = {}
        for src in view.sources:
            if src.kind != "prediction":
                self.by_table.setdefault(src.table.name, []).append(src)
        subjects = {t[0] for t in overlay.added | overlay.removed} | {
            s for s, _ in overlay.replaced}
        self.refs: dict[Node, EntityRef] = {}
        for s in subjects | overlay.removed_entities:
            ref = parse_entity(view.mappings, s)
            if ref is not None:
                self.refs[s] = ref
        self.removed_by_root: dict[str, list[tuple[Any, ...]]] = {}
        for e in overlay.removed_entities:
            if e in self.refs:
                self.removed_by_root.setdefault(self.refs[e].root.class_iri, []).append(
                    self.refs[e].key)

    def __getitem__(self, name: str) -> Any:
        if name not in self.done:
            self.done[name] = self._build(name)
        return self.done[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def _build(self, name: str) -> Any:
        table = self.tables[name]
        srcs = self.by_table.get(name, [])
        links = [s for s in srcs if s.kind == "link"]
        if links:
            if len(srcs) != 1:
                raise NotTranslatable(f"link table {name} holds several properties")
            replaced = _link(links[0], self.overlay, table, self.removed_by_root, self.dialect)
        elif srcs:
            with self.engine.connect() as conn:
                replaced = _class_table(name, srcs, self.overlay, self.refs,
                                        self.removed_by_root, conn, table, self.dialect)
        else:
            replaced = None
        return table if replaced is None else replaced


def _class_table(name: str, srcs: list[Source], overlay: Overlay, refs: dict[Node, EntityRef],
                 removed_by_root: dict[str, list[tuple[Any, ...]]], conn: sa.Connection,
                 table: Any, dialect: str) -> Any:
    types = [s for s in srcs if s.kind == "type"]
    if len(types) != 1:
        raise NotTranslatable(f"table {name} holds several classes")
    type_src = types[0]
    root = type_src.cm.root
    touched = {e: r.key for e, r in refs.items() if r.root.class_iri == root
               and r.mapping is type_src.mapping}
    nulled = [s for s in srcs if s.kind == "reference" and s.target is not None
              and s.target.root in removed_by_root]
    if not touched and not nulled:
        return None
    key_cols = list(type_src.subject_columns)
    used: dict[str, int] = {}
    for s in srcs:
        for c in (*s.subject_columns, *s.object_columns) if s.kind != "type" else ():
            used[c] = used.get(c, 0) + 1
    for c in key_cols:
        used[c] = used.get(c, 0) + 1
    columns = list(table.c.keys())
    # base rows of untouched entities; references to removed entities become NULL
    exprs: dict[str, Any] = {c: table.c[c] for c in columns}
    for s in nulled:
        assert s.target is not None
        if any(used[c] > 1 for c in s.object_columns):
            raise NotTranslatable(f"a removed target behind shared columns in {name}")
        gone = _in_keys([table.c[c] for c in s.object_columns], removed_by_root[s.target.root])
        for c in s.object_columns:
            exprs[c] = sa.case((gone, sa.null()), else_=table.c[c])
    base = sa.select(*(exprs[c].label(c) for c in columns)).select_from(table)
    if touched:
        base = base.where(sa.not_(_in_keys([table.c[c] for c in key_cols],
                                           list(touched.values()))))
    rows = _touched_rows(srcs, type_src, overlay, touched, conn, table, key_cols, used)
    return _union(base, rows, table, columns, dialect)


def _touched_rows(srcs: list[Source], type_src: Source, overlay: Overlay,
                  touched: dict[Node, tuple[Any, ...]], conn: sa.Connection, table: Any,
                  key_cols: list[str], used: dict[str, int]) -> list[dict[str, Any]]:
    """The touched entities' rows as the scenario has them (none for an entity it drops)."""
    if not touched:
        return []
    base_rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    keys = list(touched.values())
    for start in range(0, len(keys), CHUNK):
        stmt = sa.select(table).where(_in_keys([table.c[c] for c in key_cols],
                                               keys[start:start + CHUNK]))
        for found in conn.execute(stmt).mappings():
            base_rows[tuple(found[c] for c in key_cols)] = dict(found)
    preds = {s.predicate: s for s in srcs if s.kind != "type"}
    class_iri = URIRef(type_src.cm.class_iri)
    shared = {c for c, n in used.items() if n > 1}
    added_by_subject: dict[Node, list[Triple]] = {}
    for t in overlay.added:
        if t[0] in touched and ((t[1] == RDF_NS.type and t[2] == class_iri) or t[1] in preds):
            added_by_subject.setdefault(t[0], []).append(t)
    out: list[dict[str, Any]] = []
    for e, key in touched.items():
        added = added_by_subject.get(e, [])
        row = None if e in overlay.removed_entities else base_rows.get(tuple(key))
        if row is None and (e, RDF_NS.type, class_iri) not in added:
            if any(t[1] != RDF_NS.type for t in added):
                raise NotTranslatable("scenario values on an entity without a row there")
            continue
        new = dict(row) if row is not None else {c.key: None for c in table.c}
        assigned: dict[str, Any] = dict(zip(key_cols, key, strict=True))
        new.update(assigned)
        kept: list[Source] = []
        for p, s in preds.items():
            objs = [t[2] for t in added if t[1] == p]
            if s.kind not in ("column", "reference"):
                if objs:  # edits never add these; a kept row's base values stay as they are
                    raise NotTranslatable("an IRI or JSON value added by a scenario")
                continue
            if _kept(s, row, e, overlay):
                if objs and objs != [_base_object(s, row)]:
                    raise NotTranslatable("several values of a single-valued property")
                kept.append(s)
                continue
            if len(objs) > 1:
                raise NotTranslatable("several values of a single-valued property")
            values = _stored(s, objs[0]) if objs else [None] * len(s.object_columns)
            for c, v in zip(s.object_columns, values, strict=True):
                if c in shared and assigned.get(c, v) != v:
                    raise NotTranslatable("one column holding two properties' values")
                assigned[c] = v
                new[c] = v
        for s in kept:  # a changed property must not have moved a kept one's shared column
            assert row is not None
            if any(new[c] != row[c] for c in s.object_columns if c in shared):
                raise NotTranslatable("one column holding two properties' values")
        out.append(new)
    return out


def _kept(src: Source, row: dict[str, Any] | None, e: Node, overlay: Overlay) -> bool:
    """Whether `src`'s base triple for `e` exists and the scenario keeps it."""
    if row is None or (e, src.predicate) in overlay.replaced or not src.complete(row):
        return False
    if src.kind == "column" or not (overlay.removed or overlay.removed_entities):
        return True  # only relationships are removed one by one, or with their target
    return not overlay.hides((e, src.predicate, _base_object(src, row)))


def _base_object(src: Source, row: dict[str, Any] | None) -> Node:
    """The object of `src`'s base triple in `row`."""
    assert row is not None
    if src.kind == "column":
        return literal(row[src.object_columns[0]], src.datatype)
    return next(iter(TwinView.row_triples(src, row)))[2]


def _stored(src: Source, obj: Node) -> list[Any]:
    if src.kind == "column":
        ok, value = value_of(obj, src.column(), src.datatype)
        if not ok:
            raise NotTranslatable("a scenario value the column cannot hold")
        return [value]
    assert src.target is not None
    ref = parse_entity([src.mapping], obj)
    if ref is None or ref.root.class_iri != src.target.root:
        raise NotTranslatable("a relationship to an unknown entity")
    return list(ref.key)


def _link(src: Source, overlay: Overlay, table: Any,
          removed_by_root: dict[str, list[tuple[Any, ...]]], dialect: str) -> Any:
    assert src.target is not None
    owner_cols = list(src.subject_columns)
    target_cols = list(src.object_columns)
    changed = [t for t in overlay.added | overlay.removed if t[1] == src.predicate]
    gone_owner = removed_by_root.get(src.cm.root, [])
    gone_target = removed_by_root.get(src.target.root, [])
    if not changed and not gone_owner and not gone_target:
        return None
    pairs: list[tuple[Any, ...]] = []
    rows: list[dict[str, Any]] = []
    for t in changed:
        s_ref = parse_entity([src.mapping], t[0])
        o_ref = parse_entity([src.mapping], t[2])
        if s_ref is None or o_ref is None:
            raise NotTranslatable("a relationship between unknown entities")
        pairs.append((*s_ref.key, *o_ref.key))
        if t in overlay.added:
            rows.append({**dict(zip(owner_cols, s_ref.key, strict=True)),
                         **dict(zip(target_cols, o_ref.key, strict=True))})
    columns = list(table.c.keys())
    conds = []
    if gone_owner:
        conds.append(_in_keys([table.c[c] for c in owner_cols], gone_owner))
    if gone_target:
        conds.append(_in_keys([table.c[c] for c in target_cols], gone_target))
    if pairs:
        conds.append(_in_keys([table.c[c] for c in owner_cols + target_cols], pairs))
    base = sa.select(*(table.c[c] for c in columns)).select_from(table).where(
        sa.not_(sa.or_(*conds)))
    full = [{c: r.get(c) for c in columns} for r in rows]
    return _union(base, full, table, columns, dialect)


def _in_keys(cols: list[Any], keys: list[tuple[Any, ...]]) -> Any:
    """`cols` IN keys, as bound parameters (ORs of ANDs for compound keys)."""
    if not keys:
        return sa.false()
    if len(cols) == 1:
        return cols[0].in_([k[0] for k in keys])
    return sa.or_(*(sa.and_(*(c == v for c, v in zip(cols, k, strict=True))) for k in keys))


def _union(base: Any, rows: list[dict[str, Any]], table: Any, columns: list[str],
           dialect: str) -> Any:
    """base UNION ALL the literal rows: a ``WITH name(cols) AS (VALUES ...)`` per `CHUNK`
    rows, every value a bound parameter typed by its column."""
    if not rows:
        return base
    parts = []
    for start in range(0, len(rows), CHUNK):
        cols = [sa.column(c, table.c[c].type) for c in columns]
        values = sa.values(*cols, name="scenario_rows").data(
            [tuple(r[c] for c in columns) for r in rows[start:start + CHUNK]])
        cte = values.cte(f"scenario_rows_{next(_NAMES)}")
        parts.append(sa.select(*(_typed(cte.c[c], table.c[c].type, dialect).label(c)
                                 for c in columns)))
    return sa.union_all(base, *parts)


def _typed(col: Any, type_: Any, dialect: str) -> Any:
    # PostgreSQL infers a VALUES column's type from its parameters; the cast makes it the
    # stored column's type, so the UNION and the joins compare like with like
    return sa.cast(col, type_) if dialect == "postgresql" else col
