"""Translate the dominant SPARQL shapes into one SQL statement (SQLAlchemy Core).

Translated (everything else raises `NotTranslatable` and rdflib's evaluator answers it over
the virtual store, so no query is ever answered differently — only more slowly):

* BGPs whose predicates are IRIs the mapping knows (``rdf:type`` with a class IRI included):
  one table alias per (subject, table), joined on key columns; foreign keys and link tables
  join entities along relationships;
* ``FILTER`` with comparisons of numeric or string values (or of entities by identity),
  ``&&``, ``||``, ``!``, ``BOUND``, ``CONTAINS``/``STRSTARTS``/``STRENDS``, ``IN``;
* ``OPTIONAL`` (with its filter) when the shared variables are always bound;
* ``GROUP BY`` variables with ``COUNT``, ``SUM``, ``MIN``, ``MAX``, ``AVG`` (doubles),
  ``SAMPLE`` of a group variable; ``HAVING``;
* ``ORDER BY`` variables holding numbers or strings, ``DISTINCT``, ``LIMIT``/``OFFSET``;
* ``ASK``.

Why the restrictions keep answers identical: SPARQL's semantics equal SQL's only where
value order equals term order and SQL NULL behaves like an unbound variable or an error.
Entity IRIs sort as strings, not by key, so ordering by an entity is left to the evaluator;
comparisons across datatypes raise SPARQL errors that SQL would not, so they are left too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from rdflib import BNode, Literal, URIRef, Variable
from rdflib.namespace import RDF as RDF_NS
from rdflib.namespace import XSD as XSD_NS
from rdflib.term import Node

from ontology.compile import ClassMapping, SchemaMapping
from storage_plugins.schema import Column, ColumnType
from twin.errors import NotTranslatable
from twin.iri import entity_iri, literal, parse_entity, value_of
from twin.view import Source, TwinView

NUMERIC = (ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.DOUBLE)
NUMERIC_DATATYPES = {str(XSD_NS[n]) for n in (
    "integer", "decimal", "double", "int", "long", "short", "byte", "nonNegativeInteger",
    "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt", "unsignedLong",
    "unsignedShort", "unsignedByte")}
COUNT_COLUMN = Column(name="count", type=ColumnType.INTEGER)
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class VarInfo:
    """What a variable holds in a translated relation."""

    kind: str  # "entity" or "literal"
    labels: tuple[str, ...]
    nullable: bool
    mapping: SchemaMapping | None = None
    root: ClassMapping | None = None
    column: Column | None = None
    datatype: str | None = None
    result: str | None = None  # aggregates: how to turn the SQL value into a term


@dataclass
class Rel:
    """A translated pattern: a subquery and its variables."""

    sub: sa.Subquery
    vars: dict[Node, VarInfo]

    def exprs(self, var: Node) -> list[Any]:
        return [self.sub.c[label] for label in self.vars[var].labels]


class _Labels:
    def __init__(self) -> None:
        self.n = 0

    def new(self) -> str:
        self.n += 1
        return f"c{self.n}"


@dataclass
class Plan:
    """A SELECT/ASK statement and how to read its rows back as terms."""

    statement: sa.Select[Any]
    variables: list[Variable]
    infos: list[VarInfo | None]
    ask: bool = False
    limit: int | None = None


class Translator:
    """Translates one query over one view whose SQL tables are `tables`."""

    def __init__(self, view: TwinView, tables: Mapping[str, Any], dialect: str) -> None:
        self.view = view
        self.tables = tables
        self.dialect = dialect
        self.labels = _Labels()

    # ------------------------------------------------------------------ top level

    def plan(self, algebra: Any) -> Plan:
        name = algebra.name
        if name == "AskQuery":
            rel = self.pattern(_strip_project(algebra.p))
            stmt = sa.select(sa.literal(1)).select_from(rel.sub).limit(1)
            return Plan(stmt, [], [], ask=True)
        if name != "SelectQuery":
            raise NotTranslatable(name)
        node = algebra.p
        start, length = 0, None
        if node.name == "Slice":
            start, length = node.start or 0, node.length
            node = node.p
        distinct = False
        if node.name in ("Distinct", "Reduced"):
            distinct = True
            node = node.p
        if node.name != "Project":
            raise NotTranslatable(node.name)
        pv: list[Variable] = list(node.PV)
        node = node.p
        order: list[Any] = []
        if node.name == "OrderBy":
            order = list(node.expr)
            node = node.p
        rel = self.pattern(node)
        cols: list[Any] = []
        infos: list[VarInfo | None] = []
        for v in pv:
            if v in rel.vars:
                cols.extend(rel.exprs(v))
                infos.append(rel.vars[v])
            else:
                infos.append(None)
        if not cols:
            cols = [sa.literal(1).label("one")]
        stmt = sa.select(*cols).select_from(rel.sub)
        if distinct:
            if any(c.expr not in pv for c in order):
                raise NotTranslatable("DISTINCT with ORDER BY on a variable not projected")
            stmt = stmt.distinct()
        for cond in order:
            stmt = stmt.order_by(*self.order_key(rel, cond.expr, cond.order == "DESC"))
        if start:
            stmt = stmt.offset(int(start))
        if length is not None:
            stmt = stmt.limit(int(length))
        return Plan(stmt, pv, infos, limit=None if length is None else int(length))

    def order_key(self, rel: Rel, expr: Any, desc: bool) -> list[Any]:
        if not isinstance(expr, Variable) or expr not in rel.vars:
            raise NotTranslatable("ORDER BY an expression")
        info = rel.vars[expr]
        if info.kind != "literal" or info.column is None or not _orderable(info):
            raise NotTranslatable("ORDER BY an entity or a non-numeric, non-string value")
        col = rel.exprs(expr)[0]
        keys = []
        if info.nullable:
            flag = sa.case((col.is_(None), 0), else_=1)
            keys.append(flag.desc() if desc else flag.asc())
        keys.append(col.desc() if desc else col.asc())
        return keys

    # ------------------------------------------------------------------ patterns

    def pattern(self, node: Any) -> Rel:
        handler = getattr(self, f"_{node.name}", None)
        if handler is None:
            raise NotTranslatable(node.name)
        rel: Rel = handler(node)
        return rel

    def _BGP(self, node: Any) -> Rel:  # noqa: N802
        return _BGPBuilder(self).build(node.triples)

    def _Filter(self, node: Any) -> Rel:  # noqa: N802
        inner = self.pattern(node.p)
        cond = Expressions(self, inner).boolean(node.expr)
        return self._wrap(inner, where=cond)

    def _Extend(self, node: Any) -> Rel:  # noqa: N802
        inner = self.pattern(node.p)
        if not isinstance(node.expr, Variable) or node.var in inner.vars:
            raise NotTranslatable("BIND of an expression")
        if node.expr not in inner.vars:
            return inner
        out = self._wrap(inner)
        info = out.vars[node.expr]
        labels = tuple(self.labels.new() for _ in info.labels)
        cols = [*out.sub.c, *(c.label(lab) for c, lab in zip(out.exprs(node.expr), labels,
                                                            strict=True))]
        sub = sa.select(*cols).subquery()
        return Rel(sub, {**out.vars, node.var: replace(info, labels=labels)})

    def _Join(self, node: Any) -> Rel:  # noqa: N802
        return self._join(self.pattern(node.p1), self.pattern(node.p2), None, outer=False)

    def _LeftJoin(self, node: Any) -> Rel:  # noqa: N802
        return self._join(self.pattern(node.p1), self.pattern(node.p2), node.expr, outer=True)

    def _join(self, left: Rel, right: Rel, expr: Any, *, outer: bool) -> Rel:
        shared = [v for v in left.vars if v in right.vars]
        conds = []
        for v in shared:
            a, b = left.vars[v], right.vars[v]
            if a.nullable or b.nullable:
                raise NotTranslatable("a join on a variable that may be unbound")
            if not _same_kind(a, b):
                raise NotTranslatable("a join of differently typed values")
            conds += [x == y for x, y in zip(left.exprs(v), right.exprs(v), strict=True)]
        out_vars: dict[Node, VarInfo] = {}
        cols: list[Any] = []
        for v, info in left.vars.items():
            labels = tuple(self.labels.new() for _ in info.labels)
            cols += [c.label(lab) for c, lab in zip(left.exprs(v), labels, strict=True)]
            out_vars[v] = replace(info, labels=labels)
        for v, info in right.vars.items():
            if v in shared:
                continue
            labels = tuple(self.labels.new() for _ in info.labels)
            cols += [c.label(lab) for c, lab in zip(right.exprs(v), labels, strict=True)]
            out_vars[v] = replace(info, labels=labels, nullable=info.nullable or outer)
        if expr is not None and getattr(expr, "name", None) != "TrueFilter":
            conds.append(Expressions(self, left, right).boolean(expr))
        on = sa.and_(sa.true(), *conds)
        joined = left.sub.join(right.sub, on, isouter=outer)
        sub = sa.select(*cols).select_from(joined).subquery()
        return Rel(sub, out_vars)

    def _AggregateJoin(self, node: Any) -> Rel:  # noqa: N802
        group = node.p
        if group.name != "Group":
            raise NotTranslatable(group.name)
        inner = self.pattern(group.p)
        keys: list[Variable] = list(group.expr or [])
        for k in keys:
            if not isinstance(k, Variable):
                raise NotTranslatable("GROUP BY an expression")
        cols: list[Any] = []
        group_by: list[Any] = []
        out: dict[Node, VarInfo] = {}
        for k in keys:
            if k in inner.vars:
                group_by += inner.exprs(k)
        for agg in node.A:
            label = self.labels.new()
            value, info = self._aggregate(inner, agg, keys, label)
            cols.extend(value)
            out[agg.res] = info
        stmt = sa.select(*cols).select_from(inner.sub)
        if group_by:
            stmt = stmt.group_by(*group_by)
        return Rel(stmt.subquery(), out)

    def _aggregate(self, inner: Rel, agg: Any, keys: list[Variable], label: str
                   ) -> tuple[list[Any], VarInfo]:
        name = agg.name
        var = agg.vars
        distinct = bool(agg.get("distinct"))
        if name == "Aggregate_Sample":
            if var not in keys:
                raise NotTranslatable("SAMPLE of a variable that is not grouped")
            if var not in inner.vars:
                return [sa.null().label(label)], VarInfo("literal", (label,), True)
            info = inner.vars[var]
            labels = tuple(self.labels.new() for _ in info.labels)
            return ([c.label(lab) for c, lab in zip(inner.exprs(var), labels, strict=True)],
                    replace(info, labels=labels))
        if name == "Aggregate_Count":
            expr: Any
            if var == "*" or var is None:
                if distinct:
                    raise NotTranslatable("COUNT(DISTINCT *)")
                expr = sa.func.count()
            elif var not in inner.vars:
                expr = sa.literal(0)
            else:
                info = inner.vars[var]
                if distinct and len(info.labels) != 1:
                    raise NotTranslatable("COUNT(DISTINCT) of a compound-key entity")
                col = inner.exprs(var)[0]
                expr = sa.func.count(sa.distinct(col)) if distinct else sa.func.count(col)
            return [expr.label(label)], VarInfo(
                "literal", (label,), False, column=COUNT_COLUMN, datatype=str(XSD_NS.integer),
                result="integer")
        if not isinstance(var, Variable) or var not in inner.vars or distinct:
            raise NotTranslatable(f"{name[10:].upper()} of this argument")
        info = inner.vars[var]
        if info.kind != "literal" or info.column is None or info.nullable \
                or info.result is not None:
            raise NotTranslatable(f"{name[10:].upper()} of a value that may be unbound")
        col = inner.exprs(var)[0]
        ctype = info.column.type
        if name in ("Aggregate_Min", "Aggregate_Max"):
            if not _orderable(info):
                raise NotTranslatable("MIN/MAX of a non-numeric, non-string value")
            fn = sa.func.min if name == "Aggregate_Min" else sa.func.max
            return [fn(col).label(label)], replace(info, labels=(label,), nullable=True)
        if ctype not in NUMERIC or info.datatype not in NUMERIC_DATATYPES:
            raise NotTranslatable(f"{name[10:].upper()} of a non-numeric value")
        if name == "Aggregate_Sum":
            if ctype is ColumnType.DECIMAL and self.dialect == "sqlite":
                raise NotTranslatable("SUM of decimals on SQLite (stored as sortable text)")
            result = {ColumnType.INTEGER: "integer", ColumnType.DECIMAL: "decimal",
                      ColumnType.DOUBLE: "double"}[ctype]
            return [sa.func.sum(col).label(label)], VarInfo("literal", (label,), False,
                                                             result=result)
        if name == "Aggregate_Avg" and ctype is ColumnType.DOUBLE:
            return [sa.func.avg(col).label(label)], VarInfo("literal", (label,), False,
                                                             result="avg_double")
        raise NotTranslatable(f"{name[10:].upper()} of this argument")

    # ------------------------------------------------------------------ helpers

    def _wrap(self, inner: Rel, where: Any = None) -> Rel:
        stmt = sa.select(*inner.sub.c)
        if where is not None:
            stmt = stmt.where(where)
        return Rel(stmt.subquery(), dict(inner.vars))


def _strip_project(node: Any) -> Any:
    return node.p if node.name == "Project" else node


def _orderable(info: VarInfo) -> bool:
    if info.column is None:
        return False
    if info.column.type in NUMERIC:
        return info.datatype in NUMERIC_DATATYPES
    return info.column.type is ColumnType.STRING and info.datatype is None


def _same_kind(a: VarInfo, b: VarInfo) -> bool:
    if a.kind != b.kind or a.result or b.result:
        return False
    if a.kind == "entity":
        return a.mapping is b.mapping and a.root == b.root
    return a.column is not None and b.column is not None and a.datatype == b.datatype and (
        a.column.type == b.column.type and a.column.precision == b.column.precision
        and a.column.scale == b.column.scale)


class _BGPBuilder:
    """Builds one SELECT for a basic graph pattern."""

    def __init__(self, tr: Translator) -> None:
        self.tr = tr
        self.view = tr.view
        self.conds: list[Any] = []
        self.vars: dict[Node, VarInfo] = {}
        self.exprs: dict[Node, list[Any]] = {}
        self.aliases: dict[tuple[Node, str], Any] = {}
        self.froms: list[Any] = []

    def build(self, triples: list[tuple[Node, Node, Node]]) -> Rel:
        if not triples:
            raise NotTranslatable("an empty pattern")
        for s, p, o in sorted(triples, key=lambda t: t[1] != RDF_NS.type):
            self.triple(s, p, o)
        cols: list[Any] = []
        out: dict[Node, VarInfo] = {}
        for v, info in self.vars.items():
            if isinstance(v, BNode):
                continue
            labels = tuple(self.tr.labels.new() for _ in info.labels)
            cols += [c.label(lab) for c, lab in zip(self.exprs[v], labels, strict=True)]
            out[v] = replace(info, labels=labels)
        if not cols:
            cols = [sa.literal(1).label(self.tr.labels.new())]
        stmt = sa.select(*cols).select_from(*self.froms).where(sa.and_(sa.true(), *self.conds))
        return Rel(stmt.subquery(), out)

    def source(self, p: Node, o: Node) -> Source:
        if not isinstance(p, URIRef):
            raise NotTranslatable("a variable predicate")
        if p == RDF_NS.type:
            if not isinstance(o, URIRef):
                raise NotTranslatable("rdf:type with a variable class")
            found = self.view.class_sources.get(o, [])
        else:
            found = self.view.by_predicate.get(p, [])
        if len(found) != 1:
            raise NotTranslatable("a predicate stored in several tables or not at all")
        return found[0]

    def alias(self, subject: Node, src: Source) -> Any:
        """The table alias holding `src`'s row(s) for `subject`, joined on its key."""
        reuse = src.kind != "link"
        key = (subject, src.table.name)
        if reuse and key in self.aliases:
            return self.aliases[key]
        table = self.tr.tables.get(src.table.name)
        if table is None:
            raise NotTranslatable(f"table {src.table.name} is not in storage")
        # a scenario's overlaid table is a SELECT (`twin.sql_overlay`), a stored one a table
        alias = table.subquery() if isinstance(table, sa.Select | sa.CompoundSelect) \
            else table.alias()
        self.froms.append(alias)
        cols = [alias.c[c] for c in src.subject_columns]
        if isinstance(subject, URIRef):
            ref = parse_entity([src.mapping], subject)
            if ref is None or ref.root.class_iri != src.cm.root:
                self.conds.append(sa.false())
            else:
                self.conds += [c == v for c, v in zip(cols, ref.key, strict=True)]
        elif subject in self.vars:
            info = self.vars[subject]
            if info.kind != "entity" or info.mapping is not src.mapping \
                    or info.root is None or info.root.class_iri != src.cm.root:
                raise NotTranslatable("a variable used as two kinds of term")
            self.conds += [c == e for c, e in zip(cols, self.exprs[subject], strict=True)]
        else:
            root = src.mapping.class_mapping(src.cm.root)
            self.vars[subject] = VarInfo("entity", tuple(src.subject_columns), False,
                                         mapping=src.mapping, root=root)
            self.exprs[subject] = cols
        if reuse:
            self.aliases[key] = alias
        return alias

    def triple(self, s: Node, p: Node, o: Node) -> None:
        if isinstance(s, Literal):
            raise NotTranslatable("a literal subject")
        src = self.source(p, o)
        if src.kind == "prediction":  # keyed by entity id text, not the class key
            raise NotTranslatable("a model's stored predictions")
        alias = self.alias(s, src)
        if src.kind == "type":
            return
        cols = [alias.c[c] for c in src.object_columns]
        if src.kind == "column":
            self.literal_object(src, cols[0], o)
        elif src.kind in ("reference", "link"):
            assert src.target is not None
            self.entity_object(src, cols, o)
        else:
            raise NotTranslatable("IRI-valued or JSON columns")

    def literal_object(self, src: Source, col: Any, o: Node) -> None:
        info = VarInfo("literal", ("v",), False, column=src.column(), datatype=src.datatype)
        if isinstance(o, Variable | BNode):
            if o in self.vars:
                if not _same_kind(self.vars[o], info):
                    raise NotTranslatable("a variable used as two kinds of term")
                self.conds.append(col == self.exprs[o][0])
            else:
                self.vars[o] = info
                self.exprs[o] = [col]
                self.conds.append(col.is_not(None))
            return
        ok, value = value_of(o, src.column(), src.datatype)
        self.conds.append(col == value if ok else sa.false())

    def entity_object(self, src: Source, cols: list[Any], o: Node) -> None:
        assert src.target is not None
        root = src.mapping.class_mapping(src.target.root)
        info = VarInfo("entity", tuple(src.object_columns), False, mapping=src.mapping, root=root)
        if isinstance(o, Variable | BNode):
            if o in self.vars:
                if not _same_kind(self.vars[o], info):
                    raise NotTranslatable("a variable used as two kinds of term")
                self.conds += [c == e for c, e in zip(cols, self.exprs[o], strict=True)]
            else:
                self.vars[o] = info
                self.exprs[o] = cols
                self.conds += [c.is_not(None) for c in cols]
            return
        ref = parse_entity([src.mapping], o)
        if ref is None or ref.root.class_iri != root.class_iri:
            self.conds.append(sa.false())
        else:
            self.conds += [c == v for c, v in zip(cols, ref.key, strict=True)]


