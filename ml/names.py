"""Names other layers share with ML without loading it: the predictions table, entity ids.

The twin shows stored predictions as properties of their entities; it needs only these
names, and importing `ml.workflow` would load scikit-learn into the API process at start-up.
"""

from __future__ import annotations

from storage_plugins.schema import to_identifier

PREDICTIONS_PREFIX = "mimir_predictions_"
KEY_SEPARATOR = "|"


def predictions_table_name(model: str) -> str:
    """Table holding a model's batch predictions."""
    return to_identifier(PREDICTIONS_PREFIX + model)
