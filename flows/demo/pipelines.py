"""The sample project's pipelines, as a user would write them in YAML.

They read the generated sources from the project's files (uploaded by the demo, never fetched
from outside), land them in the raw area, and later render a fleet report from the
ontology-shaped tables.
"""

from __future__ import annotations

INGEST = """\
# Land the wind-farm exports in the raw area; extraction then proposes the ontology.
name: ingest-windfarm
type: ingestion
steps:
  - name: sites_file
    action: file.read
    with: {path: "sources/sites.json", format: json}
  - name: sites
    action: storage.write
    with: {source: sites, rows: "{{ steps.sites_file.content }}"}
  - name: turbines_file
    action: file.read
    with: {path: "sources/turbines.csv"}
  - name: turbines_rows
    action: csv.parse
    with: {text: "{{ steps.turbines_file.content }}"}
  - name: turbines
    action: storage.write
    with: {source: turbines, rows: "{{ steps.turbines_rows.rows }}"}
  - name: sensors_file
    action: file.read
    with: {path: "sources/sensors.csv"}
  - name: sensors_rows
    action: csv.parse
    with: {text: "{{ steps.sensors_file.content }}"}
  - name: sensors
    action: storage.write
    with: {source: sensors, rows: "{{ steps.sensors_rows.rows }}"}
  - name: readings_file
    action: file.read
    with: {path: "sources/readings.csv"}
  - name: readings_rows
    action: csv.parse
    with: {text: "{{ steps.readings_file.content }}"}
  - name: readings
    action: storage.write
    with: {source: readings, rows: "{{ steps.readings_rows.rows }}"}
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
    with: {source: turbines, limit: 1000}
  - name: report
    action: report.render
    with:
      path: reports/fleet.md
      format: markdown
      data: "{{ steps.turbines.rows }}"
      template: |
        # {{ params.title }}
        {{ data | length }} turbines.
        {% for t in data %}- {{ t['Turbine ID'] }} ({{ t['Model'] }})
        {% endfor %}
"""

PIPELINES = {"ingest-windfarm": INGEST, "fleet-report": REPORT}
