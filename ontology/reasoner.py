"""Optional, time-bounded consistency check with the HermiT reasoner shipped in owlready2.

HermiT runs as a Java child process (owlready2 bundles the jar; Java 17 is enough). We call
its command line directly instead of `owlready2.sync_reasoner`, because that call has no
time limit: here `subprocess.run(timeout=…)` kills the JVM when the budget is spent and the
caller gets ``status="timeout"``, never a hung request. ``owl:imports`` are stripped before
the check so the reasoner never tries to fetch anything from the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from rdflib import Graph
from rdflib.namespace import OWL as OWL_NS

from ontology.model import OWL, OntologyModel
from ontology.rdf import graph_from_model

Status = Literal["consistent", "inconsistent", "timeout", "error"]


class ConsistencyResult(BaseModel):
    """What the reasoner concluded, and how long it took."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Status = Field(description="consistent, inconsistent, timeout or error.")
    consistent: bool | None = Field(description="The verdict; None on timeout or error.")
    unsatisfiable_classes: list[str] = Field(
        default_factory=list, description="IRIs of classes that can have no members."
    )
    message: str = Field(default="", description="Reasoner output or error, shortened.")
    seconds: float = Field(ge=0, description="Wall-clock time the check took.")


def _hermit_classpath() -> str:
    import owlready2

    here = Path(owlready2.__file__).parent / "hermit"
    return os.pathsep.join([str(here), str(here / "HermiT.jar")])


def _java() -> str | None:
    import owlready2

    configured = getattr(owlready2, "JAVA_EXE", "java")
    return shutil.which(configured) or shutil.which("java")


def check_consistency(
    ontology: OntologyModel | Graph, *, timeout_s: float = 60.0, memory_mb: int = 1024
) -> ConsistencyResult:
    """Run HermiT on `ontology`; never takes (much) longer than `timeout_s`.

    >>> from ontology.model import OntologyClass
    >>> check_consistency(OntologyModel(classes=[OntologyClass(iri="http://ex.org/A")])).status
    'consistent'
    """
    graph = graph_from_model(ontology) if isinstance(ontology, OntologyModel) else ontology
    started = time.monotonic()
    java = _java()
    if java is None:
        return ConsistencyResult(
            status="error", consistent=None, message="no Java runtime found", seconds=0.0
        )
    clean = Graph()
    for triple in graph:
        if triple[1] != OWL_NS.imports:
            clean.add(triple)
    with tempfile.TemporaryDirectory(prefix="mimir-hermit-") as tmp:
        path = Path(tmp) / "ontology.owl"
        path.write_text(clean.serialize(format="xml"), encoding="utf-8")
        command = [
            java, f"-Xmx{memory_mb}M", "-cp", _hermit_classpath(),
            "org.semanticweb.HermiT.cli.CommandLine", "-k", "-U", "-N", path.as_uri(),
        ]
        try:
            proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            return ConsistencyResult(
                status="timeout", consistent=None,
                message=f"HermiT did not finish within {timeout_s:g} s",
                seconds=time.monotonic() - started,
            )
    elapsed = time.monotonic() - started
    output = (proc.stdout or "") + (proc.stderr or "")
    if "InconsistentOntologyException" in output or "Inconsistent ontology" in output:
        return ConsistencyResult(
            status="inconsistent", consistent=False,
            message="the ontology is inconsistent: no interpretation satisfies all axioms",
            seconds=elapsed,
        )
    if "is satisfiable" not in output:
        return ConsistencyResult(
            status="error", consistent=None, message=_shorten(output), seconds=elapsed
        )
    unsat = []
    collecting = False
    for line in output.splitlines():
        if line.startswith("Classes equivalent to"):
            collecting = True
            continue
        if collecting and line.startswith("\t"):
            iri = line.strip()
            if iri != OWL + "Nothing":
                unsat.append(iri)
        elif collecting:
            collecting = False
    return ConsistencyResult(
        status="consistent", consistent=True, unsatisfiable_classes=sorted(unsat),
        message=(f"{len(unsat)} unsatisfiable class(es)" if unsat else "consistent"),
        seconds=elapsed,
    )


def _shorten(text: str, limit: int = 2000) -> str:
    lines = [ln for ln in text.splitlines() if not ln.startswith("\tat ")]
    joined = "\n".join(lines).strip()
    return joined if len(joined) <= limit else joined[:limit] + " …"
