"""Token administration over the API. Tokens are *created* only with `mimir token create`,
so a secret is shown once, on the operator's terminal, and never by any endpoint."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator
from sqlmodel import select

from mimir_api.core.errors import NotFound
from mimir_api.core.security import Scope
from mimir_api.db.models import ApiToken, as_utc, utcnow
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import StrictInput
from mimir_api.services.registry import operation


class TokenListQuery(StrictInput):
    """Input of list_tokens."""

    include_revoked: bool = Field(default=False, description="Also list revoked tokens.")


class TokenRef(StrictInput):
    """Input of revoke_token."""

    name: str = Field(min_length=1, max_length=63, description="The token's name.")


class TokenPublic(BaseModel):
    """A token's metadata; its secret and digest are never part of it."""

    name: str = Field(description="The token's name.")
    scopes: list[str] = Field(description="Granted scopes.")
    created_at: datetime = Field(description="When it was created (UTC).")
    last_used_at: datetime | None = Field(description="Last use, to the minute (UTC).")
    revoked_at: datetime | None = Field(description="When it was revoked, if it was.")

    @field_validator("created_at", "last_used_at", "revoked_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class TokenList(BaseModel):
    """All tokens, by name."""

    items: list[TokenPublic] = Field(description="Tokens.")


def _public(row: ApiToken) -> TokenPublic:
    return TokenPublic(
        name=row.name,
        scopes=row.scopes.split(","),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@operation(method="GET", path="/tokens", scope=Scope.ADMIN, tags=("tokens",))
def list_tokens(ctx: ServiceContext, params: TokenListQuery) -> TokenList:
    """List API tokens (names, scopes and use; never secrets)."""
    statement = select(ApiToken).order_by(ApiToken.name)
    if not params.include_revoked:
        statement = statement.where(ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
    with ctx.session() as session:
        return TokenList(items=[_public(row) for row in session.exec(statement)])


@operation(
    method="POST",
    path="/tokens/{name}/revoke",
    scope=Scope.ADMIN,
    destructive=True,
    idempotent=True,
    tags=("tokens",),
)
def revoke_token(ctx: ServiceContext, params: TokenRef) -> TokenPublic:
    """Revoke a token at once; requests carrying it are refused from then on."""
    with ctx.session() as session:
        row = session.exec(select(ApiToken).where(ApiToken.name == params.name)).first()
        if row is None:
            raise NotFound(f"token '{params.name}' does not exist", field="name")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(row)
            session.commit()
            session.refresh(row)
        return _public(row)
