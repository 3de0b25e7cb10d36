"""Extraction and proposals: start `extract-ontology`, receive its result, accept or reject.

The flow runs on a worker without the metadata DB and posts what it extracted
(`submit_ontology_proposal`). Here the extraction is compared with the *current* accepted
version (`propose`), so whatever a person saved in the meantime wins: edited or hand-made
elements are never changed, nothing is removed, deleted elements are not proposed again.

* The first extraction of an ontology is accepted at once (version 1, origin extraction).
* Later ones with changes are saved as a `proposed` version (the draft, with its change
  list); an identical open proposal is not saved twice, no change means no version.
* Accepting applies all or the chosen changes (plus those they require) to the proposal's
  base as a new accepted version; the proposal's status becomes `accepted`. A proposal
  whose base is no longer current is refused (409): run the extraction again.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from domain.extraction_hold import extraction_hold, hold_extraction, release_extraction
from flows.ontology_flow import EXTRACT_FLOW_NAME, start_extraction
from mimir_api.core.errors import Conflict, InvalidInput, unavailable_on_failure
from mimir_api.core.security import Scope
from mimir_api.db.models import Ontology, OntologyVersionRecord, Project
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import ProjectName, ProjectOnly, StrictInput
from mimir_api.services.ontology_versions import (
    MAX_DOCUMENT_CHARS,
    ONE,
    ConcurrentSave,
    OntologyRef,
    OntologySaved,
    OntologyVersionList,
    current_record,
    model_of,
    next_version,
    ontology_error,
    ontology_row,
    save_accepted,
    saved,
    version_public,
    version_record,
)
from mimir_api.services.project_access import detached_project, project_row
from mimir_api.services.registry import operation
from ontology import Proposal, ProposedChange, accept, diff, from_turtle, propose, to_turtle
from ontology.errors import OntologyError

TAGS = ("ontology proposals",)
EXTRACTION_AUTHOR = "extraction"


class ProposalSubmit(OntologyRef):
    """Input of submit_ontology_proposal (what the extract-ontology flow posts)."""

    extracted: str = Field(
        max_length=MAX_DOCUMENT_CHARS, description="The extracted ontology (Turtle)."
    )
    base_version: int | None = Field(
        default=None, ge=1, description="The version the flow compared against (informative)."
    )
    flow_run_id: str = Field(default="", max_length=64, description="The extraction's flow run.")


class ProposalListQuery(OntologyRef):
    """Input of list_ontology_proposals."""

    status: Literal["proposed", "accepted", "rejected", "superseded", "all"] = Field(
        default="proposed", description="Which proposals: open ones by default."
    )


class ProposalRef(OntologyRef):
    """Input of reject_ontology_proposal."""

    version: int = Field(ge=1, description="The proposal's version number.")


class ProposalAccept(ProposalRef):
    """Input of accept_ontology_proposal."""

    changes: list[str] | None = Field(
        default=None,
        max_length=10_000,
        description="Ids of the changes to accept (those they require come along); all "
        "when omitted.",
    )
    message: str = Field(default="", max_length=1000, description="Why (kept with the version).")
    force: bool = Field(
        default=False, description="Allow storage changes that lose data (see create_ontology)."
    )


class ProposalSubmitted(BaseModel):
    """What became of an extraction."""

    status: Literal["accepted", "proposed", "unchanged"] = Field(
        description="accepted (first extraction), proposed, or unchanged (nothing new)."
    )
    version: int = Field(description="The saved version, or the current one when unchanged.")
    changes: int = Field(description="Number of changes found.")
    duplicate: bool = Field(description="True when an identical open proposal already existed.")
    superseded: list[int] = Field(
        default_factory=list,
        description="Older open proposals this one closed (status superseded, with the reason "
        "in their message).",
    )
    result: OntologySaved | None = Field(description="The ontology after an automatic accept.")


class ExtractionStarted(BaseModel):
    """A run of the extract-ontology flow that was just created."""

    flow_run_id: str = Field(description="Prefect flow-run id.")
    flow_run_name: str = Field(description="Prefect's name for the run.")
    deployment: str = Field(description="extract-ontology/mimir.")
    ontology: str = Field(description="The ontology it will update.")


def _changes_json(changes: list[ProposedChange]) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in changes]


def _first_extraction(
    ctx: ServiceContext, session: Session, project: Project, name: str, extracted: Any, run: str
) -> ProposalSubmitted | None:
    """Create the ontology from its first extraction; None when it appeared meanwhile."""
    row = Ontology(id=uuid.uuid4().hex, project_id=project.id, name=name)
    try:
        record, storage = save_accepted(
            ctx,
            session,
            project,
            row,
            extracted,
            origin="extraction",
            message=f"first extraction (flow run {run or 'n/a'}), accepted automatically",
            parent=None,
            author=EXTRACTION_AUTHOR,
            create=True,
        )
    except ConcurrentSave:
        return None
    count = len(extracted.classes) + len(extracted.properties)
    return ProposalSubmitted(
        status="accepted",
        version=record.version,
        changes=count,
        duplicate=False,
        result=saved(session, project, row, record, storage),
    )


@operation(method="POST", path=ONE + "/proposals", scope=Scope.WRITE, status_code=201, tags=TAGS)
def submit_ontology_proposal(ctx: ServiceContext, params: ProposalSubmit) -> ProposalSubmitted:
    """Hand an extracted ontology to Mimir (the extract-ontology flow calls this): the first
    is accepted, later ones become proposals that never overwrite what people edited."""
    try:
        extracted = from_turtle(params.extracted)
    except OntologyError as exc:
        raise InvalidInput(
            f"the extracted ontology does not parse: {exc}", field="extracted"
        ) from None
    with ctx.session() as session:
        project = project_row(session, params.project)
        row = session.exec(
            select(Ontology).where(Ontology.project_id == project.id, Ontology.name == params.name)
        ).first()
        if row is None:
            first = _first_extraction(
                ctx, session, project, params.name, extracted, params.flow_run_id
            )
            if first is not None:
                return first
            row = ontology_row(session, project, params.name)
        current = current_record(session, row)
        proposal = propose(model_of(current.turtle), extracted)
        if not proposal.changes:
            return ProposalSubmitted(
                status="unchanged", version=current.version, changes=0, duplicate=False, result=None
            )
        turtle = to_turtle(proposal.draft)
        same = session.exec(
            select(OntologyVersionRecord).where(
                OntologyVersionRecord.ontology_id == row.id,
                OntologyVersionRecord.status == "proposed",
                OntologyVersionRecord.parent == current.version,
            )
        ).all()
        for open_proposal in same:
            if open_proposal.turtle == turtle:
                return ProposalSubmitted(
                    status="proposed",
                    version=open_proposal.version,
                    changes=len(proposal.changes),
                    duplicate=True,
                    result=None,
                )
        record = OntologyVersionRecord(
            id=uuid.uuid4().hex,
            ontology_id=row.id,
            version=next_version(session, row),
            turtle=turtle,
            author=EXTRACTION_AUTHOR,
            message=f"extraction (flow run {params.flow_run_id or 'n/a'}): "
            f"{len(proposal.changes)} change(s) proposed, {len(proposal.kept)} kept as edited",
            origin="extraction",
            status="proposed",
            parent=current.version,
            changes=_changes_json(proposal.changes),
        )
        session.add(record)
        superseded = _supersede_open_proposals(session, row, record.version)
        try:
            session.commit()
        except IntegrityError:
            raise Conflict("another version was saved at the same time; retry") from None
        return ProposalSubmitted(
            status="proposed",
            version=record.version,
            changes=len(proposal.changes),
            duplicate=False,
            superseded=superseded,
            result=None,
        )


def _supersede_open_proposals(session: Session, ontology: Ontology, newer: int) -> list[int]:
    """Close every other open proposal of `ontology`: the newer one was extracted from all
    the raw data they saw and more, against the current version (older ones may be stale)."""
    older = session.exec(
        select(OntologyVersionRecord).where(
            OntologyVersionRecord.ontology_id == ontology.id,
            OntologyVersionRecord.status == "proposed",
            OntologyVersionRecord.version != newer,
        )
    ).all()
    for record in older:
        record.status = "superseded"
        record.message = (
            f"{record.message} — superseded by proposal {newer}, a newer extraction"
        )[:1000]
        session.add(record)
    return sorted(r.version for r in older)


@operation(method="GET", path=ONE + "/proposals", scope=Scope.READ, tags=TAGS)
def list_ontology_proposals(ctx: ServiceContext, params: ProposalListQuery) -> OntologyVersionList:
    """Proposals made by extraction (open ones by default), newest first, with their changes."""
    with ctx.session() as session:
        row = ontology_row(session, project_row(session, params.project), params.name)
        statement = select(OntologyVersionRecord).where(
            OntologyVersionRecord.ontology_id == row.id,
            OntologyVersionRecord.changes.is_not(None),  # type: ignore[union-attr]
        )
        if params.status != "all":
            statement = statement.where(OntologyVersionRecord.status == params.status)
        rows = session.exec(
            statement.order_by(OntologyVersionRecord.version.desc())  # type: ignore[attr-defined]
        ).all()
        return OntologyVersionList(items=[version_public(r) for r in rows])


def _open_proposal(session: Session, row: Ontology, version: int) -> OntologyVersionRecord:
    record = version_record(session, row, version)
    if record.changes is None:
        raise InvalidInput(f"version {version} is not a proposal", field="version")
    if record.status != "proposed":
        raise Conflict(f"proposal {version} was already {record.status}", field="version")
    return record


@operation(method="POST", path=ONE + "/proposals/{version}/accept", scope=Scope.WRITE, tags=TAGS)
def accept_ontology_proposal(ctx: ServiceContext, params: ProposalAccept) -> OntologySaved:
    """Accept a proposal in whole or in part (change ids); the result is a new accepted
    version that drives storage (new tables are loaded from the raw area)."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        row = ontology_row(session, project, params.name)
        record = _open_proposal(session, row, params.version)
        current = current_record(session, row)
        if record.parent != current.version:
            raise Conflict(
                f"proposal {record.version} was made against version {record.parent}, but the "
                f"current version is {current.version}; run the extraction again",
                field="version",
            )
        base, draft = model_of(current.turtle), model_of(record.turtle)
        changes = [ProposedChange.model_validate(c) for c in record.changes or []]
        proposal = Proposal(base=base, draft=draft, changes=changes, diff=diff(base, draft))
        try:
            model = accept(proposal, params.changes)
        except OntologyError as exc:
            raise ontology_error(exc, "changes") from None
        chosen = "all" if params.changes is None else f"{len(params.changes)} selected"
        message = (
            params.message or f"accepted proposal {record.version} ({chosen} of {len(changes)})"
        )

        def mark_accepted() -> None:
            record.status = "accepted"
            session.add(record)

        if to_turtle(model) == current.turtle:
            mark_accepted()
            session.commit()
            return saved(session, project, row, current, None, changed=False)
        saved_record, storage = save_accepted(
            ctx,
            session,
            project,
            row,
            model,
            origin="extraction",
            message=message,
            parent=current.version,
            force=params.force,
            before_commit=mark_accepted,
        )
        return saved(session, project, row, saved_record, storage)


