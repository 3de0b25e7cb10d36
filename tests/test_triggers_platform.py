"""Triggers on the real platform: ingestion → detection → alert → Prefect automation → output
pipeline run → a report in project storage, an e-mail to a real SMTP server and a webhook.

A small project is built through REST like a user would (upload, ingest, extraction, tables);
detection runs on the worker; the automatic trigger is a Prefect automation on the session's
Prefect server, which starts the output pipeline's deployment; the SMTP server (aiosmtpd, with
a login whose password lives in a Prefect Secret block) and the webhook receiver run in this
process. Manual approval holds the run until `approve_alert`; `reject_alert` drops it.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.exceptions import PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.conftest import Platform
from tests.utils.http_server import HTTPFixture, http_test_server
from tests.utils.runs import wait_for_run
from tests.utils.servers import free_port

PROJECT = "alarms"
SMTP_USER, SMTP_PASSWORD = "mimir", "s3cret-smtp-pw"
READINGS = (
    "reading_id,sensor,value\n"
    + "".join(f"r{i:03d},s{i % 3},{20 + (i % 7) * 0.1:.1f}\n" for i in range(60))
    + "r999,s1,500.0\n"
)

INGEST = """\
name: ingest-readings
type: ingestion
steps:
  - name: readings
    action: storage.load
    with: {path: sources/readings.csv, source: readings}
"""


def report_pipeline(smtp_port: int, webhook: str) -> str:
    """The output pipeline a trigger runs: alerts of the class → report, webhook, e-mail."""
    return f"""\
name: alert-report
type: output
parameters:
  trigger: {{type: object, default: {{}}}}
steps:
  - name: alerts
    action: twin.anomalies
    with: {{class_name: "{{{{ params.trigger.payload.class_name }}}}", state: open}}
  - name: report
    action: report.render
    with:
      path: "reports/alert-{{{{ params.trigger.payload.alert_id }}}}.md"
      format: markdown
      data: {{trigger: "{{{{ params.trigger }}}}", alerts: "{{{{ steps.alerts.rows }}}}"}}
      template: |
        # Alert on {{{{ data.trigger.payload.entity }}}}
        Fired by {{{{ data.trigger.name }}}} ({{{{ data.trigger.event }}}}), severity {{{{ data.trigger.payload.severity }}}}.
        {{{{ data.alerts | length }}}} open alerts of the class.
  - name: hook
    action: notify
    with:
      webhook: "{webhook}/alerts"
      title: "alert {{{{ params.trigger.payload.alert_id }}}}"
      message: "{{{{ params.trigger.payload.summary }}}}"
  - name: mail
    action: notify
    with:
      title: "Mimir alert on {{{{ params.trigger.payload.entity }}}}"
      message: "{{{{ params.trigger.payload.summary }}}}"
      email:
        host: 127.0.0.1
        port: {smtp_port}
        security: none
        sender: mimir@example.org
        to: [ops@example.org]
        username: {SMTP_USER}
        password_secret: smtp-password
"""


RUN_NOTE = """\
name: run-note
type: output
parameters:
  trigger: {type: object, default: {}}
steps:
  - name: note
    action: report.render
    with:
      path: reports/run-note.md
      format: markdown
      data: "{{ params.trigger }}"
      template: "{{ data.event }} {{ data.resource }}"
