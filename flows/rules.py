"""Rule conditions: thresholds on an attribute and SPARQL queries, evaluated as rule hits.

Why here, beside anomaly detection: a rule hit is handed to the API exactly like an anomaly
(method ``rule:<name>``), so `submit_anomalies` raises each condition (rule + entity) as one
alert with the same dedup key and cooldown, and the trigger machinery (automations on
``mimir.alert.raised``, manual approvals) acts on it without a polling loop of our own.

* ``threshold`` — every row of a class whose numeric attribute crosses a bound, read through
  the storage interface (`ml.anomaly_data.class_attributes`);
* ``sparql`` — a query run through the twin's engine over every published ontology: SELECT
  rows each bind ``?entity`` (one hit per distinct entity), ASK true gives one project-level
  hit (entity `project_entity`).

`check_rules` validates rules against the published mappings before they are saved.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rdflib import Variable

from domain.published import Published
from ml.anomaly_data import class_attributes, numeric_attribute_names
from storage_plugins.base import StoragePlugin
from twin.engine import run_query
from twin.errors import TwinError
from twin.parse import parse_query
from twin.view import TwinView

RuleSeverity = Literal["low", "medium", "high", "critical"]
Comparison = Literal[">", ">=", "<", "<="]
RULE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,26}$"  # rule:<name> fits the 32-character method column
MAX_RULE_HITS = 5_000
RULE_TIMEOUT_S = 60.0
PROJECT_CLASS = "Project"  # class_name of an ASK rule's hit
SELECT_CLASS = "Entity"  # class_name of a SELECT rule's hit (the query decides the class)


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
    """An entity of `class_name` whose `attribute` compares true against `value`."""

    kind: Literal["threshold"] = "threshold"
    class_name: str = Field(min_length=1, max_length=255, description="The class (by name).")
    attribute: str = Field(min_length=1, max_length=255, description="A numeric attribute.")
    op: Comparison = Field(default=">", description="How the attribute compares to value.")
    value: float = Field(allow_inf_nan=False, description="The bound.")


class SparqlRule(_RuleBase):
    """A SPARQL SELECT (each row binds ?entity) or ASK over the project's twin view."""

    kind: Literal["sparql"] = "sparql"
    query: str = Field(min_length=1, max_length=20_000, description="SELECT binding ?entity, "
                       "or ASK.")


Rule = Annotated[ThresholdRule | SparqlRule, Field(discriminator="kind")]


def project_entity(project: str) -> str:
    """The entity an ASK rule's alert is about: the project itself."""
    return f"urn:mimir:project:{project}"


def _holder(entries: list[Published], class_name: str) -> Published | None:
    for entry in entries:
        if any(cm.name == class_name for cm in entry.mapping.classes):
            return entry
    return None


def check_rules(entries: list[Published], rules: list[ThresholdRule | SparqlRule]) -> None:
    """Refuse duplicate names, unknown classes/attributes, bad SPARQL (with line/column)."""
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.name in seen:
            raise RuleInvalid(f"two rules are named {rule.name!r}", f"rules.{i}.name")
        seen.add(rule.name)
        if isinstance(rule, ThresholdRule):
            holder = _holder(entries, rule.class_name)
            if holder is None:
                known = sorted({cm.name for e in entries for cm in e.mapping.classes})
                raise RuleInvalid(
                    f"unknown class {rule.class_name!r}; known: {', '.join(known) or '(none)'}",
                    f"rules.{i}.class_name",
                )
            numeric = numeric_attribute_names(holder.mapping, rule.class_name)
            if rule.attribute not in numeric:
                raise RuleInvalid(
                    f"{rule.class_name} has no numeric attribute {rule.attribute!r} "
                    f"(numeric: {', '.join(numeric) or 'none'})",
                    f"rules.{i}.attribute",
                )
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
    data = class_attributes(store, holder.mapping, rule.class_name, [rule.attribute])
    hits = []
    for column in data:
        for entity, x in zip(column.entities, column.values.tolist(), strict=True):
            if not math.isnan(x) and _compare(x, rule.op, rule.value):
                hits.append(_hit(rule, rule.class_name, entity, rule.attribute, x,
                                 f"rule {rule.name}: {rule.class_name}.{rule.attribute} = {x:g} "
                                 f"{rule.op} {rule.value:g}"))
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
    return [
        _hit(rule, SELECT_CLASS, entity, "select", None,
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
            hits = threshold_hits(store, entries, rule)
        else:
            assert view is not None
            hits = sparql_hits(view, project, rule)
        found += hits[:MAX_RULE_HITS]
    return found
