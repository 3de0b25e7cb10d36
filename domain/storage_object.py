"""Paths inside a project's storage object (its folder or bucket prefix): the one guard.

Actions (`file.read`, `report.render` …) and the API (`read_project_file`) both take paths
from users; every one of them goes through `inside_path`, so the rules cannot drift: relative,
forward slashes, and never above the storage object's root after normalisation. A name that
merely starts with dots (`..x`, `.hidden`) is a legitimate file name.
"""

from __future__ import annotations

import posixpath


class PathOutsideStorage(ValueError):
    """The path would leave the project's storage object (or names its root)."""


def inside_path(relative: str) -> str:
    """`relative` normalised (`a/./b` → `a/b`); PathOutsideStorage if it is absolute, uses
    backslashes, is empty or the root itself, or climbs above the root."""
    if not relative or relative.startswith(("/", "\\")) or "\\" in relative:
        raise PathOutsideStorage(f"path {relative!r} must be relative to the project storage")
    normal = posixpath.normpath(relative)
    if normal == ".." or normal.startswith("../") or normal == ".":
        raise PathOutsideStorage(f"path {relative!r} escapes the project storage")
    return normal


# Mimir's own files inside a storage object: pipeline checkpoints and uploads in progress,
# published ontology mappings, the project marker, object-store tables. Users, agents and
# pipelines may read what they are allowed to but never write or delete here.
RESERVED_PREFIXES = ("_mimir/", "tables/", ".mimir-project.json")


class ReservedPath(ValueError):
    """The path is in Mimir's reserved area of the storage object."""


def writable_path(relative: str) -> str:
    """`inside_path(relative)`, refusing Mimir's reserved area as well (ReservedPath)."""
    normal = inside_path(relative)
    if any(normal == p.rstrip("/") or normal.startswith(p) for p in RESERVED_PREFIXES):
        raise ReservedPath(
            f"path {normal!r} is reserved for Mimir ({', '.join(RESERVED_PREFIXES)})"
        )
    return normal
