"""Bearer tokens: creation, verification and scope checks.

A token is `mimir_<random>`; the DB keeps only its SHA-256 digest (the secret has 256 bits of
entropy, so a fast hash is enough and lookups stay O(1)). Scopes nest: admin ⊇ write ⊇ read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from mimir_api.core.config import Settings
from mimir_api.core.errors import Forbidden, Unauthorized
from mimir_api.db.models import ApiToken, as_utc, utcnow

TOKEN_PREFIX = "mimir_"  # noqa: S105 (a prefix, not a secret)
WORKER_NAME = "mimir-worker"
"""The actor name of Mimir's own worker; no stored token may take it."""


class Scope(StrEnum):
    """What a caller may do; `public` operations need no token at all."""

    PUBLIC = "public"
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


_RANK = {Scope.PUBLIC: 0, Scope.READ: 1, Scope.WRITE: 2, Scope.ADMIN: 3}


@dataclass(frozen=True)
class Actor:
    """Who is calling: a token's name and scopes, or the open-mode local user."""

    name: str
    scopes: frozenset[Scope]
    authenticated: bool

    def allows(self, needed: Scope) -> bool:
        """True when any held scope ranks at or above `needed`."""
        return any(_RANK[held] >= _RANK[needed] for held in self.scopes)

    def require(self, needed: Scope, operation: str) -> None:
        """Raise Unauthorized/Forbidden unless this actor may run `operation`."""
        if self.allows(needed):
            return
        if not self.authenticated:
            raise Unauthorized(f"'{operation}' needs a bearer token with the '{needed}' scope.")
        raise Forbidden(
            f"'{operation}' needs the '{needed}' scope; this token has "
            f"{sorted(s.value for s in self.scopes)}."
        )


ANONYMOUS = Actor(name="anonymous", scopes=frozenset({Scope.PUBLIC}), authenticated=False)
LOCAL_OPEN = Actor(name="local (open mode)", scopes=frozenset({Scope.ADMIN}), authenticated=False)
LOCAL_OPERATOR = Actor(name="local operator", scopes=frozenset({Scope.ADMIN}), authenticated=True)
WORKER = Actor(name=WORKER_NAME, scopes=frozenset({Scope.WRITE}), authenticated=True)
"""Mimir's own worker, holding `Settings.worker_token`: it hands flow results to the API
whether or not auth is on, and a token created mid-session does not cut it off."""


def _stale(last_used: datetime | None) -> bool:
    """Record use at most once a minute, so reads don't turn into a write per request."""
    if last_used is None:
        return True
    return utcnow() - as_utc(last_used) > timedelta(minutes=1)


def hash_token(token: str) -> str:
    """The digest stored and looked up in place of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(raw: str) -> frozenset[Scope]:
    """Parse 'read,write' into scopes; unknown names are an error, not ignored."""
    scopes = set()
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            scope = Scope(part)
        except ValueError:
            raise ValueError(f"unknown scope {part!r}; expected read, write or admin") from None
        if scope is Scope.PUBLIC:
            raise ValueError("'public' is not a token scope; expected read, write or admin")
        scopes.add(scope)
    if not scopes:
        raise ValueError("a token needs at least one scope (read, write or admin)")
    return frozenset(scopes)


def generate_worker_token() -> str:
    """A fresh worker credential (`mimir up` makes one per start; see Settings.worker_token)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_token(engine: Engine, name: str, scopes: frozenset[Scope]) -> str:
    """Store a new token and return its secret; this is the only time it is ever visible."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session:
        session.add(
            ApiToken(
                id=uuid.uuid4().hex,
                name=name,
                token_hash=hash_token(secret),
                scopes=",".join(sorted(s.value for s in scopes)),
            )
        )
        session.commit()
    return secret


def active_token_count(engine: Engine) -> int:
    """How many unrevoked tokens exist; zero means open mode may apply."""
    with Session(engine) as session:
        statement = (
            select(func.count())
            .select_from(ApiToken)
            .where(
                ApiToken.revoked_at.is_(None)  # type: ignore[union-attr]
            )
        )
        return int(session.exec(statement).one())


def auth_required(settings: Settings, engine: Engine) -> bool:
    """Whether requests must carry a token (see `Settings.auth`)."""
    if settings.auth == "required" or not settings.binds_loopback:
        return True
    return settings.bootstrap_token is not None or active_token_count(engine) > 0


def authenticate(settings: Settings, engine: Engine, authorization: str | None) -> Actor:
    """Resolve an Authorization header to an Actor, or raise Unauthorized.

    A missing header is anonymous (public operations still work); open mode turns it into
    the local admin. A header that is present but wrong is always an error.
    """
    if not authorization:
        return ANONYMOUS if auth_required(settings, engine) else LOCAL_OPEN
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <token>'.")
    token = token.strip()
    bootstrap = settings.bootstrap_token
    if bootstrap is not None and hmac.compare_digest(token, bootstrap.get_secret_value()):
        return Actor(name="bootstrap", scopes=frozenset({Scope.ADMIN}), authenticated=True)
    worker = settings.worker_token
    if worker is not None and hmac.compare_digest(token, worker.get_secret_value()):
        return WORKER
    with Session(engine) as session:
        row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
        if row is None or row.revoked_at is not None:
            raise Unauthorized("The bearer token is unknown or revoked.")
        if _stale(row.last_used_at):
            row.last_used_at = utcnow()
            session.add(row)
            session.commit()
        return Actor(name=row.name, scopes=parse_scopes(row.scopes), authenticated=True)
