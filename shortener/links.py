"""Issuing, reading and disabling links. Every function takes its session keyword-only."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, text
from sqlmodel import Session, col, select

from richsms.clock import Clock
from richsms.db import session_scope
from richsms.errors import InvalidInput, NotFound
from shortener.codes import CodeMaker
from shortener.models import Link, LinkChange
from shortener.targets import build_target

# Rows per INSERT when issuing links in bulk: large enough to amortize round trips,
# small enough to stay well under SQLite's and PostgreSQL's parameter limits.
BULK_CHUNK = 2_000
# Links per transaction when a request issues many: short enough that the SQLite write
# lock is free again within milliseconds.
CHUNK_TRANSACTION = 1_000


@dataclass(frozen=True, slots=True)
class IssuedLink:
    id: int
    code: str
    contact_id: int | None


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """What the links of one issue share: where they lead (`url`, tagged with `utm`) and
    what they belong to."""

    url: str
    utm: Mapping[str, str] | None = None
    campaign_id: int | None = None
    page_id: int | None = None
    page_version: int | None = None
    expires_at: datetime | None = None
    is_test: bool = False

    def target(self, now: datetime) -> str:
        """The links' target; InvalidInput for a bad URL or an expiry not in the future."""
        target = build_target(self.url, self.utm)
        if self.expires_at is not None:
            if self.expires_at.tzinfo is None:
                raise InvalidInput("expires_at needs a time zone (e.g. 2026-12-31T23:59:00Z)")
            if self.expires_at <= now:
                raise InvalidInput("expires_at is in the past")
        return target

    def rows(self, now: datetime) -> LinkRows:
        """The builder of these links' rows, created `now` (checked as `target` checks)."""
        return LinkRows(self, self.target(now), now)


@dataclass(frozen=True, slots=True)
class LinkRows:
    """The one builder of `link` rows, for `create_links` and the planner's bulk insert
    alike (`LinkSpec.rows`): what every link of one issue shares, then a row per link."""

    spec: LinkSpec
    target: str
    created_at: datetime

    def row(
        self, link_id: int, code: str, contact_id: int | None, page_token: str | None = None
    ) -> dict[str, Any]:
        spec = self.spec
        return {
            "id": link_id,
            "code": code,
            # A page link leads to the page's address for its recipient: base + token.
            "target_url": self.target if page_token is None else self.target + page_token,
            "page_id": spec.page_id,
            "page_version": spec.page_version,
            "page_token": page_token,
            "contact_id": contact_id,
            "campaign_id": spec.campaign_id,
            "is_test": spec.is_test,
            "expires_at": spec.expires_at,
            "disabled_at": None,
            "created_at": self.created_at,
        }


def create_link(
    *,
    session: Session,
    codes: CodeMaker,
    clock: Clock,
    spec: LinkSpec,
    contact_id: int | None = None,
) -> Link:
    issued = create_links(
        session=session, codes=codes, clock=clock, spec=spec, contact_ids=[contact_id]
    )
    link = session.get(Link, issued[0].id)
    assert link is not None
    return link


def create_links(
    *,
    session: Session,
    codes: CodeMaker,
    clock: Clock,
    spec: LinkSpec,
    contact_ids: Sequence[int | None],
    page_tokens: Sequence[str] | None = None,
) -> list[IssuedLink]:
    """One link per entry of `contact_ids`, inserted set-based in one transaction.
    With `page_tokens` (one per contact) each link's target is `url` + its token."""
    links = spec.rows(clock.now())
    if not contact_ids:
        return []
    ids = _reserve_ids(session, len(contact_ids))
    issued = [IssuedLink(i, codes.make(i), c) for i, c in zip(ids, contact_ids, strict=True)]
    for start in range(0, len(issued), BULK_CHUNK):
        rows = [
            links.row(
                link.id, link.code, link.contact_id, None if page_tokens is None else page_tokens[n]
            )
            for n, link in enumerate(issued[start : start + BULK_CHUNK], start)
        ]
        session.execute(insert(Link), rows)
    session.flush()
    return issued


def create_links_in_chunks(
    *,
    engine: Engine,
    codes: CodeMaker,
    clock: Clock,
    spec: LinkSpec,
    contact_ids: Sequence[int | None],
    chunk: int = CHUNK_TRANSACTION,
) -> list[IssuedLink]:
    """Many links, committed `chunk` at a time: on SQLite each transaction holds the write
    lock for milliseconds, so the click writer (and every redirect waiting on it) gets its
    turn between chunks. Inputs are checked before the first chunk, so a bad request writes
    nothing; a database failure part-way leaves the earlier chunks' links, which nobody
    holds (their codes were never returned)."""
    spec.target(clock.now())  # checked before the first chunk
    issued: list[IssuedLink] = []
    took = 0.0
    sqlite = engine.dialect.name == "sqlite"
    for start in range(0, len(contact_ids), chunk):
        if sqlite and start:
            # SQLite's lock has no queue: a waiting writer polls with growing sleeps, and
            # would miss a gap of microseconds between chunks. Leave one as long as the
            # chunk took (at least 5 ms), so the click writer always gets its turn.
            time.sleep(min(max(took, 0.005), 0.05))
        began = time.monotonic()
        with session_scope(engine) as session:
            issued += create_links(
                session=session,
                codes=codes,
                clock=clock,
                spec=spec,
                contact_ids=contact_ids[start : start + chunk],
            )
        took = time.monotonic() - began
    return issued


def _reserve_ids(session: Session, count: int) -> list[int]:
    """Ids known before the insert, so that codes go in with their rows."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        rows = session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('link', 'id')) FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        return [int(r[0]) for r in rows]
    # SQLite: FOR UPDATE (not sent to SQLite) makes this read the transaction's first write:
    # it takes the write lock first (`richsms.db`), so max(id) is ours.
    top = session.execute(
        select(func.coalesce(func.max(col(Link.id)), 0)).with_for_update()
    ).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))


def get_link(*, session: Session, code: str) -> Link:
    link = session.exec(select(Link).where(col(Link.code) == code)).first()
    if link is None:
        raise NotFound(f"no link with code {code!r}")
    return link


def disable_link(*, session: Session, code: str, clock: Clock) -> Link:
    """Disable a link; every process's redirect cache drops it within seconds."""
    link = get_link(session=session, code=code)
    if link.disabled_at is None:
        link.disabled_at = clock.now()
        session.add(link)
        assert link.id is not None
        session.add(LinkChange(link_id=link.id, changed_at=link.disabled_at))
    session.flush()
    return link
