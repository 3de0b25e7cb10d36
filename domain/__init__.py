"""Mimir's domain code shared by the API, the flows, the twin and ML — no Prefect flows here.

`stores` opens a project's store, `raw_area` is what ingestion writes before an ontology
exists, `ontology_storage` makes an accepted ontology drive the store (plan, migrate, load,
write by class), and `published` is the copy of accepted ontologies that workers read.
Layer: `(twin, ml) → domain → (ontology, blocks) → storage_plugins`.
"""
