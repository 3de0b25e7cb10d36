"""`detect-anomalies`: find anomalous values in a project's class tables, hand them to the API.

The flow runs on a worker, which has the project's storage but not the metadata DB (like
`extract-ontology`). For each configured class (by default every class of the published
ontologies that has numeric attributes) it reads the class through the storage interface
(`ml.anomaly_data.class_attributes`), runs `ml.anomalies.detect`, records a summary (counts per
class and method, visible through `get_project_run`) and posts the anomalies to the API
(`submit_anomalies`, write scope), which stores them and turns them into alerts. Alerts are
deduplicated there, not here: the flow has no memory between runs.

`start_detection` triggers the deployment (from the API: `run_anomaly_detection`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal, cast

import httpx
from prefect import flow
from prefect.client.schemas.objects import FlowRun
from prefect.context import get_run_context
from prefect.logging import get_run_logger
from pydantic import BaseModel, ConfigDict, Field

from domain.published import Published, published
from domain.stores import open_project_store
from flows.rules import Rule, SparqlRule, ThresholdRule, rule_hits
from flows.runs import (
    MIMIR_DEPLOYMENT,
    one_per_project,
    project_tags,
    record_result,
    start_deployment,
)
from flows.settings import runtime_settings
from ml.anomalies import DetectionSettings, Method, detect
from ml.anomaly_data import class_attributes, numeric_attribute_names

DETECT_FLOW_NAME = "detect-anomalies"
SUBMIT_TIMEOUT_S = 600.0
MAX_ANOMALIES_PER_CLASS = 5_000  # strongest first; a class with more is reported as capped
ALL_METHODS: tuple[Method, ...] = ("mad", "series", "isolation-forest")


class AnomalyHandoffFailed(RuntimeError):
    """The API could not be reached or refused the anomalies."""


class DetectionConfig(BaseModel):
    """What the flow detects; the API validates and stores it per project (the defaults find
    something useful in a new project with no configuration)."""

    model_config = ConfigDict(extra="forbid")

    classes: list[str] | None = Field(
        default=None,
        max_length=200,
        description="Classes to examine (name or IRI); all classes with numeric attributes "
        "when omitted.",
    )
    attributes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per class: the numeric attributes to examine (all when a class is absent).",
    )
    groupings: dict[str, str] = Field(
        default_factory=dict,
        description="Per class: a peer grouping to force (e.g. 'sensor.kind'); chosen "
        "automatically, by measured separation, when a class is absent.",
    )
    methods: list[Method] = Field(
        default_factory=lambda: list(ALL_METHODS),
        min_length=1,
        description="Detection methods: mad, series, isolation-forest.",
    )
    sensitivity: float = Field(
        default=4.0, ge=1.0, le=50.0, description="Robust z-score beyond which a value is flagged."
    )
    cooldown_s: int = Field(
        default=86_400,
        ge=0,
        le=365 * 86_400,
        description="After an alert is resolved, the same condition raises no new alert for "
        "this many seconds.",
    )
    rules: list[Rule] = Field(
        default_factory=list,
        max_length=100,
        description="Rule conditions (threshold on an attribute, SPARQL SELECT/ASK) whose hits "
        "become alerts like anomalies, with method rule:<name>.",
    )
    run_after: list[Literal["ingestion", "sync"]] = Field(
        default_factory=list,
        max_length=2,
        description="Run detection by itself after every completed ingestion pipeline run "
        "and/or twin sync of the project (Prefect automations).",
    )
    every_minutes: int | None = Field(
        default=None,
        ge=5,
        le=7 * 24 * 60,
        description="Also run detection on this interval, in minutes (a Prefect schedule).",
    )

    def rule_named(self, name: str) -> ThresholdRule | SparqlRule | None:
        """The rule of this name (a hit's method is rule:<name>)."""
        return next((r for r in self.rules if r.name == name), None)


def detection_classes(
    entries: list[Published], config: DetectionConfig
) -> list[tuple[Published, str]]:
    """(ontology, class name) of every class to examine; unknown names raise ValueError."""
    if config.classes is None:
        return [
            (entry, cm.name)
            for entry in entries
            for cm in entry.mapping.classes
            if numeric_attribute_names(entry.mapping, cm.name)
        ]
    chosen = []
    for ref in config.classes:
        holders = []
        for entry in entries:
            for cm in entry.mapping.classes:
                if ref in (cm.name, cm.class_iri, cm.table):
                    holders.append((entry, cm.name))
        if not holders:
            known = sorted({cm.name for e in entries for cm in e.mapping.classes})
            raise ValueError(f"unknown class {ref!r}; known: {', '.join(known) or '(none)'}")
        chosen.append(holders[0])
    return chosen


def post_to_api(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the Mimir API with the worker's token (MIMIR_API_URL / MIMIR_API_TOKEN)."""
    settings = runtime_settings()
    if not settings.api_url:
        raise AnomalyHandoffFailed(
            "MIMIR_API_URL is not set on this worker, so the anomalies cannot be handed to "
            "the API (mimir up sets it; on Kubernetes the work pool's env does)"
        )
    headers = {}
    if settings.api_token is not None:
        headers["Authorization"] = f"Bearer {settings.api_token.get_secret_value()}"
    url = f"{settings.api_url.rstrip('/')}/api/v1{path}"
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=SUBMIT_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise AnomalyHandoffFailed(f"could not reach the Mimir API at {url}: {exc}") from exc
    if response.status_code >= 300:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise AnomalyHandoffFailed(
            f"the Mimir API answered {response.status_code}: {str(detail)[:2000]}"
        )
    return cast(dict[str, Any], response.json())


def detect_project(
    project: str, storage_url: str, config: DetectionConfig
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every anomaly of the configured classes (as submitted) and a per-class summary."""
    entries = published(storage_url)
    found: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    store = open_project_store(project, storage_url)
    try:
        for entry, class_name in detection_classes(entries, config):
            data = class_attributes(
                store, entry.mapping, class_name, config.attributes.get(class_name)
            )
            settings = DetectionSettings(
                sensitivity=config.sensitivity,
                methods=tuple(config.methods),
                grouping=config.groupings.get(class_name),
            )
            anomalies = detect(data, settings) if data else []
            kept = anomalies[:MAX_ANOMALIES_PER_CLASS]
            summary[class_name] = {
                "ontology": entry.name,
                "rows": len(data[0].entities) if data else 0,
                "attributes": [d.name for d in data],
                "anomalies": len(anomalies),
                "capped": len(anomalies) > len(kept),
                "by_method": dict(Counter(a.method for a in anomalies)),
            }
            found += [{**a.as_dict(), "class_name": class_name} for a in kept]
        if config.rules:  # after the scores: rule hits go to the API with the anomalies
            found += rule_hits(store, entries, project, list(config.rules))
    finally:
        store.close()
    return found, summary


@flow(name=DETECT_FLOW_NAME, persist_result=False, validate_parameters=True)
def detect_anomalies(
    project: str, storage_url: str, settings: dict[str, Any] | None = None, trigger: str = "api"
) -> dict[str, Any]:
    """Detect anomalies in the project's classes and hand them to the API as alerts.

    One detection per project runs at a time, so two runs never interleave their alerts.
    """
    config = DetectionConfig.model_validate(settings or {})
    with one_per_project(DETECT_FLOW_NAME, project):
        logger = get_run_logger()
        found, summary = detect_project(project, storage_url, config)
        run_context = get_run_context()
        flow_run = getattr(run_context, "flow_run", None)
        run_id = str(flow_run.id) if flow_run else ""
        logger.info(
            "found %d anomal(y/ies) in %d class(es) (trigger %s)", len(found), len(summary), trigger
        )
        answer = post_to_api(
            f"/projects/{project}/anomalies/submissions",
            {"run_id": run_id, "anomalies": found},
        )
        rules = dict(Counter(f["method"] for f in found if f["method"].startswith("rule:")))
        result = {
            "project": project,
            "classes": summary,
            "rules": rules,  # hits per rule (method rule:<name>)
            "anomalies": len(found),
            "alerts": answer,
        }
        record_result(result, f"Anomalies found in {project}")
        return result


def start_detection(
    project: str, storage_url: str, settings: dict[str, Any], trigger: str = "api"
) -> FlowRun:
    """Create a run of the `detect-anomalies/mimir` deployment and return at once."""
    return start_deployment(
        f"{DETECT_FLOW_NAME}/{MIMIR_DEPLOYMENT}",
        {"project": project, "storage_url": storage_url, "settings": settings, "trigger": trigger},
        [*project_tags(project, "anomalies", trigger), "mimir-anomalies"],
    )
