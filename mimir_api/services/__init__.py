"""Mimir's operations, one module per resource; see `registry.py` for how they are exposed."""
