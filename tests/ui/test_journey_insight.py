"""A user's journey past ingestion, click by click, on the sample wind farm (the demo's own
generator and steps seed it through the real `mimir up`): a twin and a what-if scenario with
an edit and its diff, a model trained from the ontology and its card, a manual trigger created
in the browser, anomaly detection whose alerts hold its action, one approved (starting the
output pipeline's run), one rejected and one acknowledged, the trigger deleted; a pipeline_run
trigger and detection rules (threshold and SPARQL) made with the forms generated from the
API's unions; a table's history read as of a past version; and the newer pages on a narrow
screen — each page checked with axe-core and saved as a screenshot.

The tests share one seeded project (module fixture) and run in order: the alerts test's
detection and the model's training are separate flow runs, kept to one each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from flows.demo.data import generate
from flows.demo.run import PROJECT, STEPS, Api, DemoResult, _iri, remove_demo
from tests.conftest import Platform
from tests.ui.conftest import (
    Watch,
    assert_fits_narrow,
    check_page,
    open_page,
    settle,
    sign_in,
)

SEED_STEPS = {"project", "files", "pipelines", "ingest", "ontology"}

# the output pipeline a manual trigger runs once a person approves the alert
ALERT_NOTE = """\
name: alert-note
type: output
parameters:
  trigger: {type: object, default: {}}
steps:
  - name: note
    action: report.render
    with:
      path: reports/alert-note.md
      format: markdown
      data: "{{ params.trigger }}"
      template: "{{ data.payload.summary }}"