"""


@dataclass
class Mailbox:
    """What the SMTP server received, and with which login."""

    messages: list[bytes] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@dataclass
class World:
    """The running pieces the tests share."""

    platform: Platform
    mailbox: Mailbox
    hooks: HTTPFixture
    reading_class: str

    def call(self, method: str, tail: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.platform.api}/projects/{PROJECT}{tail}",
            headers=self.platform.headers(),
            timeout=120,
            **kwargs,
        )

    def ok(self, method: str, tail: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, tail, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    def get(self, url: str) -> httpx.Response:
        return httpx.get(url, headers=self.platform.headers(), timeout=60)

    def wait(self, what: str, probe: Callable[[], Any], deadline_s: float = 180) -> Any:
        """Poll until `probe` returns something truthy (a bound, not a timing assertion)."""
        stop = time.monotonic() + deadline_s
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > stop:
                raise AssertionError(f"{what}: not within {deadline_s}s")
            time.sleep(0.5)

    def runs(self, pipeline: str) -> list[dict[str, Any]]:
        return list(self.ok("GET", f"/pipelines/{pipeline}/runs")["items"])

    def detect(self) -> dict[str, Any]:
        started = self.ok("POST", "/anomalies/runs", 201, json={})
        run = wait_for_run(self.get, self.platform.api, PROJECT, started["flow_run_id"])
        assert run["state"] == "COMPLETED", run
        return dict(run["result"])

    def finished(self, pipeline: str, count: int) -> list[dict[str, Any]]:
        """Wait for `count` runs of `pipeline`, all ended; they must have completed."""
        final = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
        runs = self.wait(
            f"{count} ended runs of {pipeline}",
            lambda: (
                (r := self.runs(pipeline))
                and len(r) >= count
                and all(x["state"] in final for x in r)
                and r
            ),
        )
        assert len(runs) == count, runs
        assert all(r["state"] == "COMPLETED" for r in runs), [
            (r["state"], r["message"]) for r in runs
        ]
        return list(runs)

    def file(self, path: str) -> str:
        return str(self.ok("GET", "/files/content", params={"path": path})["text"])


def _authenticator(mailbox: Mailbox) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        good = isinstance(data, LoginPassword) and (
            data.login.decode(),
            data.password.decode(),
        ) == (SMTP_USER, SMTP_PASSWORD)
        if good:
            mailbox.logins.append(data.login.decode())
        return AuthResult(success=good)

    return check


def _build_project(platform: Platform, world: World) -> str:
    """Project, source file, ingestion, accepted ontology, loaded tables; the class name."""
    api = platform.api
    headers = platform.headers()
    found = httpx.get(f"{api}/projects/{PROJECT}", headers=headers)
    if found.status_code == 200:
        httpx.delete(f"{api}/projects/{PROJECT}", headers=headers, timeout=120)
    created = httpx.post(f"{api}/projects", headers=headers, json={"name": PROJECT}, timeout=120)
    assert created.status_code == 201, created.text
    world.ok(
        "POST",
        "/files",
        201,
        json={
            "path": "sources/readings.csv",
            "base64": base64.b64encode(READINGS.encode()).decode(),
        },
    )
    world.ok("PUT", "/pipelines/ingest-readings", json={"yaml": INGEST})
    started = world.ok("POST", "/pipelines/ingest-readings/runs", 201, json={})
    run = wait_for_run(world.get, api, PROJECT, started["flow_run_id"])
    assert run["state"] == "COMPLETED", run
    ontology = world.wait(
        "an accepted ontology",
        lambda: [o for o in world.ok("GET", "/ontologies")["items"] if o.get("version")],
    )[0]
    detail = world.ok("GET", f"/ontologies/{ontology['name']}")
    world.wait(
        "the class tables loaded",
        lambda: (
            (loads := [r for r in world.ok("GET", "/runs")["items"] if r["kind"] == "load-tables"])
            and all(r["state"] == "COMPLETED" for r in loads)
        ),
    )
    names = [c.get("label") or c["iri"].rsplit("/", 1)[-1] for c in detail["classes"]]
    names = [n for n in names if "reading" in str(n).lower()]
    assert len(names) == 1, detail["classes"]
    settings = world.ok("GET", "/anomalies/settings")
    world.ok("PUT", "/anomalies/settings", json={**settings, "methods": ["mad"], "cooldown_s": 0})
    return str(names[0])


@pytest.fixture(scope="module")
def world(platform: Platform) -> Iterator[World]:
    mailbox = Mailbox()
    smtp_port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=smtp_port,
        authenticator=_authenticator(mailbox),
        auth_require_tls=False,
    )
    controller.start()
    try:
        with http_test_server() as hooks:
            w = World(platform=platform, mailbox=mailbox, hooks=hooks, reading_class="")
            w.reading_class = _build_project(platform, w)
            with temporary_settings({PREFECT_API_URL: platform.env["PREFECT_API_URL"]}):
                Secret(value=SMTP_PASSWORD).save(f"{PROJECT}--smtp-password", overwrite=True)
            w.ok(
                "PUT",
                "/pipelines/alert-report",
                json={"yaml": report_pipeline(smtp_port, hooks.url)},
            )
            w.ok("PUT", "/pipelines/run-note", json={"yaml": RUN_NOTE})
            yield w
    finally:
        controller.stop()
        httpx.delete(f"{platform.api}/projects/{PROJECT}", headers=platform.headers(), timeout=120)


def automation_exists(platform: Platform, automation_id: str) -> bool:
    with (
        temporary_settings({PREFECT_API_URL: platform.env["PREFECT_API_URL"]}),
        get_client(sync_client=True) as client,
    ):
        try:
            return client.read_automation(uuid.UUID(automation_id)) is not None
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code == 404:
                return False
            raise


@pytest.mark.timeout(900)  # builds the project (ingestion, extraction, tables) first
def test_alert_runs_the_output_pipeline_once_through_an_automation(world: World) -> None:
    trigger = world.ok(
        "POST",
        "/triggers",
        201,
        json={
            "name": "report-readings",
            "condition": {
                "kind": "alert_raised",
                "class_name": world.reading_class,
                "attribute": "value",
                "min_severity": "medium",
            },
            "pipeline": "alert-report",
        },
    )
    assert trigger["approval"] == "automatic" and trigger["automation_id"]
    assert automation_exists(world.platform, trigger["automation_id"])
    chained = world.ok(
        "POST",
        "/triggers",
        201,
        json={
            "name": "note-reports",
            "condition": {"kind": "pipeline_run", "pipeline": "alert-report"},
            "pipeline": "run-note",
        },
    )
    assert chained["automation_id"]
    names = [t["name"] for t in world.ok("GET", "/triggers")["items"]]
    assert names == ["note-reports", "report-readings"]

    first = world.detect()
    assert first["alerts"]["alerts_raised"] == 1, first
    (alert,) = world.ok("GET", "/alerts")["items"]
    assert alert["entity"].endswith("r999") and alert["severity"] in ("high", "critical")

    (run,) = world.finished("alert-report", 1)
    assert run["parameters"]["trigger"]["payload"]["alert_id"] == alert["id"]
    assert run["parameters"]["trigger"]["event"] == "mimir.alert.raised"
    report = world.file(f"reports/alert-{alert['id']}.md")
    assert alert["entity"] in report and "Fired by report-readings" in report
    assert "1 open alerts of the class." in report

    # The webhook and the e-mail, the SMTP login made with the password from the Secret block.
    assert [h["path"] for h in world.hooks.received] == ["/alerts"]
    assert world.hooks.received[0]["body"]["title"] == f"alert {alert['id']}"
    assert len(world.mailbox.messages) == 1 and world.mailbox.logins == [SMTP_USER]
    mail = message_from_bytes(world.mailbox.messages[0], policy=policy.default)
    assert mail["Subject"] == f"Mimir alert on {alert['entity']}"
    assert mail["To"] == "ops@example.org"
    assert SMTP_PASSWORD not in world.mailbox.messages[0].decode()
    detail = world.ok("GET", f"/runs/{run['id']}")
    assert SMTP_PASSWORD not in str(detail)

    # The pipeline-run condition: alert-report's completion started run-note.
    world.finished("run-note", 1)
    assert (
        world.file("reports/run-note.md")
        == f"prefect.flow-run.Completed prefect.flow-run.{run['id']}"
    )

    # Two more detections see the same condition: still one alert, no new run.
    for _ in range(2):
        again = world.detect()
        assert again["alerts"]["alerts_raised"] == 0 and again["alerts"]["alerts_updated"] == 1
    events = world.ok("GET", "/events", params={"prefix": "mimir.alert."})["items"]
    assert len(events) == 1 and events[0]["payload"]["alert_id"] == alert["id"]
    assert events[0]["resource"]["mimir.severity"] == alert["severity"]
    time.sleep(5)  # room for a (wrong) second automation run to show up
    assert len(world.runs("alert-report")) == 1 and len(world.mailbox.messages) == 1
    (alert_again,) = world.ok("GET", "/alerts")["items"]
    assert alert_again["occurrences"] == 3

    deleted = world.ok("DELETE", "/triggers/report-readings")
    assert deleted["automation_deleted"] is True
    assert not automation_exists(world.platform, trigger["automation_id"])
    world.ok("DELETE", "/triggers/note-reports")
    world.ok("POST", f"/alerts/{alert['id']}/resolve", json={})


@pytest.mark.timeout(600)  # three detections and a pipeline run on the worker
def test_manual_approval_holds_the_run_until_approved(world: World) -> None:
    world.ok(
        "POST",
        "/triggers",
        201,
        json={
            "name": "ask-first",
            "condition": {"kind": "alert_raised", "class_name": world.reading_class},
            "pipeline": "alert-report",
            "approval": "manual",
        },
    )
    before = len(world.runs("alert-report"))
    raised = world.detect()  # cooldown 0: the resolved condition raises a new alert
    assert raised["alerts"]["alerts_raised"] == 1, raised
    (alert,) = world.ok("GET", "/alerts", params={"state": "open"})["items"]
    assert alert["pending_actions"] == 1
    actions = world.ok("GET", f"/alerts/{alert['id']}/actions")["items"]
    assert [(a["trigger"], a["state"]) for a in actions] == [("ask-first", "pending")]
    time.sleep(5)  # room for a (wrong) automatic run to show up
    assert len(world.runs("alert-report")) == before

    decision = world.ok("POST", f"/alerts/{alert['id']}/approve", json={})
    assert decision["state"] == "approved"
    approved = decision["items"]
    assert world.ok("GET", f"/alerts/{alert['id']}")["pending_actions"] == 0
    assert approved[0]["state"] == "approved" and approved[0]["flow_run_id"]
    runs = world.finished("alert-report", before + 1)
    assert runs[0]["id"] == approved[0]["flow_run_id"]
    assert runs[0]["parameters"]["trigger"]["payload"]["alert_id"] == alert["id"]
    assert alert["entity"] in world.file(f"reports/alert-{alert['id']}.md")
    twice = world.call("POST", f"/alerts/{alert['id']}/approve", json={})
    assert twice.status_code == 422 and twice.json()["field"].endswith("alert_id")

    # Reject: the next alert's action is dropped and nothing runs.
    world.ok("POST", f"/alerts/{alert['id']}/resolve", json={})
    assert world.detect()["alerts"]["alerts_raised"] == 1
    (fresh,) = world.ok("GET", "/alerts", params={"state": "open"})["items"]
    decision = world.ok("POST", f"/alerts/{fresh['id']}/reject", json={})
    assert decision["state"] == "rejected"
    rejected = decision["items"]
    assert [a["state"] for a in rejected] == ["rejected"]
    late = world.call("POST", f"/alerts/{fresh['id']}/approve", json={})
    assert late.status_code == 422
    time.sleep(5)
    assert len(world.runs("alert-report")) == before + 1
    world.ok("DELETE", "/triggers/ask-first")


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        (
            {"condition": {"kind": "alert_raised"}, "pipeline": "no-such"},
            422,
            "pipeline",
            "has no pipeline 'no-such'",
        ),
        (
            {"condition": {"kind": "alert_raised"}, "pipeline": "ingest-readings"},
            422,
            "pipeline",
            "ingestion pipeline",
        ),
        (
            {
                "condition": {"kind": "alert_raised", "class_name": "Windmill"},
                "pipeline": "alert-report",
            },
            422,
            "condition.class_name",
            "unknown class 'Windmill'",
        ),
        (
            {"condition": {"kind": "sparql_ask"}, "pipeline": "alert-report"},
            422,
            "condition",
            "",
        ),
        (
            {
                "condition": {"kind": "pipeline_run", "pipeline": "alert-report"},
                "pipeline": "alert-report",
            },
            422,
            "condition.pipeline",
            "cycle: alert-report → alert-report",
        ),
        (
            {
                "condition": {"kind": "pipeline_run", "pipeline": "ingest-readings"},
                "pipeline": "alert-report",
                "approval": "manual",
            },
            422,
            "approval",
            "automatic only",
        ),
        (
            {"condition": {"kind": "model_drift", "model": "no-such-model"},
             "pipeline": "alert-report"},
            422,
            "condition.model",
            "has no model 'no-such-model'",
        ),
        (
            {"condition": {"kind": "model_drift"}, "pipeline": "alert-report",
             "approval": "manual"},
            422,
            "approval",
            "model_drift conditions are automatic only",
        ),
    ],
    ids=["missing-pipeline", "not-output", "unknown-class", "bad-kind", "self-cycle", "manual-run",
         "unknown-model", "manual-drift"],
)
def test_bad_triggers_are_refused_naming_the_field(
    world: World, body: dict[str, Any], status: int, field: str, words: str
) -> None:
    response = world.call("POST", "/triggers", json={"name": "bad", **body})
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["field"].endswith(field), problem
    assert words in problem["detail"]
    assert world.call("GET", "/triggers/bad").status_code == 404


def test_a_cycle_through_two_triggers_is_refused(world: World) -> None:
    world.ok(
        "POST",
        "/triggers",
        201,
        json={
            "name": "a-to-b",
            "condition": {"kind": "pipeline_run", "pipeline": "alert-report", "outcome": "failed"},
            "pipeline": "run-note",
        },
    )
    back = world.call(
        "POST",
        "/triggers",
        json={
            "name": "b-to-a",
            "condition": {"kind": "pipeline_run", "pipeline": "run-note"},
            "pipeline": "alert-report",
        },
    )
    assert back.status_code == 422 and back.json()["field"].endswith("condition.pipeline")
    assert "run-note → alert-report → run-note" in back.json()["detail"]
    # A pipeline a trigger runs or watches cannot be deleted from under it.
    for pipeline in ("run-note", "alert-report"):
        busy = world.call("DELETE", f"/pipelines/{pipeline}")
        assert busy.status_code == 409 and busy.json()["field"].endswith("name")
        assert "a-to-b" in busy.json()["detail"]
    # Nor can a pipeline a trigger runs lose what the trigger needs.
    bare = RUN_NOTE.replace("parameters:\n  trigger: {type: object, default: {}}\n", "")
    bare = bare.replace('data: "{{ params.trigger }}"', "data: {}")
    changed = world.call("PUT", "/pipelines/run-note", json={"yaml": bare})
    assert changed.status_code == 422 and changed.json()["field"].endswith("yaml")
    assert "a-to-b" in changed.json()["detail"]
    world.ok("DELETE", "/triggers/a-to-b")


def test_deleting_the_project_removes_its_automations(world: World) -> None:
    trigger = world.ok(
        "POST",
        "/triggers",
        201,
        json={
            "name": "left-behind",
            "condition": {"kind": "alert_raised"},
            "pipeline": "alert-report",
        },
    )
    assert automation_exists(world.platform, trigger["automation_id"])
    world.ok("DELETE", "")
    assert not automation_exists(world.platform, trigger["automation_id"])
