"""Every `>>>` example in the ontology package runs and gives the documented output."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ontology

MODULES = sorted(m.name for m in pkgutil.iter_modules(ontology.__path__, "ontology."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_main_entry_points_have_examples() -> None:
    for fn in (ontology.load_ontology, ontology.export_ontology, ontology.diff,
               ontology.extract, ontology.propose, ontology.compile_schema,
               ontology.map_records, ontology.to_r2rml, ontology.create_version):
        assert ">>>" in (fn.__doc__ or ""), fn.__name__