"""


def save_alert_note(platform: Platform) -> None:
    saved = httpx.put(
        f"{platform.api}/projects/{PROJECT}/pipelines/alert-note",
        json={"yaml": ALERT_NOTE},
        headers=platform.headers(),
        timeout=120,
    )
    assert saved.status_code < 300, saved.text


@pytest.fixture(scope="module")
def windfarm(platform: Platform) -> Iterator[DemoResult]:
    """The sample project up to its accepted ontology and loaded class tables (no twin, model
    or detection yet: the browser makes those)."""
    remove_demo(platform.base_url, platform.token, lambda _line: None)  # start clean
    api = Api(platform.base_url, platform.token)
    result = DemoResult()
    for name, step in STEPS:
        if name in SEED_STEPS:
            step(api, result, lambda _line: None)
    yield result
    remove_demo(platform.base_url, platform.token, lambda _line: None)


def schema_of(platform: Platform, operation_id: str) -> dict[str, Any]:
    """The JSON request-body schema of an operation in the served OpenAPI document."""
    spec = httpx.get(f"{platform.api}/openapi.json").json()
    for methods in spec["paths"].values():
        for op in methods.values():
            if op.get("operationId") == operation_id:
                schema = op["requestBody"]["content"]["application/json"]["schema"]
                while "$ref" in schema:
                    schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
                return dict(schema)
    raise AssertionError(f"no operation {operation_id}")


@pytest.mark.timeout(600)
def test_twin_scenario_edit_and_diff(
    platform: Platform, windfarm: DemoResult, ui: tuple[Page, Watch]
) -> None:
    page, _watch = ui
    assert windfarm.ontology is not None
    sign_in(page, platform.base_url, platform.token)
    page.goto(f"{platform.base_url}/#/projects/{PROJECT}")
    page.get_by_role("link", name="Open twin").click()
    expect(page.locator("#no-twin")).to_be_visible()

    # a twin over the accepted ontology
    page.get_by_role("button", name="New twin").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Name").fill("plant")
    dialog.get_by_role("textbox", name="Ontologies").fill(windfarm.ontology["name"])
    dialog.get_by_role("button", name="Create twin").click()
    expect(page.get_by_role("heading", name="SPARQL console")).to_be_visible()
    # as_of appears exactly when query_twin's schema has it (generated from OpenAPI)
    has_as_of = "as_of" in schema_of(platform, "query_twin").get("properties", {})
    console = page.get_by_role("region", name="SPARQL console")
    expect(console.locator("input[name=as_of]")).to_have_count(1 if has_as_of else 0)

    # find a reading with the console, then change its value in a scenario
    reading = _iri(windfarm.ontology, "Reading")
    value = _iri(windfarm.ontology, "value", reading)
    page.get_by_label("SPARQL query").fill(
        f"SELECT ?r ?v WHERE {{ ?r a <{reading}> ; <{value}> ?v }} ORDER BY ?r LIMIT 1"
    )
    console.get_by_role("button", name="Run query").click()
    results = page.get_by_role("table", name="SPARQL results")
    expect(results.locator("tbody tr")).to_have_count(1)
    entity = results.locator("tbody tr td").first.inner_text().strip()
    assert entity.startswith("http"), entity

    page.get_by_role("button", name="New scenario").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Name").fill("hot-sensor")
    dialog.get_by_role("textbox", name="Description").fill("What if this sensor ran hot?")
    dialog.get_by_role("button", name="Create scenario").click()
    expect(page.get_by_role("heading", name="Scenario hot-sensor")).to_be_visible()
    page.get_by_role("button", name="Add edit").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox", name="Kind").select_option("set_attribute")
    dialog.get_by_role("textbox", name="Entity").fill(entity)
    dialog.get_by_role("textbox", name="Property").fill("value")
    dialog.get_by_role("textbox", name="Value").fill("99.5")
    dialog.get_by_role("textbox", name="Rationale").fill("a hot sensor")
    dialog.get_by_role("button", name="Add edit").click()
    edits = page.get_by_role("table", name="Edits of hot-sensor")
    expect(edits.locator("tbody tr")).to_have_count(1)
    expect(edits).to_contain_text("set_attribute")
    added = page.get_by_role("table", name="Triples the scenario adds against base")
    removed = page.get_by_role("table", name="Triples the scenario removes against base")
    expect(added).to_contain_text("99.5")
    expect(added.locator("tbody tr")).to_have_count(1)
    expect(removed.locator("tbody tr")).to_have_count(1)  # the old value
    check_page(page, "twin-scenario")

    # the console answers on the scenario's view
    console.get_by_role("textbox", name="Scenario").fill("hot-sensor")
    console.get_by_role("button", name="Run query").click()
    expect(results.locator("tbody tr td").nth(1)).to_have_text(re.compile(r"^99\.5"))

    # delete it
    page.get_by_role("button", name="Delete scenario").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete scenario").click()
    expect(page.get_by_role("table", name="Scenarios of plant")).to_contain_text(
        "No scenarios yet."
    )
    gone = httpx.get(
        f"{platform.api}/projects/{PROJECT}/twins/plant/scenarios", headers=platform.headers()
    ).json()
    assert gone["items"] == []


@pytest.mark.timeout(900)  # one training flow run
def test_train_model_and_read_its_card(
    platform: Platform, windfarm: DemoResult, ui: tuple[Page, Watch]
) -> None:
    page, _watch = ui
    sign_in(page, platform.base_url, platform.token)
    page.goto(f"{platform.base_url}/#/projects/{PROJECT}")
    page.get_by_role("link", name="Open models").click()
    expect(page.get_by_role("table", name=f"Models of {PROJECT}")).to_contain_text("No models yet")
    page.get_by_role("button", name="New model").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Name").fill("turbine-failure")
    dialog.get_by_role("textbox", name="Entity Class").fill("Turbine")
    dialog.get_by_role("textbox", name="Target").fill("failed")
    dialog.get_by_role("combobox", name="Algorithm").select_option("random_forest")
    dialog.get_by_role("button", name="Create model").click()
    # create_model checks the spec against the ontology and the stored data first
    expect(page.get_by_role("heading", name="Model turbine-failure")).to_be_visible(timeout=60_000)
    expect(page.locator("#model-state")).to_have_text("not trained yet")

    page.get_by_role("button", name="Train new version").click()
    expect(page.locator("#model-state")).to_contain_text("COMPLETED", timeout=600_000)
    metrics = page.get_by_role("table", name="Metrics: the model beside the baseline")
    expect(metrics.get_by_role("cell", name="balanced_accuracy", exact=True)).to_be_visible()
    card = page.locator("#model-card")
    expect(card).to_contain_text("Metrics")
    expect(card).to_contain_text("baseline")
    check_page(page, "model")

    turbine = sorted(generate().failed_turbines)[0]
    page.get_by_role("region", name="Predict").get_by_role("textbox", name="Entities").fill(turbine)
    page.get_by_role("button", name="Predict", exact=True).click()
    predictions = page.get_by_role("table", name="Predictions")
    errors = page.locator("#toasts .toast.error")
    expect(predictions.or_(errors)).to_be_visible(timeout=60_000)  # the model loads first
    assert errors.count() == 0, errors.all_inner_texts()
    expect(predictions.locator("tbody tr")).to_have_count(1)
    expect(predictions).to_contain_text(turbine)

    # monitoring: batch predictions for every turbine, then a drift check on unchanged data
    monitoring = page.get_by_role("region", name="Monitoring")
    expect(monitoring).to_contain_text("No drift check yet")
    monitoring.get_by_role("button", name="Score every entity").click()
    stored = page.locator("#toasts .toast", has_text="predictions stored")
    expect(stored).to_contain_text(f"{generate().counts['turbines']} predictions", timeout=300_000)
    monitoring.get_by_role("button", name="Check drift").click()
    expect(page.locator("#drift-verdict")).to_contain_text("Not degraded", timeout=300_000)
    checks = page.get_by_role("table", name="Drift checks, newest first")
    expect(checks.locator("tbody tr")).to_have_count(1)
    drift = httpx.get(f"{platform.api}/projects/{PROJECT}/models/turbine-failure/drift",
                      headers=platform.headers()).json()
    assert drift["degraded"] is False and len(drift["items"]) == 1

    page.get_by_role("link", name="Models", exact=True).click()
    expect(page.get_by_role("table", name=f"Models of {PROJECT}")).to_contain_text("COMPLETED")
    check_page(page, "models")


@pytest.mark.timeout(600)  # one detection flow run
def test_anomaly_becomes_an_alert_approved_and_acknowledged(
    platform: Platform, windfarm: DemoResult, ui: tuple[Page, Watch]
) -> None:
    page, _watch = ui
    save_alert_note(platform)
    sign_in(page, platform.base_url, platform.token)
    page.goto(f"{platform.base_url}/#/projects/{PROJECT}")
    page.get_by_role("link", name="Open alerts").click()
    alerts = page.get_by_role("table", name="Alerts", exact=True)
    expect(alerts).to_contain_text("No alerts.")

    # a manual trigger, from the form generated from create_trigger
    triggers = page.get_by_role("table", name=f"Triggers of {PROJECT}")
    expect(triggers).to_contain_text("No triggers yet.")
    page.get_by_role("button", name="New trigger").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Name", exact=True).fill("hold-for-review")
    dialog.get_by_role("combobox", name="Kind").select_option("alert_raised")
    dialog.get_by_role("textbox", name="Pipeline").fill("alert-note")
    dialog.get_by_role("combobox", name="Approval").select_option("manual")
    dialog.get_by_role("button", name="Create trigger").click()
    expect(triggers.locator("tbody tr")).to_have_count(1)
    expect(triggers).to_contain_text("alert_raised: any class, at least low")
    expect(triggers).to_contain_text("none (manual)")

    page.get_by_role("button", name="Run detection").click()
    expect(page.locator("#detection-state")).to_contain_text("Completed", timeout=300_000)
    expect(alerts.get_by_text("open", exact=True).first).to_be_visible()
    anomalies = page.get_by_role("table", name="Anomalies found by detection runs")
    expect(anomalies.locator("tbody tr").first).not_to_contain_text("No anomalies")
    held = alerts.get_by_role("list", name=re.compile(r"^Actions held on ")).first
    expect(held).to_contain_text("hold-for-review → alert-note (pending)")
    check_page(page, "alerts")

    # approve one alert: its held action starts the output pipeline's run
    approve = alerts.get_by_role("button", name=re.compile(r"^Approve alert on ")).first
    approve_label = approve.get_attribute("aria-label") or ""
    approve.click()
    started = page.get_by_role("list", name="Runs started by approval")
    expect(started).to_contain_text("hold-for-review started alert-note")
    run_link = started.get_by_role("link", name=re.compile(r"^run "))
    run_id = (run_link.get_attribute("href") or "").rsplit("/", 1)[1]
    expect(started.get_by_role("link", name="Follow it in the Prefect UI")).to_have_attribute(
        "href", re.compile(f"/runs/flow-run/{run_id}$")
    )
    expect(alerts.get_by_role("button", name=approve_label, exact=True)).to_have_count(0)
    run = httpx.get(
        f"{platform.api}/projects/{PROJECT}/pipelines/alert-note/runs/{run_id}",
        headers=platform.headers(),
    )
    assert run.status_code == 200, run.text
    run_link.click()
    expect(page.locator("#run-state")).to_be_visible()  # the run page of the started run
    expect(page.locator("dl.facts")).to_contain_text("hold-for-review")  # params.trigger
    page.go_back()
    settle(page)

    # reject another: its held action is dropped and nothing runs
    rejects = alerts.get_by_role("button", name=re.compile(r"^Reject alert on "))
    pending_before = rejects.count()
    assert pending_before >= 1
    rejects.first.click()
    expect(page.get_by_role("list", name="Actions rejected")).to_contain_text(
        "hold-for-review → alert-note (rejected)"
    )
    expect(rejects).to_have_count(pending_before - 1)
    expect(alerts.get_by_role("button", name=re.compile(r"^Approve alert on "))).to_have_count(
        pending_before - 1
    )
    runs = httpx.get(
        f"{platform.api}/projects/{PROJECT}/pipelines/alert-note/runs", headers=platform.headers()
    ).json()["items"]
    assert [r["id"] for r in runs] == [run_id]  # only the approved alert started a run

    open_before = alerts.get_by_role("button", name="Acknowledge").count()
    first = alerts.get_by_role("button", name=re.compile(r"^Acknowledge alert on ")).first
    label = first.get_attribute("aria-label") or ""
    first.click()
    expect(page.get_by_text(re.compile(r"is acknowledged\.$"))).to_be_visible()
    expect(alerts.get_by_role("button", name=label, exact=True)).to_have_count(0)
    assert alerts.get_by_role("button", name="Acknowledge").count() == open_before - 1
    acknowledged = httpx.get(
        f"{platform.api}/projects/{PROJECT}/alerts",
        params={"state": "acknowledged"},
        headers=platform.headers(),
    ).json()["items"]
    assert len(acknowledged) == 1

    # the filter form is generated from list_alerts: only the acknowledged one
    page.get_by_role("combobox", name="State").select_option("acknowledged")
    page.get_by_role("button", name="Show alerts").click()
    expect(alerts.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#toasts .toast")).to_have_count(0, timeout=15_000)  # info toasts go
    check_page(page, "alerts-triggers", full_page=False)  # the alert above its trigger

    # delete the trigger, confirmed in a dialog
    page.get_by_role("button", name="Delete trigger hold-for-review").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete trigger").click()
    expect(triggers).to_contain_text("No triggers yet.")


def test_pipeline_run_trigger_and_detection_rules_from_union_forms(
    platform: Platform, windfarm: DemoResult, ui: tuple[Page, Watch]
) -> None:
    """create_trigger's condition and each detection rule are discriminated unions: the form
    offers their branches and sends only the chosen branch's values."""
    page, watch = ui
    save_alert_note(platform)
    sign_in(page, platform.base_url, platform.token)
    page.goto(f"{platform.base_url}/#/projects/{PROJECT}/alerts")
    settle(page)

    page.get_by_role("button", name="New trigger").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Name", exact=True).fill("after-ingest")
    condition = dialog.get_by_role("group", name="Condition")
    expect(condition.get_by_role("textbox", name="Class Name")).to_be_visible()  # alert_raised
    condition.get_by_role("combobox", name="Kind").select_option("pipeline_run")
    expect(condition.get_by_role("textbox", name="Class Name")).to_have_count(0)
    condition.get_by_role("textbox", name="Pipeline").fill("ingest-windfarm")
    condition.get_by_role("combobox", name="Outcome").select_option("failed")
    dialog.locator("form > div.field").get_by_role("textbox", name="Pipeline").fill("alert-note")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/triggers")) as sent:
        dialog.get_by_role("button", name="Create trigger").click()
    body = sent.value.post_data_json
    assert body is not None
    assert body["condition"] == {  # only the chosen branch's values
        "kind": "pipeline_run",
        "pipeline": "ingest-windfarm",
        "outcome": "failed",
    }
    triggers = page.get_by_role("table", name=f"Triggers of {PROJECT}")
    expect(triggers).to_contain_text("pipeline_run: ingest-windfarm failed")
    expect(triggers.locator("tbody tr")).to_have_count(1)
    expect(triggers).not_to_contain_text("none (manual)")  # a Prefect automation watches it

    # detection rules: a list of threshold | sparql, one fieldset per rule
    page.locator("#op-set_detection_settings summary").click()
    panel = page.locator("#op-set_detection_settings")
    panel.get_by_role("button", name="Add rule").click()
    first = panel.get_by_role("group", name="Rule 1")
    first.get_by_role("combobox", name="Kind").select_option("threshold")
    first.get_by_role("textbox", name="Name", exact=True).fill("hot-reading")
    first.get_by_role("textbox", name="Class Name").fill("NoSuchClass")
    first.get_by_role("textbox", name="Attribute").fill("value")
    first.get_by_role("spinbutton", name="Value").fill("90")
    panel.get_by_role("button", name="Add rule").click()
    second = panel.get_by_role("group", name="Rule 2")
    second.get_by_role("combobox", name="Kind").select_option("sparql")
    expect(second.get_by_role("textbox", name="Class Name")).to_have_count(0)
    second.get_by_role("textbox", name="Name", exact=True).fill("any-reading")
    second.get_by_role("combobox", name="Severity").select_option("high")
    second.get_by_role("textbox", name="Query").fill("ASK { ?s ?p ?o }")
    save = panel.get_by_role("button", name="PUT set_detection_settings")

    # a rule on a class the ontology lacks: the API's problem document, naming the field
    save.click()
    toast = page.locator("#toasts .toast.error")
    expect(toast).to_contain_text("unknown class 'NoSuchClass'")
    expect(toast).to_contain_text("rules.0.class_name")
    check_page(page, "alerts-rules-error")
    assert any(
        path.endswith("/anomalies/settings") and status == 422
        for path, status in watch.api_statuses
    )
    settings_url = f"{platform.api}/projects/{PROJECT}/anomalies/settings"
    assert httpx.get(settings_url, headers=platform.headers()).json()["rules"] == []
    toast.get_by_role("button", name="Dismiss message").click()

    first.get_by_role("textbox", name="Class Name").fill("Reading")
    save.click()
    expect(panel.locator(".op-result")).to_contain_text("any-reading")
    stored = httpx.get(settings_url, headers=platform.headers()).json()["rules"]
    set_fields = [{k: v for k, v in rule.items() if v is not None} for rule in stored]
    assert set_fields == [
        {
            "kind": "threshold",
            "name": "hot-reading",
            "severity": "medium",
            "class_name": "Reading",
            "attribute": "value",
            "op": ">",
            "value": 90.0,
        },
        {"kind": "sparql", "name": "any-reading", "severity": "high", "query": "ASK { ?s ?p ?o }"},
    ]

    # remove a rule: the one left is renumbered and saved alone
    panel.get_by_role("button", name="Remove rule 1").click()
    expect(panel.get_by_role("group", name="Rule 1")).to_contain_text("Query")
    save.click()  # the answer is cleared on submit, then shown
    expect(panel.locator(".op-result")).to_contain_text("any-reading")
    expect(panel.locator(".op-result")).not_to_contain_text("hot-reading")
    stored = httpx.get(settings_url, headers=platform.headers()).json()["rules"]
    assert [r["name"] for r in stored] == ["any-reading"]

    # leave the project as the other tests expect it
    for gone in (
        httpx.put(settings_url, json={}, headers=platform.headers()),
        httpx.delete(
            f"{platform.api}/projects/{PROJECT}/triggers/after-ingest", headers=platform.headers()
        ),
    ):
        assert gone.status_code < 300, gone.text


