"""The accepted ontologies as workers see them: a copy in the project's storage object.

`publish` / `published`: the accepted ontology (Turtle) and its compiled mapping are kept in
the project's storage object under ``_mimir/ontologies/<name>/``, so a worker (a process or a
pod without access to the metadata DB) can map and write records by class. `find_class`
picks the published ontology that holds a class.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import fsspec

from ontology.compile import SchemaMapping
from ontology.errors import OntologyError

ONTOLOGY_DIR = "_mimir/ontologies"
MAPPING_FILE = "mapping.json"
TURTLE_FILE = "current.ttl"


def _folder(storage_url: str, name: str | None = None) -> tuple[Any, str]:
    fs, root = fsspec.core.url_to_fs(storage_url)
    folder = f"{root.rstrip('/')}/{ONTOLOGY_DIR}"
    return fs, f"{folder}/{name}" if name else folder


def _write_text(fs: Any, path: str, text: str) -> None:
    """Replace a file as a whole: local files via rename, object stores by a single put."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    if "file" in protocols or "local" in protocols:
        temporary = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        with fs.open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        fs.mv(temporary, path)
    else:
        fs.pipe_file(path, text.encode("utf-8"))


def publish(storage_url: str, name: str, version: int, turtle: str, mapping: SchemaMapping) -> None:
    """Store the accepted ontology and its mapping where workers find them."""
    fs, folder = _folder(storage_url, name)
    fs.makedirs(folder, exist_ok=True)
    document = {"ontology": name, "version": version, "mapping": mapping.model_dump(mode="json")}
    _write_text(fs, f"{folder}/{MAPPING_FILE}", json.dumps(document))
    _write_text(fs, f"{folder}/{TURTLE_FILE}", turtle)


def unpublish(storage_url: str, name: str) -> None:
    """Remove an ontology's published copy (its tables and data stay)."""
    fs, folder = _folder(storage_url, name)
    if fs.exists(folder):
        fs.rm(folder, recursive=True)


@dataclass(frozen=True)
class Published:
    """An ontology as a worker sees it: name, version, mapping (and where its Turtle is)."""

    name: str
    version: int
    mapping: SchemaMapping
    turtle_path: str


def published(storage_url: str, name: str | None = None) -> list[Published]:
    """The published ontologies of a project (one, when `name` is given), by name."""
    fs, folder = _folder(storage_url)
    if not fs.exists(folder):
        return []
    names = (
        [name]
        if name
        else sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(folder, detail=False))
    )
    out = []
    for entry in names:
        path = f"{folder}/{entry}/{MAPPING_FILE}"
        if not fs.exists(path):
            continue
        document = json.loads(fs.cat_file(path).decode("utf-8"))
        out.append(
            Published(
                name=document["ontology"],
                version=int(document["version"]),
                mapping=SchemaMapping.model_validate(document["mapping"]),
                turtle_path=f"{folder}/{entry}/{TURTLE_FILE}",
            )
        )
    return out


def published_turtle(storage_url: str, entry: Published) -> str:
    """The Turtle text of a published ontology."""
    fs, _ = _folder(storage_url)
    return str(fs.cat_file(entry.turtle_path).decode("utf-8"))


def find_class(
    entries: list[Published], class_ref: str, ontology: str | None = None
) -> tuple[Published, str]:
    """The published ontology holding `class_ref` and the class's IRI; ValueError if none or
    several do (name the ontology then)."""
    candidates = [e for e in entries if ontology is None or e.name == ontology]
    if ontology is not None and not candidates:
        have = ", ".join(e.name for e in entries) or "(none)"
        raise ValueError(f"the project has no accepted ontology {ontology!r}; it has: {have}")
    if not candidates:
        raise ValueError(
            "the project has no accepted ontology yet: write with `source:` (raw area) until "
            "extraction has built one"
        )
    found: list[tuple[Published, str]] = []
    for entry in candidates:
        try:
            found.append((entry, entry.mapping.class_mapping(class_ref).class_iri))
        except OntologyError:
            continue
    if not found:
        known = sorted({cm.name for e in candidates for cm in e.mapping.classes})
        raise ValueError(f"unknown class {class_ref!r}; known: {', '.join(known) or '(none)'}")
    if len(found) > 1:
        names = ", ".join(e.name for e, _ in found)
        raise ValueError(f"class {class_ref!r} is in several ontologies ({names}); set `ontology:`")
    return found[0]


__all__ = ["Published", "find_class", "publish", "published", "published_turtle", "unpublish"]
