"""domain/storage_object.py: the one guard for paths inside a project's storage object."""

from __future__ import annotations

import pytest

from domain.storage_object import PathOutsideStorage, inside_path


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("exports/orders.csv", "exports/orders.csv"),
        ("..x", "..x"),  # a name that starts with dots is a file name, not an escape
        ("a/../b.txt", "b.txt"),
        ("./reports//daily.md", "reports/daily.md"),
        (".hidden", ".hidden"),
    ],
)
def test_paths_inside_are_normalised(given: str, expected: str) -> None:
    assert inside_path(given) == expected


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("../mimir.db", "escapes"),
        ("a/../../b", "escapes"),
        ("..", "escapes"),
        (".", "escapes"),
        ("/etc/passwd", "must be relative"),
        ("a\\b", "must be relative"),
        ("", "must be relative"),
    ],
)
def test_paths_outside_are_refused(given: str, why: str) -> None:
    with pytest.raises(PathOutsideStorage, match=why):
        inside_path(given)
