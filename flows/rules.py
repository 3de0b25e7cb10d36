"""Rule conditions: thresholds on an attribute and SPARQL queries, evaluated as rule hits.

Why here, beside anomaly detection: a rule hit is handed to the API exactly like an anomaly
(method ``rule:<name>``), so `submit_anomalies` raises each condition (rule + entity) as one
alert with the same dedup key and cooldown, and the trigger machinery (automations on
``mimir.alert.raised``, manual approvals) acts on it without a polling loop of our own.

* ``threshold`` — every row of a class whose numeric attribute crosses a bound, read through
  the storage interface (`ml.anomaly_data.class_attributes`); or, with ``model``, every
  entity of the class whose newest stored prediction of that model crosses it (see
  `model_threshold_hits`);
* ``sparql`` — a query run through the twin's engine over every published ontology: SELECT
  rows each bind ``?entity`` (one hit per distinct entity, of the entity's own class so
  triggers can filter by it), ASK true gives one project-level hit (entity `project_entity`).

`check_rules` validates rules against the published mappings (and the project's models)
before they are saved.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rdflib import Variable

from domain.published import Published
from ml.anomaly_data import class_attributes, numeric_attribute_names
from ml.names import predictions_table_name
from ontology.errors import OntologyError
from storage_plugins.base import StoragePlugin
from twin.browse import entity_class
from twin.engine import run_query
from twin.errors import TwinError
from twin.iri import entity_iri
from twin.parse import parse_query
from twin.view import TwinView, entity_key

RuleSeverity = Literal["low", "medium", "high", "critical"]
Comparison = Literal[">", ">=", "<", "<="]
RULE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,26}$"  # rule:<name> fits the 32-character method column
MAX_RULE_HITS = 5_000
RULE_TIMEOUT_S = 60.0
PROJECT_CLASS = "Project"  # class_name of an ASK rule's hit
SELECT_CLASS = "Entity"  # class_name of a SELECT rule's hit that is no entity of the twin


class RuleInvalid(ValueError):
    """A rule refers to something the project does not have; `field` names where."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class _RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=RULE_NAME, description="Unique within the project; the alert's "
                      "rule is rule:<name>.")
    severity: RuleSeverity = Field(default="medium", description="Severity of its alerts.")


class ThresholdRule(_RuleBase):
    """An entity of `class_name` whose `attribute` — or, with `model`, whose newest stored
    prediction of that model — compares true against `value`."""

    kind: Literal["threshold"] = "threshold"
    class_name: str = Field(min_length=1, max_length=255, description="The class (by name).")
    attribute: str | None = Field(default=None, min_length=1, max_length=255,
                                  description="A numeric attribute (omitted with model).")
    model: str | None = Field(
        default=None, min_length=1, max_length=63,
        description="A model of the project predicting for class_name: each entity's newest "
        "stored batch prediction (infer_model) is compared instead of an attribute.")
    label: str | None = Field(
        default=None, min_length=1, max_length=255,
        description="With a classifier model: the label whose predicted probability is "
        "compared (a regressor's predicted value is compared without one).")
    op: Comparison = Field(default=">", description="How the attribute compares to value.")
    value: float = Field(allow_inf_nan=False, description="The bound.")


class SparqlRule(_RuleBase):
    """A SPARQL SELECT (each row binds ?entity) or ASK over the project's twin view."""

    kind: Literal["sparql"] = "sparql"
    query: str = Field(min_length=1, max_length=20_000, description="SELECT binding ?entity, "
                       "or ASK.")


Rule = Annotated[ThresholdRule | SparqlRule, Field(discriminator="kind")]


@dataclass(frozen=True)
class ModelFacts:
    """What a rule on a model's predictions is checked against: the model as the metadata
    DB knows it (the flow, which has no metadata DB, needs only the rule itself)."""

    ontology: str
    entity_class: str  # name or IRI, as the model's spec has it
    task: Literal["classification", "regression"] | None  # None: auto, and not trained yet
    labels: tuple[str, ...] = ()  # a trained classifier's labels


def project_entity(project: str) -> str:
    """The entity an ASK rule's alert is about: the project itself."""
    return f"urn:mimir:project:{project}"


def _holder(entries: list[Published], class_name: str) -> Published | None:
    for entry in entries:
        if any(cm.name == class_name for cm in entry.mapping.classes):
            return entry
    return None


def _model_class(entries: list[Published], facts: ModelFacts) -> str | None:
    """The name of the class a model predicts for, in its published ontology (None: gone)."""
    for entry in entries:
        if entry.name == facts.ontology:
            try:
                return entry.mapping.class_mapping(facts.entity_class).name
            except OntologyError:
                return None
    return None