def test_table_history_and_as_of_read(
    platform: Platform, windfarm: DemoResult, ui: tuple[Page, Watch]
) -> None:
    page, _watch = ui
    sign_in(page, platform.base_url, platform.token)
    tables = httpx.get(
        f"{platform.api}/projects/{PROJECT}/tables", headers=platform.headers()
    ).json()["items"]
    turbine = next(t for t in tables if t["name"] == "turbine")
    page.goto(f"{platform.base_url}/#/projects/{PROJECT}/tables/turbine")
    settle(page)
    page.locator("#table-history summary").click()
    history = page.get_by_role("table", name="Changes of turbine, newest first")
    expect(history.locator("tbody tr").first).to_be_visible()
    oldest, newest = history.locator("tbody tr").last, history.locator("tbody tr").first
    assert oldest.locator("td").nth(2).inner_text() == "create"  # made empty, then loaded
    version = oldest.locator("td").first.inner_text()
    oldest.get_by_role("button", name=f"Read as of version {version}").click()
    rows = page.get_by_role("table", name=re.compile(r"^Rows of turbine as of "))
    expect(rows).to_contain_text("No rows match.")  # the table as it was when created
    expect(page.locator("#as-of")).not_to_have_value("")
    version = newest.locator("td").first.inner_text()
    newest.get_by_role("button", name=f"Read as of version {version}").click()
    expect(rows.locator("tbody tr")).to_have_count(turbine["rows"])  # 60: one page of 100
    check_page(page, "table-history")


