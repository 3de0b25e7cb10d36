"""A scenario's overlay as SQL: each table it touches becomes (kept base rows) UNION ALL (rows).

The evaluator applies a scenario triple by triple (`twin.scenario.ScenarioView`); the SQL
translation needs tables. For every table the overlay can change, `overlaid_tables` returns a
SELECT with the table's columns that holds exactly the rows whose triples are the scenario's:

* a class table: the base rows of entities the scenario does not touch (references to a
  removed entity turned into NULLs, since that triple is hidden), UNION ALL the touched
  entities' rows rebuilt from their triples as the scenario has them (one base read of the
  touched keys, the overlay applied to those triples, the row put back together);
* a link table: base rows minus removed entities on either side and minus every pair the
  scenario adds or removes, UNION ALL the pairs it adds.

Rebuilt rows are literal SELECTs of bound parameters (no text from the edits is spliced in).
Where the rows cannot say what the triples say, `NotTranslatable` sends the query to the
evaluator as before, so an answer is never different, only slower: two values of one
single-valued column or reference (an added relationship on a foreign key that already has
a target), attributes on an entity without a row in that table (an edit of an entity that
does not exist there), one table holding several classes, or a foreign key whose columns
also hold another property while its target is removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from rdflib import URIRef
from rdflib.namespace import RDF as RDF_NS
from rdflib.term import Node

from twin.errors import NotTranslatable
from twin.iri import EntityRef, parse_entity, value_of
from twin.scenario import Overlay
from twin.view import Source, Triple, TwinView

CHUNK = 400  # terms per compound SELECT (SQLite allows 500)


def overlaid_tables(view: TwinView, overlay: Overlay, engine: sa.Engine,
                    tables: dict[str, Any], dialect: str) -> dict[str, Any]:
    """`tables` with every table the overlay touches replaced by its scenario SELECT."""
    by_table: dict[str, list[Source]] = {}
    for src in view.sources:
        if src.kind != "prediction":
            by_table.setdefault(src.table.name, []).append(src)
    subjects = {t[0] for t in overlay.added | overlay.removed} | {s for s, _ in overlay.replaced}
    refs: dict[Node, EntityRef] = {}
    for s in subjects | overlay.removed_entities:
        ref = parse_entity(view.mappings, s)
        if ref is not None:
            refs[s] = ref
    removed_by_root: dict[str, list[tuple[Any, ...]]] = {}
    for e in overlay.removed_entities:
        if e in refs:
            removed_by_root.setdefault(refs[e].root.class_iri, []).append(refs[e].key)
    out = dict(tables)
    with engine.connect() as conn:
        for name, srcs in by_table.items():
            if name not in tables:
                continue
            links = [s for s in srcs if s.kind == "link"]
            if links:
                if len(srcs) != 1:
                    raise NotTranslatable(f"link table {name} holds several properties")
                replaced = _link(links[0], overlay, tables[name], removed_by_root, dialect)
            else:
                replaced = _class_table(name, srcs, overlay, refs, removed_by_root, conn,
                                        tables[name], dialect)
            if replaced is not None:
                out[name] = replaced
    return out


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
    added_by_subject: dict[Node, list[Triple]] = {}
    for t in overlay.added:
        if t[0] in touched:
            added_by_subject.setdefault(t[0], []).append(t)
    out: list[dict[str, Any]] = []
    for e, key in touched.items():
        row = base_rows.get(tuple(key))
        triples: set[Triple] = set()
        if row is not None:
            for s in srcs:
                if s.kind in ("type", "column", "reference"):
                    triples |= {t for t in _row_triples(s, row) if not overlay.hides(t)}
        for t in added_by_subject.get(e, []):
            if (t[1] == RDF_NS.type and t[2] == class_iri) or t[1] in preds:
                triples.add(t)
        has_type = (e, RDF_NS.type, class_iri) in triples
        rest = [t for t in triples if t[1] != RDF_NS.type]
        if not has_type:
            if rest:
                raise NotTranslatable("scenario values on an entity without a row there")
            continue
        new = dict(row) if row is not None else {c.key: None for c in table.c}
        assigned: dict[str, Any] = dict(zip(key_cols, key, strict=True))
        new.update(assigned)
        for p, s in preds.items():
            if s.kind not in ("column", "reference"):
                # edits never add these; base values of a kept row stay as they are
                if any(t[1] == p for t in rest):
                    raise NotTranslatable("an IRI or JSON value added by a scenario")
                continue
            objs = [t[2] for t in rest if t[1] == p]
            if len(objs) > 1:
                raise NotTranslatable("several values of a single-valued property")
            values = _stored(s, objs[0]) if objs else [None] * len(s.object_columns)
            for c, v in zip(s.object_columns, values, strict=True):
                if c in assigned and assigned[c] != v:
                    raise NotTranslatable("one column holding two properties' values")
                assigned[c] = v
                new[c] = v
        out.append(new)
    return out


def _row_triples(src: Source, row: dict[str, Any]) -> Iterable[Triple]:
    """The base triples `src` makes of one row (what the view's reads yield)."""
    if not src.complete(row):
        return ()
    return TwinView.row_triples(src, row)


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
    """base UNION ALL the literal rows, in compound SELECTs of at most `CHUNK` terms."""
    if not rows:
        return base
    parts = []
    for start in range(0, len(rows), CHUNK):
        selects = [sa.select(*(_value(r[c], table.c[c].type, dialect).label(c)
                               for c in columns)) for r in rows[start:start + CHUNK]]
        chunk = sa.union_all(*selects) if len(selects) > 1 else selects[0]
        parts.append(sa.select(*chunk.subquery().c))
    return sa.union_all(base, *parts)


def _value(value: Any, type_: Any, dialect: str) -> Any:
    if value is None:
        return sa.cast(sa.null(), type_) if dialect == "postgresql" else sa.null()
    bound = sa.literal(value, type_=type_)
    return sa.cast(bound, type_) if dialect == "postgresql" else bound