class Expressions:
    """FILTER expressions over a relation's variables."""

    def __init__(self, tr: Translator, rel: Rel, right: Rel | None = None) -> None:
        self.tr = tr
        self.rel = rel
        self.right = right

    def cols(self, var: Node) -> list[Any]:
        if var in self.rel.vars or self.right is None:
            return self.rel.exprs(var)
        return self.right.exprs(var)

    def info(self, var: Node) -> VarInfo | None:
        if var in self.rel.vars:
            return self.rel.vars[var]
        if self.right is not None and var in self.right.vars:
            return self.right.vars[var]
        return None

    def boolean(self, expr: Any) -> Any:
        name = getattr(expr, "name", None)
        if name == "ConditionalAndExpression":
            return sa.and_(self.boolean(expr.expr), *(self.boolean(e) for e in expr.other))
        if name == "ConditionalOrExpression":
            return sa.or_(self.boolean(expr.expr), *(self.boolean(e) for e in expr.other))
        if name == "UnaryNot":
            return sa.not_(self.boolean(expr.expr))
        if name == "RelationalExpression":
            return self.relational(expr.expr, expr.op, expr.other)
        if name == "Builtin_BOUND":
            info = self.info(expr.arg)
            if info is None:
                return sa.false()
            return self.cols(expr.arg)[0].is_not(None)
        if name in ("Builtin_CONTAINS", "Builtin_STRSTARTS", "Builtin_STRENDS"):
            return self.like(name, expr.arg1, expr.arg2)
        raise NotTranslatable(f"FILTER {name or type(expr).__name__}")

    def like(self, name: str, arg: Any, pattern: Any) -> Any:
        info = self.info(arg) if isinstance(arg, Variable) else None
        if info is None or info.kind != "literal" or info.column is None \
                or info.column.type is not ColumnType.STRING or info.datatype is not None:
            raise NotTranslatable(f"{name[8:]} of a non-string value")
        if not _plain_string(pattern):
            raise NotTranslatable(f"{name[8:]} with a non-string pattern")
        text = str(pattern).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        text = {"Builtin_CONTAINS": f"%{text}%", "Builtin_STRSTARTS": f"{text}%",
                "Builtin_STRENDS": f"%{text}"}[name]
        return self.cols(arg)[0].like(text, escape="\\")

    def relational(self, a: Any, op: str, b: Any) -> Any:
        if op in ("IN", "NOT IN"):
            items = [self.relational(a, "=", item) for item in b]
            if not items:
                return sa.false() if op == "IN" else self.bound(a)
            any_of = sa.or_(*items)
            return any_of if op == "IN" else sa.and_(self.bound(a), sa.not_(any_of))
        if op not in COMPARE:
            raise NotTranslatable(f"operator {op}")
        if not isinstance(a, Variable) and isinstance(b, Variable):
            flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
            return self.relational(b, flipped, a)
        if not isinstance(a, Variable):
            raise NotTranslatable("a comparison without a variable")
        info = self.info(a)
        if info is None:
            return sa.false()  # an unbound variable: the comparison is an error
        if isinstance(b, Variable):
            other = self.info(b)
            if other is None:
                return sa.false()
            if not _same_kind(info, other) or (info.kind == "literal" and not _orderable(info)):
                raise NotTranslatable("a comparison of differently typed values")
            if info.kind == "entity":
                if op not in ("=", "!="):
                    raise NotTranslatable("ordering entities")
                eq = sa.and_(*(x == y for x, y in zip(self.cols(a), self.cols(b), strict=True)))
                return eq if op == "=" else sa.and_(self.bound(a), self.bound(b), sa.not_(eq))
            return COMPARE[op](self.cols(a)[0], self.cols(b)[0])
        if info.kind == "entity":
            if op not in ("=", "!=") or not isinstance(b, URIRef):
                raise NotTranslatable("comparing an entity with a literal or by order")
            assert info.mapping is not None and info.root is not None
            ref = parse_entity([info.mapping], b)
            if ref is None or ref.root.class_iri != info.root.class_iri:
                return sa.false() if op == "=" else self.bound(a)
            eq = sa.and_(*(c == v for c, v in zip(self.cols(a), ref.key, strict=True)))
            return eq if op == "=" else sa.and_(self.bound(a), sa.not_(eq))
        return self.value_compare(info, self.cols(a)[0], op, b)

    def bound(self, var: Any) -> Any:
        if not isinstance(var, Variable) or self.info(var) is None:
            raise NotTranslatable("IN on an expression")
        return self.cols(var)[0].is_not(None)

    def value_compare(self, info: VarInfo, col: Any, op: str, b: Any) -> Any:
        if not isinstance(b, Literal) or info.column is None or info.result not in (
                None, "integer"):
            raise NotTranslatable("a comparison with a non-literal")
        ctype = info.column.type
        if ctype is ColumnType.STRING and info.datatype is None:
            if not _plain_string(b):
                raise NotTranslatable("comparing a string with a non-string")
            return COMPARE[op](col, str(b))
        if ctype in NUMERIC and info.datatype in NUMERIC_DATATYPES:
            number = _number(b)
            if number is None:
                raise NotTranslatable("comparing a number with a non-number")
            if ctype is ColumnType.DECIMAL:
                if isinstance(number, float):
                    raise NotTranslatable("comparing a decimal with a double")
                dec = Decimal(number)
                scale = info.column.scale or 0
                exponent = dec.as_tuple().exponent
                if isinstance(exponent, int) and exponent < -scale and dec != round(dec, scale):
                    raise NotTranslatable("a decimal constant finer than the column's scale")
                return COMPARE[op](col, dec)
            if isinstance(number, Decimal):
                if number == number.to_integral_value() and ctype is ColumnType.INTEGER:
                    return COMPARE[op](col, int(number))
                return COMPARE[op](col, float(number))
            return COMPARE[op](col, number)
        if op in ("=", "!=") and ctype is ColumnType.BOOLEAN and b.datatype == XSD_NS.boolean:
            ok, value = value_of(b, info.column, info.datatype)
            if ok:
                return COMPARE[op](col, value)
        raise NotTranslatable(f"comparing values of type {ctype.value}")


