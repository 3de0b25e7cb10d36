"""Import and export ontology documents, reporting every problem at once.

Formats (names accepted by `load_ontology` and `parse_document`):

=============  =========================  ==============================================
format         parser                     positions in errors
=============  =========================  ==============================================
``turtle``     rdflib                     line and column; parsing resumes at the next
                                          statement, so several syntax errors are listed
``nt``         rdflib (line by line)      line (and column when the line is Turtle-ish)
``xml``        rdflib (RDF/XML)           line and column of XML well-formedness errors
``json-ld``    rdflib                     line and column of JSON syntax errors
``owl-xml``    owlready2 (OWL/XML)        line and column of XML errors
=============  =========================  ==============================================

Export: ``turtle`` and ``xml`` (RDF/XML), plus ``nt`` and ``json-ld``.
"""

from __future__ import annotations

import io
import json
import re
import xml.parsers.expat
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.namespace import OWL as OWL_NS
from rdflib.plugins.parsers.notation3 import BadSyntax

from ontology.model import OntologyModel
from ontology.rdf import graph_from_model, model_from_graph
from ontology.validate import Locator, ValidationIssue, check_graph, has_errors

Format = Literal["turtle", "nt", "xml", "json-ld", "owl-xml"]
ExportFormat = Literal["turtle", "xml", "nt", "json-ld"]

_ALIASES: dict[str, Format] = {
    "turtle": "turtle", "ttl": "turtle", "text/turtle": "turtle", "n3": "turtle",
    "nt": "nt", "ntriples": "nt", "n-triples": "nt", "application/n-triples": "nt",
    "xml": "xml", "rdf": "xml", "rdf/xml": "xml", "rdfxml": "xml", "owl": "xml",
    "application/rdf+xml": "xml",
    "json-ld": "json-ld", "jsonld": "json-ld", "application/ld+json": "json-ld",
    "owl-xml": "owl-xml", "owlxml": "owl-xml", "owx": "owl-xml",
    "application/owl+xml": "owl-xml",
}
MAX_ERRORS = 50
_OWLXML_BASE = "http://mimir-aip.dev/owlxml-import/"
_DIRECTIVE = re.compile(r"(?im)^[ \t]*(@prefix|@base|prefix|base)\b[^\n]*")