def test_newer_pages_fit_a_narrow_screen(
    platform: Platform, windfarm: DemoResult, browser: Browser
) -> None:
    """Twin, models, alerts and a table's history at 390x800: the menu reaches them and
    nothing scrolls sideways (runs last: the tests above filled these pages)."""
    page, watch = open_page(browser, width=390, height=800)
    sign_in(page, platform.base_url, platform.token)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="System")).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    nav.get_by_role("link", name="Projects").click()
    expect(nav.get_by_role("link", name="System")).to_be_hidden()  # closed once followed
    page.get_by_role("link", name=PROJECT, exact=True).click()
    page.get_by_role("link", name="Open models").click()
    expect(page.get_by_role("table", name=f"Models of {PROJECT}")).to_be_visible()
    check_page(page, "narrow-models")
    assert_fits_narrow(page)
    pages = {
        "narrow-twin": f"/projects/{PROJECT}/twins?twin=plant",
        "narrow-model": f"/projects/{PROJECT}/models/turbine-failure",
        "narrow-alerts": f"/projects/{PROJECT}/alerts",
        "narrow-table-history": f"/projects/{PROJECT}/tables/turbine",
    }
    for name, route in pages.items():
        page.goto(f"{platform.base_url}/#{route}")
        settle(page)
        if name == "narrow-table-history":
            page.locator("#table-history summary").click()
            expect(
                page.get_by_role("table", name="Changes of turbine, newest first")
            ).to_be_visible()
        if name == "narrow-alerts":
            page.get_by_role("button", name="New trigger").click()
            assert_fits_narrow(page)  # the dialog with the condition's union
            page.get_by_role("dialog").get_by_role("button", name="Close").click()
        check_page(page, name)
        assert_fits_narrow(page)
    page.context.close()
    watch.assert_clean()
