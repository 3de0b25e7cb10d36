"""Pipeline YAML → validated plan → Prefect flow run.

`loader` reads YAML with positions, `schema` is the document model, `compiler` performs the
static checks and yields a `Plan`, `templates` renders step inputs, `context` bounds what steps
share, `runtime` walks the plan (work steps as Prefect task runs) and `flow` is the Prefect flow
every pipeline deployment runs.
"""
