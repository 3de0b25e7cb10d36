"""The sample project's pipelines, as a user would write them in YAML.

They read the generated sources from the project's files (uploaded by the demo, never fetched
from outside), land them in the raw area, and later render a fleet report from the
ontology-shaped tables (the report reads the `turbine` class table the accepted ontology made).
"""

from __future__ import annotations

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

REPORT = """\
# A Markdown report of the fleet, written into the project's storage object.
name: fleet-report
type: output
parameters:
  title: {type: string, default: "Fleet report"}
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

PIPELINES = {"ingest-windfarm": INGEST, "fleet-report": REPORT}