def _plain_string(term: Any) -> bool:
    return isinstance(term, Literal) and term.language is None and (
        term.datatype is None or term.datatype == XSD_NS.string)


def _number(term: Literal) -> int | Decimal | float | None:
    if term.datatype is None or str(term.datatype) not in NUMERIC_DATATYPES | {
            str(XSD_NS.float)}:
        return None
    value = term.toPython()
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return None  # an ill-typed literal ("abc"^^xsd:integer)
    if isinstance(value, float) and str(term.datatype) == str(XSD_NS.float):
        return None  # float precision differs from double; leave it to the evaluator
    return value


def term_of(info: VarInfo | None, values: list[Any]) -> Node | None:
    """The RDF term of one variable's SQL values (None when unbound)."""
    if info is None or values[0] is None:
        if info is not None and info.result in ("integer", "decimal", "double", "avg_double"):
            return Literal(0, datatype=XSD_NS.integer)  # SUM/AVG of nothing is 0
        return None
    if info.kind == "entity":
        assert info.mapping is not None and info.root is not None
        return entity_iri(info.mapping, info.root, values)
    value = values[0]
    if info.result == "integer":
        return Literal(int(value), datatype=XSD_NS.integer)
    if info.result == "decimal":
        return literal(Decimal(value), str(XSD_NS.decimal))
    if info.result in ("double", "avg_double"):
        return literal(float(value), str(XSD_NS.double))
    assert info.column is not None
    return literal(value, info.datatype)