class ImportResult(BaseModel):
    """The outcome of importing a document: the model (unless errors) and every issue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ok: bool = Field(description="True when no issue is an error (the model is usable).")
    format: str = Field(description="The format the document was read as.")
    issues: list[ValidationIssue] = Field(
        default_factory=list, description="Every problem found, errors and warnings."
    )
    model: OntologyModel | None = Field(
        default=None, description="The ontology, or None when parsing failed."
    )
    triples: int = Field(default=0, ge=0, description="Number of triples parsed.")


def normalize_format(fmt: str | None, filename: str | None = None, data: str = "") -> Format:
    """The canonical format name from a name, media type, file name or the text itself.

    >>> normalize_format(None, "shop.ttl"), normalize_format("application/rdf+xml")
    ('turtle', 'xml')
    """
    if fmt:
        key = fmt.strip().lower().split(";")[0].strip()
        if key in _ALIASES:
            return _ALIASES[key]
        raise ValueError(f"unknown format {fmt!r}; use one of turtle, nt, xml, json-ld, owl-xml")
    if filename and "." in filename:
        ext = filename.rsplit(".", 1)[1].lower()
        if ext in _ALIASES:
            return _ALIASES[ext]
        if ext == "json":
            return "json-ld"
    head = data.lstrip()[:2000]
    if head.startswith(("{", "[")):
        return "json-ld"
    if head.startswith("<?xml") or head.startswith("<"):
        if re.search(r"<(owl:)?Ontology\b[^>]*xmlns=\"http://www.w3.org/2002/07/owl#\"", head):
            return "owl-xml"
        if head.startswith("<") and not head.startswith("<http") and ">" in head:
            return "xml"
    return "turtle"


def _decode(data: str | bytes) -> tuple[str | None, list[ValidationIssue]]:
    if isinstance(data, str):
        return data.lstrip("\ufeff"), []
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, [ValidationIssue(
            code="encoding_error", message=f"the document is not valid UTF-8: {exc.reason}",
            line=line, column=column,
        )]


def parse_document(
    data: str | bytes, fmt: str | None = None, *, filename: str | None = None
) -> tuple[Graph | None, list[ValidationIssue], Format]:
    """Parse `data` into a graph; on failure return None and every syntax error found.

    >>> g, issues, f = parse_document("@prefix ex: <http://ex.org/> .\\nex:a ex:b .\\n")
    >>> g is None, issues[0].line, issues[0].column
    (True, 2, 10)
    """
    text, issues = _decode(data)
    if text is None:
        return None, issues, normalize_format(fmt, filename)
    form = normalize_format(fmt, filename, text)
    parser = {
        "turtle": _parse_turtle, "nt": _parse_nt, "xml": _parse_xml,
        "json-ld": _parse_jsonld, "owl-xml": _parse_owlxml,
    }[form]
    graph, issues = parser(text)
    return graph, issues, form


def _graph() -> Graph:
    return Graph(bind_namespaces="none")


def _bad_syntax_issue(exc: BadSyntax, line_shift: int = 0) -> ValidationIssue:
    raw: bytes = exc._str if isinstance(exc._str, bytes) else str(exc._str).encode()
    i = len(raw.rstrip()) if exc._i < 0 else min(exc._i, len(raw))  # -1: at end of input
    line = raw[:i].count(b"\n") + 1
    line_start = raw.rfind(b"\n", 0, i) + 1
    column = len(raw[line_start:i].decode("utf-8", "replace")) + 1
    return ValidationIssue(
        code="parse_error",
        message=f"Turtle syntax error: {exc._why}",
        line=line + line_shift if line + line_shift >= 1 else None,
        column=column,
    )


_COMMENT = re.compile(r'(^|\s)#[^<>"]*$')


def _code(line: str) -> str:
    """A Turtle line without its trailing comment (approximate: good enough to resync)."""
    return _COMMENT.sub("", line).rstrip()


def _next_statement(lines: list[str], after: int) -> int | None:
    """Index of the first line after `after` (0-based) that starts a new statement.

    A statement starts on a line that begins in column 1 when the last code line before it
    ends with ``.``; parsing resumes there after a syntax error.
    """
    prev_end = _code(lines[after]) if after < len(lines) else ""
    for k in range(after + 1, len(lines)):
        line = lines[k]
        code = _code(line)
        if not code.strip():
            continue
        if not line[0].isspace() and prev_end.endswith("."):
            return k
        prev_end = code
    return None


def _parse_turtle(text: str) -> tuple[Graph | None, list[ValidationIssue]]:
    text = text if text.endswith("\n") else text + "\n"  # rdflib trips over a last line without one
    try:
        return _graph().parse(data=text, format="turtle"), []
    except BadSyntax as exc:
        first = _bad_syntax_issue(exc)
    except Exception as exc:  # rdflib raises assorted types for odd input
        return None, [ValidationIssue(code="parse_error", message=f"Turtle: {exc}")]
    issues = [first]
    lines = text.split("\n")
    error_line = first.line or 1
    while len(issues) < MAX_ERRORS:
        start = _next_statement(lines, error_line - 1)
        if start is None:
            break
        head = "\n".join(lines[:start])
        directives = " ".join(
            d if d.rstrip().endswith(".") or not d.lstrip().startswith("@") else d + " ."
            for d in (m.group(0).strip() for m in _DIRECTIVE.finditer(head))
        )
        chunk = directives + "\n" + "\n".join(lines[start:])
        try:
            _graph().parse(data=chunk, format="turtle")
            break
        except BadSyntax as exc:
            issue = _bad_syntax_issue(exc, line_shift=start - 1)
        except Exception as exc:
            issues.append(ValidationIssue(code="parse_error", message=f"Turtle: {exc}"))
            break
        if issue.line is None or issue.line <= error_line:
            break
        issues.append(issue)
        error_line = issue.line
    return None, issues


def _parse_nt(text: str) -> tuple[Graph | None, list[ValidationIssue]]:
    try:
        return _graph().parse(data=text, format="nt"), []
    except Exception as exc:
        whole = str(exc)
    issues = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            _graph().parse(data=line, format="nt")
        except Exception as exc:
            column = None
            try:
                _graph().parse(data=line + "\n", format="turtle")
            except BadSyntax as tex:
                column = _bad_syntax_issue(tex).column
            except Exception:  # noqa: S110 - the N-Triples error below is what counts
                pass
            issues.append(ValidationIssue(
                code="parse_error", message=f"N-Triples syntax error: {exc}",
                line=number, column=column,
            ))
            if len(issues) >= MAX_ERRORS:
                break
    return None, issues or [ValidationIssue(code="parse_error", message=whole)]


def _xml_wellformed(text: str, what: str) -> list[ValidationIssue]:
    """Well-formedness, and no external entities or DTDs: an uploaded document must never
    make the server read a local file or fetch a URL (internal entities, which Protégé
    writes for namespaces, are fine; expat bounds their expansion)."""
    parser = xml.parsers.expat.ParserCreate()
    external: list[ValidationIssue] = []
    form = what.split(" ")[0]  # "RDF/XML" or "OWL/XML"

    def refuse(what_refers: str, system_id: str) -> None:
        external.append(ValidationIssue(
            code="external_reference",
            message=f"{form}: {what_refers} refers to {system_id!r}; external entities and "
                    "DTDs are not read (inline them)",
            line=parser.CurrentLineNumber, column=parser.CurrentColumnNumber + 1,
        ))

    def entity(name: str, _param: int, _value: str | None, _base: str | None,
               system_id: str | None, _public: str | None, _notation: str | None) -> None:
        if system_id is not None:
            refuse(f"the entity {name!r}", system_id)

    def doctype(name: str, system_id: str | None, _public: str | None, _internal: int) -> None:
        if system_id is not None:
            refuse(f"the DTD of {name!r}", system_id)

    parser.EntityDeclHandler = entity
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(text.encode("utf-8"), True)
    except xml.parsers.expat.ExpatError as exc:
        return external or [ValidationIssue(
            code="parse_error",
            message=f"{what}: {xml.parsers.expat.ErrorString(exc.code)}",
            line=exc.lineno, column=exc.offset + 1,
        )]
    return external


def _parse_xml(text: str) -> tuple[Graph | None, list[ValidationIssue]]:
    issues = _xml_wellformed(text, "RDF/XML is not well-formed XML")
    if issues:
        return None, issues
    try:
        return _graph().parse(data=text, format="xml"), []
    except Exception as exc:
        line = getattr(exc, "getLineNumber", lambda: None)()
        column = getattr(exc, "getColumnNumber", lambda: None)()
        return None, [ValidationIssue(
            code="parse_error", message=f"RDF/XML: {getattr(exc, 'msg', None) or exc}",
            line=line if line and line > 0 else None,
            column=column + 1 if isinstance(column, int) and column >= 0 else None,
        )]


def _parse_jsonld(text: str) -> tuple[Graph | None, list[ValidationIssue]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [ValidationIssue(
            code="parse_error", message=f"JSON-LD is not valid JSON: {exc.msg}",
            line=exc.lineno, column=exc.colno,
        )]
    except RecursionError:
        return None, [ValidationIssue(code="parse_error",
                                      message="JSON-LD is nested too deeply")]
    remote = remote_contexts(document)
    if remote:
        return None, [_locate_in(text, ref, ValidationIssue(
            code="external_reference",
            message=f"JSON-LD: the context {ref!r} is not fetched (remote and file contexts "
                    "are refused); put the context object inline",
        )) for ref in remote[:MAX_ERRORS]]
    try:
        return _graph().parse(data=text, format="json-ld"), []
    except Exception as exc:
        return None, [ValidationIssue(code="parse_error", message=f"JSON-LD: {exc}")]


def remote_contexts(document: object) -> list[str]:
    """Every ``@context`` given by reference (a URL or ``file:`` path), in document order:
    at the top, in nested objects, inside context lists, as ``@import`` and as the scoped
    context of a term definition. Iterative, so deep nesting cannot exhaust the stack.

    >>> remote_contexts({"@context": ["https://schema.org/", {"@vocab": "http://ex.org/"}],
    ...                  "a": {"@context": {"@import": "file:///etc/passwd"}},
    ...                  "b": {"@context": {"t": {"@id": "ex:t", "@context": "http://x/c"}}}})
    ['https://schema.org/', 'file:///etc/passwd', 'http://x/c']
    """
    found: list[str] = []
    # modes: "data" (the document), "ref" (a @context/@import value: a string is a
    # reference), "definition" (a context object: its terms may carry scoped contexts)
    stack: list[tuple[object, str]] = [(document, "data")]
    while stack:
        node, mode = stack.pop()
        if isinstance(node, list):
            stack.extend((item, mode) for item in reversed(node))
        elif isinstance(node, str):
            if mode == "ref":
                found.append(node)
        elif isinstance(node, dict):
            if mode == "ref":
                stack.append((node, "definition"))
                continue
            items = list(node.items())
            for key, value in reversed(items):
                if key == "@context" or (mode == "definition" and key == "@import"):
                    stack.append((value, "ref"))
                elif mode == "data":
                    stack.append((value, "data"))
                elif isinstance(value, dict):  # a term definition; may hold "@context"
                    stack.append(({k: v for k, v in value.items() if k == "@context"},
                                  "definition"))
    return found


def _locate_in(text: str, needle: str, issue: ValidationIssue) -> ValidationIssue:
    at = text.find(json.dumps(needle))
    if at < 0:
        return issue
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return issue.model_copy(update={"line": line, "column": column})


def _parse_owlxml(text: str) -> tuple[Graph | None, list[ValidationIssue]]:
    """OWL/XML through owlready2's parser only (not `Ontology.load`, which would fetch
    every ``<Import>`` from the web or the local disk): imports stay ``owl:imports``
    triples and are never followed."""
    issues = _xml_wellformed(text, "OWL/XML is not well-formed XML")
    if issues:
        return None, issues
    from owlready2.owlxml_2_ntriples import parse as parse_owlxml  # only needed here

    graph = _graph()

    def node(term: str) -> URIRef | BNode:
        return BNode(term[2:]) if term.startswith("_:") else URIRef(term)

    def on_obj(s: str, p: str, o: str) -> None:
        graph.add((node(s), URIRef(p), node(o)))

    def on_data(s: str, p: str, o: object, d: str | None) -> None:
        if d and d.startswith("@"):
            literal = RdfLiteral(o, lang=d[1:])
        else:
            literal = RdfLiteral(o, datatype=URIRef(d) if d else None)
        graph.add((node(s), URIRef(p), literal))

    try:
        parse_owlxml(io.BytesIO(text.encode("utf-8")), on_prepare_obj=on_obj,
                     on_prepare_data=on_data, default_base=_OWLXML_BASE)
    except Exception as exc:
        message = " ".join(str(a) for a in exc.args if isinstance(a, str)) or str(exc)
        found = re.search(r"line (\d+), column (\d+)", str(exc.args))
        return None, [ValidationIssue(
            code="parse_error", message=f"OWL/XML: {message}",
            line=int(found.group(1)) if found else None,
            column=int(found.group(2)) + 1 if found else None,
        )]
    for prefix, ns in re.findall(r'<Prefix\s+name="([^"]*)"\s+IRI="([^"]+)"', text):
        if prefix:
            graph.bind(prefix, ns)
    return graph, []


def load_ontology(
    data: str | bytes,
    fmt: str | None = None,
    *,
    filename: str | None = None,
    imports: Sequence[OntologyModel] = (),
) -> ImportResult:
    """Parse, validate and convert a document; every problem is in ``issues``.

    `imports` are models of ontologies this one builds on: their classes count as defined.
    Semantic checks run only when the document parses (a half-read graph would produce
    misleading "undefined" reports).

    >>> r = load_ontology('''@prefix owl: <http://www.w3.org/2002/07/owl#> .
    ... <http://ex.org/Order> a owl:Class .''', "turtle")
    >>> r.ok, [c.name for c in r.model.classes]
    (True, ['Order'])
    """
    graph, issues, form = parse_document(data, fmt, filename=filename)
    if graph is None:
        return ImportResult(ok=False, format=form, issues=issues)
    text = data if isinstance(data, str) else data.decode("utf-8-sig")
    prefixes = {p: str(ns) for p, ns in graph.namespaces() if p}
    known = [c.iri for m in imports for c in m.classes]
    issues = check_graph(graph, text=text, prefixes=prefixes, known_classes=known)
    for _, _, target in graph.triples((None, OWL_NS.imports, None)):
        issues.append(ValidationIssue(
            code="import_not_followed", severity="warning",
            message=f"owl:imports <{target}> is kept but not loaded (Mimir never fetches "
                    "imports); upload the imported ontology separately if you need it",
        ))
    model = model_from_graph(graph)
    if not model.classes and not model.properties:
        issues.append(ValidationIssue(
            code="empty_ontology", severity="warning",
            message="the document declares no classes and no datatype or object properties",
        ))
    return ImportResult(
        ok=not has_errors(issues), format=form, issues=issues, model=model, triples=len(graph)
    )


def export_ontology(model: OntologyModel, fmt: str = "turtle") -> str:
    """Serialise `model` as Turtle (default), RDF/XML (``xml``), N-Triples or JSON-LD.

    >>> from ontology.model import OntologyClass
    >>> print(export_ontology(OntologyModel(classes=[OntologyClass(iri="http://ex.org/A")])))
    @prefix owl: <http://www.w3.org/2002/07/owl#> .
    <BLANKLINE>
    <http://ex.org/A> a owl:Class .
    <BLANKLINE>
    <BLANKLINE>
    """
    form = normalize_format(fmt)
    if form == "owl-xml":
        raise ValueError("export to OWL/XML is not supported; use turtle or xml")
    graph = graph_from_model(model)
    rdflib_format = {"turtle": "turtle", "xml": "xml", "nt": "nt", "json-ld": "json-ld"}
    return graph.serialize(format=rdflib_format[form])


def to_turtle(model: OntologyModel) -> str:
    """Turtle text of `model` (what versions store)."""
    return export_ontology(model, "turtle")


def from_turtle(text: str) -> OntologyModel:
    """The model of a stored Turtle text; raises `InvalidOntology` if it does not parse."""
    from ontology.errors import InvalidOntology

    graph, issues, _ = parse_document(text, "turtle")
    if graph is None:
        raise InvalidOntology(issues)
    return model_from_graph(graph)


def locate(text: str, iri: str, prefixes: dict[str, str] | None = None) -> tuple[int | None,
                                                                                int | None]:
    """(line, column) where `iri` first appears as a subject in `text` (best effort)."""
    return Locator(text, prefixes).find(iri)
