"""Parse and check an uploaded ontology with a size limit and a deadline.

`load_ontology` runs rdflib's parsers and the semantic checks in the calling thread; on a
hostile or merely huge document (tens of thousands of classes) that can take minutes, and
a Python thread cannot be stopped from outside. `load_ontology_bounded` therefore runs it
in a child process (a ``forkserver`` child: fast to start, and safe to create from the
threads of an API server, unlike a plain fork) and kills that process when the deadline
passes, so no CPU keeps burning after the caller was told "too slow". The size limit is
checked before any work starts.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from collections.abc import Sequence
from typing import Any

from ontology.errors import OntologyError
from ontology.io import ImportResult, load_ontology
from ontology.model import OntologyModel

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["ontology.io"])


class OntologyTooLarge(OntologyError):
    """The document is bigger than the limit; nothing was parsed."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the ontology document has {size:,} bytes; the limit is {limit:,}")
        self.size = size
        self.limit = limit


class OntologyTimeout(OntologyError):
    """Parsing and checking did not finish in time; the worker process was killed."""

    def __init__(self, seconds: float, pid: int | None = None) -> None:
        super().__init__(
            f"ontology parsing exceeded {seconds:g} s and was stopped; the document is too "
            "large or too complex to check (split it, or raise the limit)"
        )
        self.seconds = seconds
        self.pid = pid  # of the worker, gone (killed and reaped) when this is raised


def _child(conn: multiprocessing.connection.Connection, data: str | bytes, fmt: str | None,
           filename: str | None, imports: Sequence[OntologyModel]) -> None:
    try:
        outcome: tuple[str, Any] = ("ok", load_ontology(data, fmt, filename=filename,
                                                        imports=imports))
    except ValueError as exc:  # an unknown format name: the caller's mistake, re-raised there
        outcome = ("value_error", str(exc))
    except BaseException as exc:
        outcome = ("error", f"{type(exc).__name__}: {exc}")
    conn.send(outcome)
    conn.close()


def load_ontology_bounded(
    data: str | bytes,
    fmt: str | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
    filename: str | None = None,
    imports: Sequence[OntologyModel] = (),
) -> ImportResult:
    """`load_ontology` in a child process killed after `timeout_s`.

    Raises `OntologyTooLarge` (before any work), `OntologyTimeout` (the child is gone when
    it is raised), ValueError for an unknown format name, and RuntimeError when the child
    died otherwise (out of memory, say).

    >>> load_ontology_bounded("<http://ex.org/A> a <http://www.w3.org/2002/07/owl#Class> .",
    ...                       "turtle", timeout_s=30).ok
    True
    """
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise OntologyTooLarge(size, max_bytes)
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(
        target=_child, args=(sender, data, fmt, filename, list(imports)),
        name="mimir-ontology-parse", daemon=True,
    )
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            raise OntologyTimeout(timeout_s, process.pid)
        try:
            status, payload = receiver.recv()
        except EOFError:
            process.join(5)
            raise RuntimeError(
                f"the ontology parser process ended unexpectedly (exit code {process.exitcode})"
            ) from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
        process.close()
    if status == "value_error":
        raise ValueError(payload)
    if status == "error":
        raise RuntimeError(f"the ontology parser failed: {payload}")
    assert isinstance(payload, ImportResult)
    return payload