@operation(method="POST", path=ONE + "/proposals/{version}/reject", scope=Scope.WRITE, tags=TAGS)
def reject_ontology_proposal(ctx: ServiceContext, params: ProposalRef) -> OntologySaved:
    """Reject a proposal; the current version stays as it is."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        row = ontology_row(session, project, params.name)
        record = _open_proposal(session, row, params.version)
        record.status = "rejected"
        session.add(record)
        session.commit()
        session.refresh(record)
        result = saved(session, project, row, current_record(session, row), None, changed=False)
        return result.model_copy(update={"version": version_public(record)})


@operation(method="POST", path=ONE + "/extractions", scope=Scope.WRITE, status_code=201, tags=TAGS)
def run_ontology_extraction(ctx: ServiceContext, params: OntologyRef) -> ExtractionStarted:
    """Start the extract-ontology flow for this ontology now (it need not exist yet: the
    first extraction creates it); returns the flow-run id at once."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        storage_url = project.storage_url
    with unavailable_on_failure(
        f"Prefect could not start {EXTRACT_FLOW_NAME}/mimir (is `mimir up` running, or "
        "were Mimir's deployments registered with `mimir deploy`?)"
    ):
        flow_run = start_extraction(
            params.project, storage_url, params.name, trigger=f"api:{ctx.actor.name}"
        )
    return ExtractionStarted(
        flow_run_id=str(flow_run.id),
        flow_run_name=flow_run.name,
        deployment=f"{EXTRACT_FLOW_NAME}/mimir",
        ontology=params.name,
    )


