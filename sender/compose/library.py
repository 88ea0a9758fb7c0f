"""The library of saved messages a marketer starts a campaign from: a name, a type and a
text checked like a campaign's template when saved (merge fields known, length within
the segment limit), so starting from one never starts from a message that cannot go."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Column, String, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from richsms.clock import Clock
from richsms.db import get_or_not_found
from richsms.errors import Conflict, InvalidInput
from richsms.settings import Settings
from richsms.types import UTCDateTime
from sender.compose.composition import Composer
from sender.delivery.models import MESSAGE_TYPES

MAX_NAME: Final = 200
MAX_TEXT: Final = 5_000
MAX_SAVED: Final = 1_000  # a library, not a message store: listed whole on one page


class MessageTemplate(SQLModel, table=True):
    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("name", name="uq_message_template_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(MAX_NAME), nullable=False))
    type: str = Field(sa_column=Column(String(20), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


def _checked(session: Session, settings: Settings, name: str, type: str, text: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a saved message needs a name of 1 to {MAX_NAME} characters")
    if type not in MESSAGE_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(MESSAGE_TYPES)}")
    if not text.strip() or len(text) > MAX_TEXT:
        raise InvalidInput(f"a saved message needs a text of 1 to {MAX_TEXT} characters")
    Composer.saved(session=session, template=text, type=type, settings=settings).check_at_save()
    return name


def save_message_template(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    name: str,
    type: str,
    text: str,
    template_id: int | None = None,
) -> MessageTemplate:
    """A new saved message, or `template_id` replaced; 409 when another has the name."""
    name = _checked(session, settings, name, type, text)
    other = session.exec(select(MessageTemplate).where(col(MessageTemplate.name) == name)).first()
    if other is not None and other.id != template_id:
        raise Conflict(f"a saved message is already named {name!r}")
    now = clock.now()
    if template_id is None:
        count = len(session.exec(select(MessageTemplate.id)).all())
        if count >= MAX_SAVED:
            raise Conflict(f"the library holds at most {MAX_SAVED} messages: delete some")
        saved = MessageTemplate(name=name, type=type, text=text, created_at=now, updated_at=now)
    else:
        saved = get_message_template(session=session, template_id=template_id)
        saved.name, saved.type, saved.text, saved.updated_at = name, type, text, now
    session.add(saved)
    session.flush()
    return saved


def list_message_templates(*, session: Session) -> list[MessageTemplate]:
    query = select(MessageTemplate).order_by(col(MessageTemplate.name), col(MessageTemplate.id))
    return list(session.exec(query).all())


def get_message_template(*, session: Session, template_id: int) -> MessageTemplate:
    return get_or_not_found(
        session, MessageTemplate, template_id, f"no saved message {template_id}"
    )


def delete_message_template(*, session: Session, template_id: int) -> None:
    session.delete(get_message_template(session=session, template_id=template_id))
    session.flush()
