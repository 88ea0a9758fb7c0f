"""Who a campaign reaches: the contacts of its groups and segments, each once.

The audience is one WHERE clause over `contact` (in a group OR matching a segment), so a
contact in several groups and segments comes out once, and segments are evaluated now,
not when they were saved. It streams in id order by keyset pagination over Core rows: a
million contacts never become a million ORM objects, and no page re-reads earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Integer, Row, Select, and_, case, false, func, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from richsms.errors import NotFound
from richsms.merge.contact import contact_fields
from sender.audience.contacts import CONSENT_TYPES, ERASED, SUBSCRIBED
from sender.audience.groups import delete_group
from sender.audience.models import Contact, ContactGroup, GroupMember, Segment
from sender.audience.segments import delete_segment, has_row, segment_condition
from sender.campaigns.models import Automation, Campaign

BATCH_SIZE: Final = 5_000
# Campaign statuses after which its audience is never read again.
FINISHED: Final = ("done", "cancelled", "failed")
# What planning and analysis read about each recipient; `fields` holds the custom fields.
COLUMNS: Final = (
    col(Contact.id),
    col(Contact.phone),
    col(Contact.first_name),
    col(Contact.last_name),
    col(Contact.email),
    col(Contact.language),
    col(Contact.timezones),
    col(Contact.fields),
    col(Contact.status),
    col(Contact.consent_type),
    col(Contact.consent_at),
    col(Contact.opted_out_at),
)


def audience_condition(
    *,
    session: Session,
    group_ids: Sequence[int],
    segment_ids: Sequence[int],
    subscribed_only: bool = False,
) -> ColumnElement[bool]:
    """A WHERE clause over `contact`: in any of the groups or matching any of the
    segments. NotFound names the first group or segment that does not exist."""
    groups = list(dict.fromkeys(group_ids))
    segments = list(dict.fromkeys(segment_ids))
    found_groups = set(
        session.exec(select(col(ContactGroup.id)).where(col(ContactGroup.id).in_(groups)))
    )
    for group_id in groups:
        if group_id not in found_groups:
            raise NotFound(f"no group with id {group_id}")
    filters = {
        segment.id: segment.filters
        for segment in session.exec(select(Segment).where(col(Segment.id).in_(segments)))
    }
    for segment_id in segments:
        if segment_id not in filters:
            raise NotFound(f"no segment with id {segment_id}")

    parts: list[ColumnElement[bool]] = []
    if groups:
        # A per-contact probe of the membership index (see has_row): an IN (subquery)
        # or a semi-join would read every member again for each page.
        parts.append(
            has_row(
                select(col(GroupMember.contact_id)).where(
                    col(GroupMember.contact_id) == col(Contact.id),
                    col(GroupMember.group_id).in_(groups),
                )
            )
        )
    parts.extend(segment_condition(filters[segment_id]) for segment_id in segments)
    # Erased contacts are rows without a person: in no audience, whatever a segment says.
    condition = and_(col(Contact.status) != ERASED, or_(false(), *parts))
    if subscribed_only:
        condition = and_(col(Contact.status) == SUBSCRIBED, condition)
    return condition


def audience_ids(
    *,
    session: Session,
    group_ids: Sequence[int],
    segment_ids: Sequence[int],
    subscribed_only: bool = False,
) -> Select[tuple[int]]:
    """The audience's contact ids, distinct, in id order: usable as a subquery
    (`... WHERE contact_id IN audience_ids(...)`) or an INSERT ... SELECT."""
    condition = audience_condition(
        session=session,
        group_ids=group_ids,
        segment_ids=segment_ids,
        subscribed_only=subscribed_only,
    )
    statement: Select[tuple[int]] = (
        select(col(Contact.id)).where(condition).order_by(col(Contact.id))  # type: ignore[assignment]
    )
    return statement


def count_audience(
    *,
    session: Session,
    group_ids: Sequence[int],
    segment_ids: Sequence[int],
    subscribed_only: bool = False,
) -> int:
    condition = audience_condition(
        session=session,
        group_ids=group_ids,
        segment_ids=segment_ids,
        subscribed_only=subscribed_only,
    )
    return int(session.exec(select(func.count()).select_from(Contact).where(condition)).one())


def usual_language(
    *, session: Session, group_ids: Sequence[int], segment_ids: Sequence[int]
) -> str | None:
    """The language most of the audience's subscribed contacts speak (one GROUP BY), or
    None for an empty audience or when none has a language."""
    if not group_ids and not segment_ids:
        return None
    condition = audience_condition(
        session=session, group_ids=group_ids, segment_ids=segment_ids, subscribed_only=True
    )
    row = session.execute(
        select_columns(col(Contact.language), func.count().label("n"))
        .where(condition, col(Contact.language) != "")
        .group_by(col(Contact.language))
        .order_by(func.count().desc(), col(Contact.language))
        .limit(1)
    ).first()
    return str(row[0]) if row is not None and row[0] else None


def iter_audience(
    *,
    session: Session,
    group_ids: Sequence[int] = (),
    segment_ids: Sequence[int] = (),
    batch_size: int = BATCH_SIZE,
    subscribed_only: bool = False,
    where: ColumnElement[bool] | None = None,
) -> Iterator[tuple[Row[Any], dict[str, object]]]:
    """Each recipient once, in id order: the row of `COLUMNS` (attributes `id`, `phone`,
    `language`, `timezones`, `status`...) and the merge fields its template sees; only
    those `where` also holds for, when given.

    Reads `batch_size` contacts per query, resuming after the last id seen; the
    groups and segments are checked (NotFound) before the first row is produced.
    """
    condition = audience_condition(
        session=session,
        group_ids=group_ids,
        segment_ids=segment_ids,
        subscribed_only=subscribed_only,
    )
    if where is not None:
        condition = and_(condition, where)
    return _pages(session, condition, batch_size)


def _pages(
    session: Session, condition: ColumnElement[bool], batch_size: int
) -> Iterator[tuple[Row[Any], dict[str, object]]]:
    last = 0
    while True:
        rows = session.execute(
            select_columns(*COLUMNS)
            .where(col(Contact.id) > last, condition)
            .order_by(col(Contact.id))
            .limit(batch_size)
        ).all()
        for row in rows:
            yield row, contact_fields(row)
        if len(rows) < batch_size:
            return
        last = rows[-1].id


@dataclass(frozen=True, slots=True)
class AudienceCounts:
    """Who an audience holds now: `subscribed` contacts with a recorded consent (express
    or implied: promotional messages may reach them), `unconsented` ones subscribed but
    without consent (informational messages only), and `opted_out` ones."""

    contacts: int
    subscribed: int
    unconsented: int
    opted_out: int


def audience_counts(
    *, session: Session, group_ids: Sequence[int], segment_ids: Sequence[int]
) -> AudienceCounts:
    """The counts of `AudienceCounts`, in one pass over the audience."""
    condition = audience_condition(session=session, group_ids=group_ids, segment_ids=segment_ids)
    subscribed = col(Contact.status) == SUBSCRIBED
    consented = col(Contact.consent_type).in_(CONSENT_TYPES)

    def tally(when: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((when, 1), else_=0)), 0).cast(Integer)

    row = session.execute(
        select_columns(
            func.count(),
            tally(and_(subscribed, consented)),
            tally(and_(subscribed, ~consented | col(Contact.consent_type).is_(None))),
        )
        .select_from(Contact)
        .where(condition)
    ).one()
    total, with_consent, without = (int(value) for value in row)
    return AudienceCounts(total, with_consent, without, total - with_consent - without)


def campaigns_using(
    *, session: Session, group_id: int | None = None, segment_id: int | None = None
) -> list[str]:
    """Campaigns still to send (not done, cancelled or failed) whose audience names the
    group or segment, and active automations of the group, as "#id name"."""
    users: list[str] = []
    campaigns = session.exec(
        select(Campaign).where(col(Campaign.status).not_in(FINISHED))
    ).all()
    for campaign in campaigns:
        if (group_id is not None and group_id in (campaign.group_ids or [])) or (
            segment_id is not None and segment_id in (campaign.segment_ids or [])
        ):
            users.append(f"#{campaign.id} {campaign.name}")
    if group_id is not None:
        automations = session.exec(
            select(Automation).where(col(Automation.group_id) == group_id)
        ).all()
        users.extend(f"automation #{a.id} {a.name}" for a in automations)
    return users


def delete_unused_group(*, session: Session, group_id: int) -> None:
    """Delete a group and its memberships unless a campaign still to send or an
    automation uses it (Conflict, naming them): what the API and the UI both do."""
    in_use = campaigns_using(session=session, group_id=group_id)
    delete_group(session=session, group_id=group_id, in_use=in_use)


def delete_unused_segment(*, session: Session, segment_id: int) -> None:
    """Delete a segment unless a campaign still to send uses it (Conflict, naming them)."""
    in_use = campaigns_using(session=session, segment_id=segment_id)
    delete_segment(session=session, segment_id=segment_id, in_use=in_use)
