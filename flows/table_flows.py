"""Heavy table work the API hands to a worker: loading class tables, exporting a table.

Both used to run inside an HTTP request (195k raw records took 17.8 s to load; an export
held a whole table in the API's memory). Now the operation starts one of these flows and
answers with the flow-run id; the caller follows it with `get_project_run`, whose `result`
is what the flow records here.

* `load-ontology-tables`: after a version is accepted, map the raw records of the classes
  whose tables the accept created or rebuilt into those tables (`domain.ontology_storage.
  load_raw`), with the published mapping of that version.
* `export-table`: stream a (filtered) table into `exports/<table>.<format>` in the storage
  object (`domain.exports.export_table`).
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import FlowRun

from domain.exports import export_table
from domain.ontology_storage import load_raw
from domain.published import published, published_turtle
from domain.stores import open_project_store
from flows.runs import MIMIR_DEPLOYMENT, project_tags, record_result, start_deployment
from ontology import from_turtle

LOAD_FLOW_NAME = "load-ontology-tables"
EXPORT_FLOW_NAME = "export-table"


class PublishedVersionMissing(RuntimeError):
    """The ontology this load was started for is no longer published (deleted), or an older
    version than the one the load was started for is."""


@flow(name=LOAD_FLOW_NAME, persist_result=False, validate_parameters=True)
def load_ontology_tables(
    project: str, storage_url: str, ontology: str, version: int, tables: list[str]
) -> dict[str, Any]:
    """Load the raw area into the tables an accepted ontology version created or rebuilt.

    A person may accept a newer version (an edit right after the extraction) while this run
    waits or loads. The newer accept starts a load only for the tables *it* creates or
    rebuilds, so this run still owes the others their rows: it loads them through the newest
    published mapping (the schema they have now), skipping tables that version dropped. The
    load upserts, so a table both runs load ends up the same."""
    entries = published(storage_url, ontology)
    entry = entries[0] if entries else None
    if entry is None or entry.version < version:
        found = "nothing" if entry is None else f"version {entry.version}"
        raise PublishedVersionMissing(
            f"ontology '{ontology}' version {version} is not published ({found} is)"
        )
    kept = sorted(set(tables) & {table.name for table in entry.mapping.tabular.tables})
    if entry.version != version:
        get_run_logger().info(
            "ontology %s: version %d is published now (this load was started for %d); "
            "loading %s through it", ontology, entry.version, version, kept)
    model = from_turtle(published_turtle(storage_url, entry))
    store = open_project_store(project, storage_url)
    try:
        report = load_raw(store, model, entry.mapping, set(kept))
    finally:
        store.close()
    result = {
        "ontology": ontology,
        "version": entry.version,
        "started_for_version": version,
        "tables": kept,
        "rows_loaded": report.rows,
        "records_loaded": report.records,
        "rejected": report.rejected,
        "rejected_sample": report.rejected_sample,
    }
    record_result(result, f"Raw records loaded into {len(tables)} table(s)")
    return result


@flow(name=EXPORT_FLOW_NAME, persist_result=False, validate_parameters=True)
def export_project_table(
    project: str,
    storage_url: str,
    table: str,
    format: Literal["csv", "parquet"] = "csv",
    where: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Export a table as CSV or Parquet into the project's storage object."""
    store = open_project_store(project, storage_url)
    try:
        result = export_table(store, storage_url, table, format, where or [])
    finally:
        store.close()
    record_result(result, f"Export of {table} as {format}")
    return result


def start_load(
    project: str, storage_url: str, ontology: str, version: int, tables: list[str], via: str
) -> FlowRun:
    """Start `load-ontology-tables/mimir` and return at once."""
    return start_deployment(
        f"{LOAD_FLOW_NAME}/{MIMIR_DEPLOYMENT}",
        {
            "project": project,
            "storage_url": storage_url,
            "ontology": ontology,
            "version": version,
            "tables": sorted(tables),
        },
        project_tags(project, "load-tables", via),
    )


def start_export(
    project: str,
    storage_url: str,
    table: str,
    fmt: Literal["csv", "parquet"],
    where: list[dict[str, Any]],
    via: str,
) -> FlowRun:
    """Start `export-table/mimir` and return at once."""
    return start_deployment(
        f"{EXPORT_FLOW_NAME}/{MIMIR_DEPLOYMENT}",
        {
            "project": project,
            "storage_url": storage_url,
            "table": table,
            "format": fmt,
            "where": where,
        },
        project_tags(project, "export", via),
    )
