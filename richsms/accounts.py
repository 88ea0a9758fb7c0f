"""API tokens and web UI administrators: only hashes of their secrets are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, String
from sqlmodel import Field, Session, SQLModel, col, select

from richsms.clock import Clock
from richsms.db import get_or_not_found
from richsms.errors import Conflict, InvalidInput
from richsms.types import UTCDateTime

TOKEN_PREFIX = "rs_"
_hasher = PasswordHasher()


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class AdminUser(SQLModel, table=True):
    __tablename__ = "admin_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


def _digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough and keeps lookups indexed.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, session: Session, name: str, clock: Clock) -> str:
    """Store a new token's hash and return the token itself, the only time it is seen."""
    name = name.strip()
    if not name:
        raise InvalidInput("a token needs a name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_digest(token), created_at=clock.now()))
    session.commit()
    return token


def verify_token(*, session: Session, token: str) -> ApiToken | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _digest(token)
    found = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if found is None or found.revoked_at is not None:
        return None
    # The index found it; compare anyway in constant time as a matter of hygiene.
    return found if hmac.compare_digest(found.token_hash, digest) else None


def create_admin(*, session: Session, email: str, password: str, clock: Clock) -> AdminUser:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f"not an email address: {email!r}")
    if len(password) < 12:
        raise InvalidInput("the password must have at least 12 characters")
    if session.exec(select(AdminUser).where(AdminUser.email == email)).first() is not None:
        raise Conflict(f"an administrator {email} already exists")
    user = AdminUser(email=email, password_hash=_hasher.hash(password), created_at=clock.now())
    session.add(user)
    session.commit()
    return user


def check_password(user: AdminUser, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def list_tokens(*, session: Session) -> list[ApiToken]:
    """Every token ever created (revoked ones too), oldest first; only hashes are kept,
    so a token itself is never shown again."""
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


def revoke_token(*, session: Session, token_id: int, clock: Clock) -> ApiToken:
    """Revoke a token now: every request carrying it is refused from the next one on.
    Revoking a revoked token keeps its first revocation time. Flushes only."""
    token = get_or_not_found(session, ApiToken, token_id, f"no API token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        session.add(token)
        session.flush()
    return token
