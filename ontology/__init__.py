"""ontology package."""
