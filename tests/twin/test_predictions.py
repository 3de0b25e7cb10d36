"""Predictions in the twin: a trained model scores a what-if scenario's values, and batch
predictions are a property of their entities in the view (SPARQL, browsing).

The shop data set on SQLite; a linear regression of an order's total on its attributes and
relationships (so every feature moves the prediction).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from ml.artifacts import LoadedModel, load_model
from ml.errors import MLInputError
from ml.spec import ModelSpec
from ml.workflow import entity_frame, prediction_rows, train_version, write_predictions
from ontology.compile import SchemaMapping
from storage_plugins.base import StoragePlugin
from tests.twin import datasets
from tests.twin.conftest import make_store
from twin.predict import view_frame
from twin.scenario import ScenarioView, check_edit
from twin.view import TwinView

D = "http://ex.org/shop/data/"
MODEL = "order-total"


@dataclass
class Trained:
    store: StoragePlugin
    mapping: SchemaMapping
    model: LoadedModel
    view: TwinView


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
            ) -> Iterator[Trained]:
    folder: Path = tmp_path_factory.mktemp("twin-ml")
    store = make_store("sqlite", folder, request, "shop")
    mapping = datasets.load(store, datasets.shop_model(), datasets.shop_records(40))
    spec = ModelSpec(entity_class="Order", target="total", algorithm="linear")
    storage_url = str(folder / "objects")
    version = train_version(store, mapping, spec, storage_url=storage_url, model=MODEL,
                            version=1, ontology="main")
    model = load_model(storage_url, MODEL, 1, version.content_hash)
    try:
        yield Trained(store, mapping, model, TwinView(store, [mapping]))
    finally:
        store.close()


def test_the_views_features_are_the_stored_ones(trained: Trained) -> None:
    plan = trained.model.plan
    assert any(f.relationship for f in plan.features)  # relationships are read too
    stored = entity_frame(trained.store, trained.mapping, plan).sort_index()
    seen = view_frame(trained.view, plan).sort_index()
    pd.testing.assert_frame_equal(seen, stored, check_like=True)


def test_a_scenario_edit_changes_a_prediction_and_the_base_stays(trained: Trained) -> None:
    plan, v = trained.model.plan, trained.view
    base = prediction_rows(trained.model, view_frame(v, plan, ["1", "2"]), 1)
    stored = prediction_rows(trained.model, entity_frame(trained.store, trained.mapping, plan,
                                                         ["1", "2"]), 1)
    assert base == stored
    what_if = ScenarioView(v, [check_edit(v, "set_attribute", D + "Order/1", "qty", 500, None),
                               check_edit(v, "add_relationship", D + "Order/2", "items",
                                          D + "Product/S001", None)])
    changed = prediction_rows(trained.model, view_frame(what_if, plan, ["1", "2", "3"]), 1)
    assert changed[0]["prediction"] != base[0]["prediction"]
    again = prediction_rows(trained.model, view_frame(v, plan, ["1", "2"]), 1)
    assert again == base  # the base prediction stays
    three = prediction_rows(trained.model, view_frame(v, plan, ["3"]), 1)
    assert changed[2] == three[0]  # an entity the scenario did not touch


def test_unknown_entities_in_a_view_are_refused(trained: Trained) -> None:
    with pytest.raises(MLInputError, match="999"):
        view_frame(trained.view, trained.model.plan, ["999"])


def test_stored_predictions_table_is_written(trained: Trained) -> None:
    plan = trained.model.plan
    frame = entity_frame(trained.store, trained.mapping, plan)
    assert write_predictions(trained.store, MODEL,
                             prediction_rows(trained.model, frame, 1)) == len(frame)


def test_stored_predictions_are_a_property_in_the_twin(trained: Trained) -> None:
    from datetime import timedelta

    from ml.workflow import predictions_table_name
    from twin.browse import get_entity
    from twin.engine import run_query
    from twin.view import ModelBinding, prediction_iri

    plan = trained.model.plan
    frame = entity_frame(trained.store, trained.mapping, plan)
    rows = prediction_rows(trained.model, frame, 1)
    write_predictions(trained.store, MODEL, rows)
    binding = ModelBinding(MODEL, datasets.SHOP + "Order")
    view = TwinView(trained.store, [trained.mapping], models=[binding])
    prop = prediction_iri(trained.mapping, MODEL)
    assert str(prop) == D + "model/order-total#prediction"
    result = run_query(view, f"SELECT ?o ?p WHERE {{ ?o <{prop}> ?p }}")
    got = {str(b[next(v for v in b if str(v) == "o")]): float(b[next(v for v in b
                                                                   if str(v) == "p")])
           for b in result.bindings}
    want = {D + "Order/" + r["entity"]: r["prediction"] for r in rows}
    assert got == want and not result.ran_as_sql
    joined = run_query(view, "PREFIX ord: <http://ex.org/shop#Order/> SELECT ?q ?p WHERE { "
                             f"<{D}Order/1> ord:qty ?q ; <{prop}> ?p }}")
    assert [float(b[next(v for v in b if str(v) == "p")]) for b in joined.bindings] == \
        [want[D + "Order/1"]]
    entity = get_entity(view, D + "Order/1")
    assert entity.attributes["order-total.prediction"] == want[D + "Order/1"]
    # a scenario edit changes what `predict` says on it; the stored prediction stays
    what_if = ScenarioView(view, [check_edit(view, "set_attribute", D + "Order/1", "qty", 500,
                                             None)])
    assert get_entity(what_if, D + "Order/1").attributes["order-total.prediction"] == \
        want[D + "Order/1"]
    fresh = prediction_rows(trained.model, view_frame(what_if, plan, ["1"]), 1)
    assert fresh[0]["prediction"] != want[D + "Order/1"]
    # as of before the batch run, the twin shows no predictions
    created = trained.store.table_history(predictions_table_name(MODEL), limit=1000)[-1].at
    past = TwinView(trained.store, [trained.mapping], models=[binding],
                    as_of=created - timedelta(microseconds=1))
    assert "order-total.prediction" not in get_entity(past, D + "Order/1").attributes
    plain = TwinView(trained.store, [trained.mapping])
    assert "order-total.prediction" not in get_entity(plain, D + "Order/1").attributes
