"""The sample project's pipelines, as a user would write them in YAML.

They read the generated sources from the project's files (uploaded by the demo, never fetched
from outside), land them in the raw area, and later render a fleet report from the
ontology-shaped tables (the report reads the `turbine` class table the accepted ontology made).
"""

from __future__ import annotations

import json

INGEST = """\
# Land the wind-farm exports in the raw area; extraction then proposes the ontology.
# storage.load streams each file in batches, so the run context holds counts, not records.
name: ingest-windfarm
type: ingestion
steps:
  - name: sites
    action: storage.load
    with: {path: sources/sites.json, format: json, source: sites}
  - name: turbines
    action: storage.load
    with: {path: sources/turbines.csv, source: turbines}
  - name: sensors
    action: storage.load
    with: {path: sources/sensors.csv, source: sensors}
  - name: readings
    action: storage.load
    with: {path: sources/readings.csv, source: readings}
"""

COMMISSION = """\
# A site commissioned later, already in the ontology's terms: written straight into the
# class tables (upsert by key, so running it again changes nothing). The trigger
# 'fleet-on-commission' re-runs the fleet report when this pipeline completes.
name: commission-site
type: processing
steps:
  - name: site
    action: storage.load
    with: {path: sources/new-site/sites.json, format: json, class: Site}
  - name: turbines
    action: storage.load
    with: {path: sources/new-site/turbines.json, format: json, class: Turbine}
  - name: sensors
    action: storage.load
    with: {path: sources/new-site/sensors.json, format: json, class: Sensor}
"""

REPORT = """\
# A Markdown report of the fleet, written into the project's storage object. Run by hand,
# and by the trigger 'fleet-on-commission' (then params.trigger says which run fired it).
name: fleet-report
type: output
parameters:
  title: {type: string, default: "Fleet report"}
  trigger: {type: object, default: {}}
steps:
  - name: turbines
    action: storage.read
    with: {table: turbine, order_by: [turbine_id], limit: 1000}
  - name: report
    action: report.render
    with:
      path: reports/fleet.md
      format: markdown
      data: {title: "{{ params.title }}", turbines: "{{ steps.turbines.rows }}"}
      template: |
        # {{ data.title }}
        {{ data.turbines | length }} turbines.
        {% for t in data.turbines %}- {{ t.turbine_id }} ({{ t.model }}, site {{ t.site }})
        {% endfor %}
"""

ALERT_REPORT = """\
# Run by the trigger 'alert-report' once a person approves an alert: the alert arrives as
# params.trigger; the report lists the open alerts of the same class.
name: alert-report
type: output
parameters:
  trigger: {type: object, default: {}}
steps:
  - name: alerts
    action: twin.anomalies
    with: {class_name: "{{ params.trigger.payload.class_name }}", state: open, limit: 50}
  - name: report
    action: report.render
    with:
      path: "reports/alert-{{ params.trigger.payload.alert_id }}.md"
      format: markdown
      data: {alert: "{{ params.trigger.payload }}", open: "{{ steps.alerts.rows }}"}
      template: |
        # Alert on {{ data.alert.entity }}
        Severity {{ data.alert.severity }}: {{ data.alert.summary }}

        {{ data.open | length }} open alerts on {{ data.alert.class_name }}:
        {% for a in data.open %}- {{ a.severity }}: {{ a.entity }}
        {% endfor %}
"""

DRIFT_REPORT = """\
# Run by the trigger 'drift-report' when monitoring finds the failure model degraded: the
# monitoring result arrives as params.trigger.payload (model, version, reasons).
name: drift-report
type: output
parameters:
  trigger: {type: object, default: {}}
steps:
  - name: report
    action: report.render
    with:
      path: "reports/drift-{{ params.trigger.payload.model }}.md"
      format: markdown
      data: "{{ params.trigger.payload }}"
      template: |
        # Model {{ data.model }} v{{ data.version }} degraded
        Checked at {{ data.checked_at }}; prediction PSI {{ data.prediction_psi }}.

        {% for r in data.reasons %}- {{ r }}
        {% endfor %}
        Retrain it (train_model) once the new site's turbines have labels.
"""

NOTIFY_STEP = """\
  - name: tell
    action: notify
    with:
      title: "Mimir alert on the wind farm"
      message: "{{{{ params.trigger.payload.summary }}}} (report: {{{{ steps.report.path }}}})"
      webhook: {url}
"""

PIPELINES = {"ingest-windfarm": INGEST, "fleet-report": REPORT,
             "commission-site": COMMISSION, "drift-report": DRIFT_REPORT}


def pipelines(notify_url: str | None = None) -> dict[str, str]:
    """Every sample pipeline; the alert report also notifies `notify_url` when one is given
    (the demo runs offline, so it sends nothing unless told where)."""
    notify = NOTIFY_STEP.format(url=json.dumps(notify_url)) if notify_url else ""  # YAML-quoted
    alert_report = ALERT_REPORT + notify
    return {**PIPELINES, "alert-report": alert_report}