HOLD_PATH = "/projects/{project}/extraction-hold"


class HoldRequest(StrictInput):
    """Input of hold_ontology_extraction."""

    project: ProjectName
    reason: str = Field(
        default="", max_length=500, description="Why, e.g. 'waiting for the sites export'."
    )


class ExtractionHold(BaseModel):
    """Whether ingestion runs start extraction automatically for the project."""

    project: str = Field(description="Project.")
    held: bool = Field(description="True while automatic extraction is on hold.")
    reason: str | None = Field(description="Why it is held.")
    by: str | None = Field(description="Who held it.")
    since: str | None = Field(description="When (UTC, ISO 8601).")


def _hold_answer(project: str, hold: dict[str, Any] | None) -> ExtractionHold:
    hold = hold or {}
    return ExtractionHold(
        project=project,
        held=bool(hold),
        reason=hold.get("reason"),
        by=hold.get("by"),
        since=hold.get("since"),
    )


@operation(method="PUT", path=HOLD_PATH, scope=Scope.WRITE, idempotent=True, tags=TAGS)
def hold_ontology_extraction(ctx: ServiceContext, params: HoldRequest) -> ExtractionHold:
    """Stop ingestion runs from starting extraction until released, while several sources land;
    then extract once over everything with run_ontology_extraction."""
    project = detached_project(ctx, params.project)
    with unavailable_on_failure("could not write the hold into the project's storage"):
        hold = hold_extraction(project.storage_url, params.reason, ctx.actor.name)
    return _hold_answer(project.name, hold)


@operation(method="DELETE", path=HOLD_PATH, scope=Scope.WRITE, idempotent=True, tags=TAGS)
def release_ontology_extraction(ctx: ServiceContext, params: ProjectOnly) -> ExtractionHold:
    """Let ingestion runs start extraction automatically again (nothing runs until one does)."""
    project = detached_project(ctx, params.project)
    with unavailable_on_failure("could not remove the hold from the project's storage"):
        release_extraction(project.storage_url)
    return _hold_answer(project.name, None)


@operation(method="GET", path=HOLD_PATH, scope=Scope.READ, tags=TAGS)
def get_ontology_extraction_hold(ctx: ServiceContext, params: ProjectOnly) -> ExtractionHold:
    """Whether automatic extraction is on hold for the project, why and since when."""
    project = detached_project(ctx, params.project)
    with unavailable_on_failure("could not read the project's storage"):
        hold = extraction_hold(project.storage_url)
    return _hold_answer(project.name, hold)