def _check_model(entries: list[Published], rule: ThresholdRule,
                 models: Mapping[str, ModelFacts], at: str) -> None:
    """A model threshold: a model of the rule's class, and a label exactly for classifiers."""
    assert rule.model is not None
    if rule.attribute is not None:
        raise RuleInvalid("a threshold rule compares an attribute or a model's prediction, "
                          "not both: drop attribute or model", f"{at}.attribute")
    facts = models.get(rule.model)
    if facts is None:
        raise RuleInvalid(f"unknown model {rule.model!r}; known: "
                          f"{', '.join(sorted(models)) or '(none)'}", f"{at}.model")
    predicted = _model_class(entries, facts)
    if predicted != rule.class_name:
        raise RuleInvalid(f"model {rule.model!r} predicts for "
                          f"{predicted or facts.entity_class}, not {rule.class_name}",
                          f"{at}.class_name")
    labels = ", ".join(facts.labels) or "known once it is trained"
    if facts.task == "classification" and rule.label is None:
        raise RuleInvalid(f"model {rule.model!r} is a classifier: name the label whose "
                          f"predicted probability is compared (labels: {labels})", f"{at}.label")
    if facts.task == "classification" and facts.labels and rule.label not in facts.labels:
        raise RuleInvalid(f"model {rule.model!r} has no label {rule.label!r} "
                          f"(labels: {labels})", f"{at}.label")
    if facts.task == "regression" and rule.label is not None:
        raise RuleInvalid(f"model {rule.model!r} is a regressor: its predicted value is "
                          "compared, so the rule takes no label", f"{at}.label")


def _check_threshold(entries: list[Published], rule: ThresholdRule,
                     models: Mapping[str, ModelFacts], at: str) -> None:
    holder = _holder(entries, rule.class_name)
    if holder is None:
        known = sorted({cm.name for e in entries for cm in e.mapping.classes})
        raise RuleInvalid(
            f"unknown class {rule.class_name!r}; known: {', '.join(known) or '(none)'}",
            f"{at}.class_name",
        )
    if rule.model is not None:
        _check_model(entries, rule, models, at)
        return
    if rule.label is not None:
        raise RuleInvalid("label goes with model (a classifier's label whose probability is "
                          "compared)", f"{at}.label")
    numeric = numeric_attribute_names(holder.mapping, rule.class_name)
    if rule.attribute is None:
        raise RuleInvalid(f"name the numeric attribute of {rule.class_name} to compare "
                          f"(numeric: {', '.join(numeric) or 'none'}), or a model",
                          f"{at}.attribute")
    if rule.attribute not in numeric:
        raise RuleInvalid(
            f"{rule.class_name} has no numeric attribute {rule.attribute!r} "
            f"(numeric: {', '.join(numeric) or 'none'})",
            f"{at}.attribute",
        )


def check_rules(entries: list[Published], rules: list[ThresholdRule | SparqlRule],
                models: Mapping[str, ModelFacts] | None = None) -> None:
    """Refuse duplicate names, unknown classes/attributes/models, bad SPARQL (with
    line/column); `models` are the project's models by name."""
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.name in seen:
            raise RuleInvalid(f"two rules are named {rule.name!r}", f"rules.{i}.name")
        seen.add(rule.name)
        if isinstance(rule, ThresholdRule):
            _check_threshold(entries, rule, models or {}, f"rules.{i}")
            continue
        try:
            algebra = parse_query(rule.query).algebra
        except TwinError as exc:
            # QuerySyntaxError's message carries rdflib's line and column
            raise RuleInvalid(str(exc), f"rules.{i}.query") from None
        if algebra.name == "SelectQuery":
            if Variable("entity") not in (algebra.get("PV") or []):
                raise RuleInvalid("a SELECT rule must select ?entity", f"rules.{i}.query")
        elif algebra.name != "AskQuery":
            raise RuleInvalid("a rule's query must be SELECT or ASK", f"rules.{i}.query")


def _compare(x: float, op: Comparison, bound: float) -> bool:
    if op == ">":
        return x > bound
    if op == ">=":
        return x >= bound
    if op == "<":
        return x < bound
    return x <= bound


def _hit(rule: _RuleBase, class_name: str, entity: str, attribute: str,
         value: float | None, explanation: str) -> dict[str, Any]:
    """A hit in the form `submit_anomalies` takes (score 1: severity comes from the rule)."""
    return {
        "class_name": class_name,
        "entity": entity,
        "attributes": [attribute],
        "value": value,
        "score": 1.0,
        "method": f"rule:{rule.name}",
        "group": None,
        "expected_low": None,
        "expected_high": None,
        "explanation": explanation[:4000],
    }


