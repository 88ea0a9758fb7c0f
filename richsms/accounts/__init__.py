"""Accounts: API tokens and web UI users, each user with one role (`roles`, the one
matrix): only hashes of their secrets are stored. The package also holds the UI's
server-side sessions (`sessions`) and the sign-in delays (`signin_delays`).

A token belongs to a user and carries their role; one that belongs to nobody
(`richsms token create NAME`) is an administrator's.

Who did something (a campaign's author, its approver) is recorded as an actor id: a user
is their negative id, whatever edge they came through (the UI, or their own token), and a
token of nobody's is its positive id; so "not your own campaign" holds across edges."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy import select as sa_select
from sqlmodel import Field, Session, SQLModel, col, select

from richsms.accounts.roles import API_ROLES, Permission, Role, allows, parse_role
from richsms.accounts.sessions import end_all_sessions
from richsms.clock import Clock
from richsms.db import get_or_not_found
from richsms.errors import Conflict, Forbidden, InvalidInput, NotFound
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
    # Whose token it is (their role is the token's); None: an administrator's.
    user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("admin_user.id"), index=True)
    )


class AdminUser(SQLModel, table=True):
    """A person who signs in to the UI (or the staff page), with one role."""

    __tablename__ = "admin_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    role: str = Field(
        default=Role.ADMIN.value,
        sa_column=Column(String(16), nullable=False, server_default=Role.ADMIN.value),
    )

    @property
    def actor(self) -> int:
        assert self.id is not None
        return -self.id


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an API request comes from: the token, its role, and the actor id it records."""

    token_id: int
    role: Role
    actor: int
    user_id: int | None = None

    def can(self, needs: Permission) -> bool:
        return self.role in API_ROLES and allows(self.role, needs)


def _digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough and keeps lookups indexed.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    *, session: Session, name: str, clock: Clock, user_email: str | None = None
) -> str:
    """Store a new token's hash and return the token itself, the only time it is seen.
    With `user_email`, the token is that user's and carries their role (a cashier may
    hold none: they sign in through the UI); without, it is an administrator's."""
    name = name.strip()
    if not name:
        raise InvalidInput("a token needs a name")
    user_id = None
    if user_email is not None:
        user = find_user(session=session, email=user_email)
        if Role(user.role) not in API_ROLES:
            raise Forbidden(
                f"a {user.role} holds no API token: they sign in through the web UI"
            )
        user_id = user.id
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(name=name, token_hash=_digest(token), created_at=clock.now(), user_id=user_id)
    )
    session.commit()
    return token


def principals(*, session: Session, tokens: Collection[str]) -> dict[str, Principal]:
    """Who each valid bearer token speaks for (its user's role, read now), in one query for
    them all; a token that is malformed, unknown, revoked or whose user is gone is absent.
    The API checks the tokens of requests arriving together this way (web/auth.py)."""
    by_digest = {
        _digest(token): token
        for token in tokens
        if token.startswith(TOKEN_PREFIX) and len(token) <= 200
    }
    if not by_digest:
        return {}
    rows = session.execute(
        sa_select(
            col(ApiToken.id), col(ApiToken.token_hash), col(ApiToken.user_id),
            col(AdminUser.id), col(AdminUser.role),
        )
        .outerjoin(AdminUser, col(AdminUser.id) == col(ApiToken.user_id))
        .where(col(ApiToken.token_hash).in_(by_digest), col(ApiToken.revoked_at).is_(None))
    )
    found: dict[str, Principal] = {}
    for token_id, digest, owner, user_id, role in rows:
        # The index found it; compare anyway in constant time as a matter of hygiene.
        token = next(
            (t for d, t in by_digest.items() if hmac.compare_digest(d, digest)), None
        )
        who = _speaks_for(token_id, owner, user_id, role)
        if token is not None and who is not None:
            found[token] = who
    return found


def principal(*, session: Session, token: str) -> Principal | None:
    """Who a bearer token speaks for (its user's role, read now), or None if it is no
    valid token."""
    return principals(session=session, tokens=[token]).get(token)


def principal_for(session: Session, token: ApiToken) -> Principal | None:
    """Who a stored token speaks for (None if it is revoked or its user is gone)."""
    if token.id is None or token.revoked_at is not None:
        return None
    user = None if token.user_id is None else session.get(AdminUser, token.user_id)
    if user is None:
        return _speaks_for(token.id, token.user_id, None, None)
    return _speaks_for(token.id, token.user_id, user.id, user.role)


def _speaks_for(
    token_id: int, owner: int | None, user_id: int | None, role: str | None
) -> Principal | None:
    """A live token's principal: an administrator's when it belongs to nobody, else its
    user's role and actor id (None when that user is gone)."""
    if owner is None:
        return Principal(token_id, Role.ADMIN, token_id)
    if user_id is None or role is None:
        return None
    return Principal(token_id, Role(role), -user_id, user_id)


def create_admin(
    *, session: Session, email: str, password: str, clock: Clock, role: Role = Role.ADMIN
) -> AdminUser:
    """A user of the web UI with `role` (an administrator unless told)."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f"not an email address: {email!r}")
    password_hash = hash_password(password)  # slow on purpose: before the first query
    if session.exec(select(AdminUser).where(AdminUser.email == email)).first() is not None:
        raise Conflict(f"a user {email} already exists")
    user = AdminUser(
        email=email,
        password_hash=password_hash,
        created_at=clock.now(),
        role=Role(role).value,
    )
    session.add(user)
    session.commit()
    return user


def _check_password_length(password: str) -> None:
    if len(password) < 12:
        raise InvalidInput("the password must have at least 12 characters")


def find_user(*, session: Session, email: str) -> AdminUser:
    email = email.strip().lower()
    user = session.exec(select(AdminUser).where(AdminUser.email == email)).first()
    if user is None:
        raise NotFound(f"no user {email}")
    return user


def list_users(*, session: Session) -> list[AdminUser]:
    return list(session.exec(select(AdminUser).order_by(col(AdminUser.email))))


def set_role(*, session: Session, email: str, role: str) -> AdminUser:
    """Give the user `role` (flushes only). Their tokens carry it from their next request
    (a cashier's are refused: a cashier holds none)."""
    user = find_user(session=session, email=email)
    user.role = parse_role(role).value
    session.add(user)
    session.flush()
    return user


def change_password(
    *, session: Session, email: str, password_hash: str, clock: Clock
) -> AdminUser:
    """Set the user's password (its hash, from `hash_password`) and end every session
    they have open: whoever held one signs in again (flushes only)."""
    user = find_user(session=session, email=email)
    user.password_hash = password_hash
    session.add(user)
    assert user.id is not None
    end_all_sessions(session=session, user_id=user.id, now=clock.now())
    return user


def hash_password(password: str) -> str:
    """The stored hash of a new password (slow on purpose: compute it before any
    transaction)."""
    _check_password_length(password)
    return _hasher.hash(password)


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
