"""How many native threads (OpenMP, BLAS) ML work may use.

Histogram gradient boosting spins OpenMP threads on every core; on a machine whose cores are
shared with other work that is dramatically slower than one thread (measured here: 69 s vs
1.6 s for one fit on 569 rows). Mimir therefore caps native threads to ``MIMIR_ML_THREADS``
(default 1 — one flow run per core scales better than one run over all cores); set it to the
cores a dedicated worker pod has.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


def ml_threads() -> int:
    """The cap from ``MIMIR_ML_THREADS`` (at least 1)."""
    try:
        return max(1, int(os.environ.get("MIMIR_ML_THREADS", "1")))
    except ValueError:
        return 1


@contextmanager
def limited_threads() -> Iterator[None]:
    """Run the block with native thread pools capped at `ml_threads()`."""
    with threadpool_limits(limits=ml_threads()):
        yield
