"""Uploaded documents never make the server fetch a URL or read a local file (issue 10.5).

A real HTTP server on a free loopback port counts every request it receives; each document
below points at it (or at a local file) in the way its format allows. The server must see
nothing, and the import must say clearly what it refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ontology.io import load_ontology

CONTEXT = {"@context": {"ex": "http://ex.org/", "owl": "http://www.w3.org/2002/07/owl#"}}


class _Canary:
    def __init__(self) -> None:
        self.requests: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                canary.requests.append(self.path)
                body = json.dumps(CONTEXT).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def canary() -> Iterator[_Canary]:
    """A local HTTP server that records every request (and would serve a valid context)."""
    c = _Canary()
    c.thread.start()
    yield c
    c.server.shutdown()
    c.server.server_close()


@pytest.fixture
def secret_context(tmp_path: Path) -> Path:
    """A local file that is a valid JSON-LD context: reading it would succeed silently."""
    path = tmp_path / "context.jsonld"
    path.write_text(json.dumps(CONTEXT))
    return path


def _jsonld(context: object) -> str:
    return json.dumps({"@context": context, "@id": "ex:A", "@type": "owl:Class"})


def test_the_canary_answers_when_asked(canary: _Canary) -> None:
    import urllib.request

    with urllib.request.urlopen(canary.url + "/ctx") as response:
        assert json.load(response) == CONTEXT
    assert canary.requests == ["/ctx"]


@pytest.mark.parametrize("shape", ["string", "list", "import", "nested", "scoped"])
def test_jsonld_remote_contexts_are_refused_and_never_fetched(canary: _Canary,
                                                              shape: str) -> None:
    url = canary.url + "/context.jsonld"
    context: object = {
        "string": url,
        "list": [url, {"owl": "http://www.w3.org/2002/07/owl#"}],
        "import": {"@import": url},
        "scoped": {"ex": "http://ex.org/", "p": {"@id": "ex:p", "@context": url}},
    }.get(shape, {"ex": "http://ex.org/"})
    doc = _jsonld(context)
    if shape == "nested":
        doc = json.dumps({"@context": {"ex": "http://ex.org/"},
                          "@graph": [{"@id": "ex:B", "ex:p": {"@context": url, "@id": "ex:C"}}]})
    result = load_ontology(doc, "json-ld")
    assert not result.ok and result.model is None
    issue = result.issues[0]
    assert issue.code == "external_reference" and url in issue.message
    assert issue.line == 1 and issue.column is not None
    assert canary.requests == []


def test_jsonld_file_context_is_not_read(secret_context: Path) -> None:
    url = secret_context.as_uri()
    result = load_ontology(_jsonld(url), "json-ld")
    assert not result.ok
    assert result.issues[0].code == "external_reference" and url in result.issues[0].message


def test_jsonld_inline_context_still_works() -> None:
    result = load_ontology(_jsonld(CONTEXT["@context"]), "json-ld")
    assert result.ok and [c.iri for c in result.model.classes] == ["http://ex.org/A"]


def test_jsonld_nested_too_deeply_is_a_parse_error() -> None:
    result = load_ontology("[" * 100_000 + "]" * 100_000, "json-ld")
    assert not result.ok and "nested too deeply" in result.issues[0].message


OWLXML = """<?xml version="1.0"?>
<Ontology xmlns="http://www.w3.org/2002/07/owl#" ontologyIRI="http://ex.org/onto">
  <Prefix name="ex" IRI="http://ex.org/"/>
  <Import>{target}</Import>
  <Declaration><Class IRI="http://ex.org/A"/></Declaration>
</Ontology>
"""


def test_owlxml_imports_are_kept_but_never_followed(canary: _Canary, tmp_path: Path) -> None:
    local = tmp_path / "other.owx"
    local.write_text(OWLXML.format(target="http://ex.org/none"))
    for target in (canary.url + "/imported.owl", str(local), local.as_uri()):
        result = load_ontology(OWLXML.format(target=target), "owl-xml")
        assert result.ok, result.issues
        assert [c.iri for c in result.model.classes] == ["http://ex.org/A"]
        warning = next(i for i in result.issues if i.code == "import_not_followed")
        assert target in warning.message and warning.severity == "warning"
        assert target in result.model.extra  # the owl:imports triple is kept, not followed
    assert canary.requests == []


def test_rdfxml_external_entities_and_dtds_are_refused(canary: _Canary,
                                                       secret_context: Path) -> None:
    for kind, target in (("ENTITY", canary.url + "/entity"), ("ENTITY", str(secret_context)),
                         ("DTD", canary.url + "/doc.dtd")):
        decl = (f'<!DOCTYPE rdf:RDF [ <!ENTITY ext SYSTEM "{target}"> ]>' if kind == "ENTITY"
                else f'<!DOCTYPE rdf:RDF SYSTEM "{target}">')
        use = "&ext;" if kind == "ENTITY" else "A"
        doc = f"""<?xml version="1.0"?>
{decl}
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
         xmlns:owl="http://www.w3.org/2002/07/owl#">
  <owl:Class rdf:about="http://ex.org/A"><rdfs:label>{use}</rdfs:label></owl:Class>
</rdf:RDF>
"""
        for fmt in ("xml", "owl-xml"):
            result = load_ontology(doc, fmt)
            assert not result.ok
            assert result.issues[0].code == "external_reference", result.issues
            assert target in result.issues[0].message and result.issues[0].line == 2
    assert canary.requests == []


def test_rdfxml_internal_entities_and_xml_base_do_not_fetch(canary: _Canary) -> None:
    doc = f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY ex "http://ex.org/"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:owl="http://www.w3.org/2002/07/owl#" xml:base="{canary.url}/base/">
  <owl:Ontology rdf:about=""><owl:imports rdf:resource="{canary.url}/imp.owl"/></owl:Ontology>
  <owl:Class rdf:about="&ex;A"/>
  <owl:Class rdf:about="Relative"/>
</rdf:RDF>
"""
    result = load_ontology(doc, "xml")
    assert result.ok, result.issues
    assert {c.iri for c in result.model.classes} == {"http://ex.org/A",
                                                     canary.url + "/base/Relative"}
    assert any(i.code == "import_not_followed" for i in result.issues)
    assert canary.requests == []
