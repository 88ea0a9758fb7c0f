"""The inbox: replies left for a person, and what the person does with them.

A reply is left for a person when nothing automatic answered it: it matched none of the
choices its message offered (sender/delivery/choice_replies.py), or its message offered
none (a customer who asks "open on Sunday?" under a promotion). Someone answers it (an
informational SMS from the number the customer wrote to, through the same consent rules,
composition and outbox as any unitary send) or closes it; either way it leaves the list,
with who dealt with it and when. Keywords (STOP, HELP...) never land here: they act.
"""

from __future__ import annotations

from sqlalchemy import exists, update
from sqlalchemy.sql.selectable import Exists
from sqlmodel import Session, col, select

from richsms.clock import Clock
from richsms.errors import InvalidInput, NotFound
from richsms.settings import Settings
from sender.campaigns.unitary import UnitaryMessage, send_unitary
from sender.delivery.inbound import REPLY
from sender.delivery.models import ChoiceReply, InboundMessage, Message, SenderNumber
from shortener.codes import CodeMaker

# What answers a customer: information, never a promotion slipped into a conversation.
ANSWER_TYPE = "informational"


def _matched() -> Exists:
    return exists().where(
        col(ChoiceReply.inbound_id) == col(InboundMessage.id),
        col(ChoiceReply.choice).is_not(None),
    )


def waiting_replies(*, session: Session, after: int = 0, limit: int = 100) -> list[InboundMessage]:
    """Replies waiting for a person, newest first, paged by id (`after`: the last id of
    the previous page, 0 for the first)."""
    query = select(InboundMessage).where(
        col(InboundMessage.action) == REPLY,
        col(InboundMessage.handled_at).is_(None),
        ~_matched(),
    )
    if after:
        query = query.where(col(InboundMessage.id) < after)
    return list(session.exec(query.order_by(col(InboundMessage.id).desc()).limit(limit)))


def _reply(session: Session, inbound_id: int) -> InboundMessage:
    """A reply a person may deal with (answered or closed already included: a conversation
    goes on); NotFound for anything else."""
    found = session.get(InboundMessage, inbound_id)
    if found is None or found.action != REPLY:
        raise NotFound(f"no reply {inbound_id} in the inbox")
    return found


def answer_reply(
    reading: Session,
    writing: Session,
    *,
    inbound_id: int,
    text: str,
    by: int | None,
    clock: Clock,
    settings: Settings,
    codes: CodeMaker,
) -> Message:
    """Answer a reply with `text`, from the number it was sent to (when it is one of
    ours); the reply is then handled. Checked and rendered in `reading` (InvalidInput for
    an empty or too long text, Conflict when the contact may not be written to, NotFound),
    written in `writing` (flushes only)."""
    if not text.strip():
        raise InvalidInput("text: write the answer")
    reply = _reply(reading, inbound_id)
    line = reading.exec(select(SenderNumber).where(col(SenderNumber.value) == reply.to)).first()
    request = UnitaryMessage(
        type=ANSWER_TYPE,
        contact_id=reply.contact_id,
        phone=None if reply.contact_id is not None else reply.phone,
        text=text,
        sender_id=line.id if line is not None and ANSWER_TYPE in line.allowed_types else None,
    )
    message = send_unitary(reading, writing, request, clock=clock, settings=settings, codes=codes)
    _handle(writing, inbound_id, by=by, clock=clock, answer_message_id=message.id)
    return message


def close_reply(
    *, session: Session, inbound_id: int, by: int | None, clock: Clock
) -> InboundMessage:
    """Take a reply off the list without answering it (flushes). Closing it again keeps
    the first closing."""
    reply = _reply(session, inbound_id)
    if reply.handled_at is None:
        _handle(session, inbound_id, by=by, clock=clock, answer_message_id=None)
        session.refresh(reply)
    return reply


def _handle(
    session: Session,
    inbound_id: int,
    *,
    by: int | None,
    clock: Clock,
    answer_message_id: int | None,
) -> None:
    values: dict[str, object] = {"handled_at": clock.now(), "handled_by": by}
    if answer_message_id is not None:
        values["answer_message_id"] = answer_message_id
    session.execute(
        update(InboundMessage).where(col(InboundMessage.id) == inbound_id).values(**values)
    )
    session.flush()