def threshold_hits(store: StoragePlugin, entries: list[Published], rule: ThresholdRule
                   ) -> list[dict[str, Any]]:
    """One hit per row of the class whose attribute crosses the bound (missing values never)."""
    holder = _holder(entries, rule.class_name)
    if holder is None:
        raise RuleInvalid(f"unknown class {rule.class_name!r}", "class_name")
    assert rule.attribute is not None  # check_rules: an attribute or a model
    data = class_attributes(store, holder.mapping, rule.class_name, [rule.attribute])
    hits = []
    for column in data:
        for entity, x in zip(column.entities, column.values.tolist(), strict=True):
            if not math.isnan(x) and _compare(x, rule.op, rule.value):
                hits.append(_hit(rule, rule.class_name, entity, rule.attribute, x,
                                 f"rule {rule.name}: {rule.class_name}.{rule.attribute} = {x:g} "
                                 f"{rule.op} {rule.value:g}"))
    return hits


def _predicted(row: dict[str, Any], label: str | None) -> float | None:
    """The number a model rule compares: the predicted value, or the label's probability."""
    if label is None:
        value = row["prediction_value"]
    else:
        probabilities = row["probabilities"]
        if isinstance(probabilities, str):  # JSON comes back as text on some backends
            probabilities = json.loads(probabilities)
        value = probabilities.get(label) if isinstance(probabilities, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def model_threshold_hits(store: StoragePlugin, entries: list[Published], rule: ThresholdRule
                         ) -> list[dict[str, Any]]:
    """One hit per entity of the class whose newest stored prediction crosses the bound.

    Semantics: the model's batch predictions (table ``mimir_predictions_<model>``, written
    by `infer_model`) hold one row per entity and model version; each entity's row of the
    highest version is compared — its ``prediction_value`` (a regressor) or, with `label`,
    the probability the classifier gave that label. Entities no longer in the class's table
    and rows without that number are skipped; no predictions table means no hits (the model
    has not been run in batch yet). Nothing is predicted here: a rule judges what was stored.
    """
    assert rule.model is not None
    holder = _holder(entries, rule.class_name)
    if holder is None:
        raise RuleInvalid(f"unknown class {rule.class_name!r}", "class_name")
    mapping = holder.mapping
    cm = mapping.class_mapping(rule.class_name)
    table = predictions_table_name(rule.model)
    if table not in store.tables():
        return []
    current = {tuple(row[c] for c in cm.key_columns)
               for batch in store.iter_batches(cm.table, columns=list(cm.key_columns))
               for row in batch}
    newest: dict[str, dict[str, Any]] = {}
    for batch in store.iter_batches(
            table, columns=["entity", "model_version", "prediction_value", "probabilities"]):
        for row in batch:
            have = newest.get(row["entity"])
            if have is None or row["model_version"] > have["model_version"]:
                newest[row["entity"]] = row
    what = f"{rule.model}.prediction" if rule.label is None \
        else f"{rule.model}.probability[{rule.label}]"
    described = "prediction" if rule.label is None else f"probability of {rule.label!r}"
    hits = []
    for text in sorted(newest):
        row = newest[text]
        key = entity_key(mapping, cm, text)
        x = _predicted(row, rule.label)
        if key not in current or x is None or not _compare(x, rule.op, rule.value):
            continue
        hits.append(_hit(rule, rule.class_name, str(entity_iri(mapping, cm, list(key))), what, x,
                         f"rule {rule.name}: model {rule.model} version {row['model_version']} "
                         f"{described} for {rule.class_name} {text} = {x:g} {rule.op} "
                         f"{rule.value:g}"))
    return hits


def sparql_hits(view: TwinView, project: str, rule: SparqlRule) -> list[dict[str, Any]]:
    """SELECT: one hit per distinct ?entity; ASK: one project-level hit when true."""
    result = run_query(view, rule.query, max_rows=MAX_RULE_HITS, timeout_s=RULE_TIMEOUT_S)
    if result.type == "ASK":
        if not result.ask:
            return []
        return [_hit(rule, PROJECT_CLASS, project_entity(project), "ask", None,
                     f"rule {rule.name}: the ASK query is true")]
    entities = dict.fromkeys(
        str(row[Variable("entity")]) for row in result.bindings if row.get(Variable("entity"))
    )
    lookup = view.for_one_query()  # each class table read once for all the entities
    return [
        _hit(rule, entity_class(lookup, entity) or SELECT_CLASS, entity, "select", None,
             f"rule {rule.name}: the SELECT query returned this entity")
        for entity in entities
    ]


def rule_hits(store: StoragePlugin, entries: list[Published], project: str,
              rules: list[ThresholdRule | SparqlRule]) -> list[dict[str, Any]]:
    """Every rule's hits, capped per rule."""
    view = TwinView(store, [e.mapping for e in entries]) if any(
        isinstance(r, SparqlRule) for r in rules) else None
    found: list[dict[str, Any]] = []
    for rule in rules:
        if isinstance(rule, ThresholdRule):
            hits = model_threshold_hits(store, entries, rule) if rule.model is not None \
                else threshold_hits(store, entries, rule)
        else:
            assert view is not None
            hits = sparql_hits(view, project, rule)
        found += hits[:MAX_RULE_HITS]
    return found
