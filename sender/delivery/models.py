"""The delivery tables: the outbox of messages and their parts, receipts waiting for their
part, rate buckets, inbound messages, sender numbers; and the states a message goes through."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from richsms.types import UTCDateTime, json_column

# Message states, in the order a message normally goes through them.
PLANNED = "planned"  # rendered, waiting for its due time
QUEUED = "queued"  # due; waiting for a worker and the rate
SENDING = "sending"  # claimed and being handed to the provider
SENT = "sent"  # the provider accepted it
DELIVERED = "delivered"  # a delivery receipt confirmed it (every part, for a long SMS)
UNDELIVERED = "undelivered"  # a receipt said it never arrived (undelivered, expired, rejected)
FAILED = "failed"  # the provider refused it
EXPIRED = "expired"  # never sent in time
UNKNOWN = "unknown"  # handed to the provider, no recorded answer: never resent automatically
ERROR = "error"  # could not be produced (template failed for this contact)
SKIPPED = "skipped"  # not sent: opted out or no consent at the moment of sending
CANCELLED = "cancelled"  # its campaign was cancelled before it was handed over
MESSAGE_STATES = (
    PLANNED,
    QUEUED,
    SENDING,
    SENT,
    DELIVERED,
    UNDELIVERED,
    FAILED,
    EXPIRED,
    UNKNOWN,
    ERROR,
    SKIPPED,
    CANCELLED,
)

# Not final: still waiting for its time, a worker or the provider's answer.
PENDING_STATES = (PLANNED, QUEUED, SENDING)
# Final, every other state: the outbox will never hand the message over again (a campaign
# whose messages are all final is done). `sent` is final for sending, though a receipt may
# still turn it `delivered` or `undelivered`.
FINAL_STATES = tuple(s for s in MESSAGE_STATES if s not in PENDING_STATES)

MESSAGE_TYPES = ("promotional", "informational", "administrative")


class SenderNumber(SQLModel, table=True):
    __tablename__ = "sender_number"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(
        sa_column=Column(String(16), nullable=False)
    )  # short_code long_code alphanumeric
    value: str = Field(sa_column=Column(String(20), nullable=False, unique=True))
    rate: float = Field(sa_column=Column(Float, nullable=False))  # messages per second
    allowed_types: list[str] = Field(default_factory=list, sa_column=json_column())
    # The country it sends to (ISO 3166 alpha-2, "CA"); None: any country.
    country: str | None = Field(default=None, sa_column=Column(String(2)))
    # Its own opt-out mention per language ({"fr": "...", "en": "..."}), over the
    # defaults of its country (sender/compose/optout_mention.py).
    opt_out: dict[str, str] = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Message(SQLModel, table=True):
    """The outbox: one row per message, with the time of each state it reached."""

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_state_due", "state", "due_at"),
        # A worker claims the earliest due messages of one campaign and sender.
        Index("ix_message_claim", "state", "campaign_id", "sender", "due_at"),
        Index("ix_message_campaign", "campaign_id", "id"),
        # A campaign's results: index-only counts of states and segments.
        Index("ix_message_campaign_state", "campaign_id", "is_test", "state", "segments"),
        Index("ix_message_link", "link_id"),
        # A contact's messages; their promotional ones by time, for the frequency cap.
        Index("ix_message_contact_type", "contact_id", "type", "due_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    campaign_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("campaign.id"))
    )
    automation_id: int | None = Field(default=None, sa_column=Column(Integer))
    contact_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("contact.id"))
    )
    phone: str = Field(sa_column=Column(String(20), nullable=False))
    sender: str = Field(default="", sa_column=Column(String(20), nullable=False))
    type: str = Field(sa_column=Column(String(16), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    # The language of its text (the campaign's translation it got); None: not said.
    language: str | None = Field(default=None, sa_column=Column(String(8)))
    encoding: str = Field(default="GSM-7", sa_column=Column(String(8), nullable=False))
    segments: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    link_id: int | None = Field(default=None, sa_column=Column(Integer))
    is_test: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    state: str = Field(sa_column=Column(String(12), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # The allowed delivery window in the recipient's zones, "HH:MM-HH:MM" ("" = any time).
    window: str = Field(default="", sa_column=Column(String(11), nullable=False))
    timezones: str = Field(default="", sa_column=Column(String(500), nullable=False))
    planned_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    queued_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    sending_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    undelivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    failed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    expired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    unknown_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    error: str | None = Field(default=None, sa_column=Column(Text))
    # The first part's id, for people and exports; receipts find a message through
    # message_part, so nothing looks it up (no index: each accepted answer would write it).
    provider_id: str | None = Field(default=None, sa_column=Column(String(100)))
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64)))
    # What carried it, set when a worker claims it: the provider's name and the sender
    # number (`sender` holds the number's value; the id survives a renamed number).
    provider: str | None = Field(default=None, sa_column=Column(String(32)))
    sender_number_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("sender_number.id"))
    )


class MessagePart(SQLModel, table=True):
    """One provider id of a sent message: a long SMS may go as several parts, each with
    its own id and receipt. The message is delivered once every part is."""

    __tablename__ = "message_part"
    __table_args__ = (UniqueConstraint("provider", "provider_id"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    message_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("message.id"), nullable=False, index=True)
    )
    provider: str = Field(sa_column=Column(String(32), nullable=False))
    provider_id: str = Field(sa_column=Column(String(100), nullable=False))
    part: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    state: str = Field(sa_column=Column(String(12), nullable=False))  # sent delivered undelivered
    receipt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    error: str | None = Field(default=None, sa_column=Column(Text))


class PendingReceipt(SQLModel, table=True):
    """A receipt that came before the submit answer it refers to was recorded (a fast
    network): kept here, applied when the answer is recorded."""

    __tablename__ = "pending_receipt"
    __table_args__ = (UniqueConstraint("provider", "provider_id", "state"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    provider: str = Field(sa_column=Column(String(32), nullable=False))
    provider_id: str = Field(sa_column=Column(String(100), nullable=False))
    state: str = Field(sa_column=Column(String(12), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class WorkerLease(SQLModel, table=True):
    """A live worker's heartbeat: its claims are its own until `alive_until`; past it, the
    worker is presumed dead and any other worker takes its claims over (leases.py)."""

    __tablename__ = "worker_lease"

    worker_id: str = Field(sa_column=Column(String(64), primary_key=True))
    alive_until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Handover(SQLModel, table=True):
    """Claimed messages a worker is handing to its provider now, written (and committed)
    just before they go on the wire: of a dead worker's claims, these may have reached
    the provider (unknown), the others surely did not (queued again). Deleted once their
    answers are recorded."""

    __tablename__ = "message_handover"

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    worker_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    message_ids: str = Field(sa_column=Column(Text, nullable=False))  # "12,13,14"
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class RateBucket(SQLModel, table=True):
    """A token bucket per sender, shared by every worker through the database."""

    __tablename__ = "rate_bucket"

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    tokens: float = Field(sa_column=Column(Float, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class InboundMessage(SQLModel, table=True):
    __tablename__ = "inbound_message"
    __table_args__ = (
        UniqueConstraint("provider_ref", name="uq_inbound_message_provider_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("contact.id"), index=True)
    )
    # What it answers: the campaign (or unitary message) the contact last received
    # within RICHSMS_REPLY_WINDOW_DAYS.
    campaign_id: int | None = Field(default=None, sa_column=Column(Integer, index=True))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    phone: str = Field(sa_column=Column(String(20), nullable=False))
    to: str = Field(default="", sa_column=Column(String(20), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    keyword: str | None = Field(default=None, sa_column=Column(String(16)))
    # opt_out, opt_in, help, clarify or reply (see sender.inbound).
    action: str | None = Field(default=None, sa_column=Column(String(16)))
    # The message queued back (a confirmation, help, a clarification question).
    reply_message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # The provider's id of the message ("twilio:SM…"), or a digest of what it carries when
    # the provider gives none: a provider's retry, or a replayed request, acts once.
    provider_ref: str | None = Field(
        default=None,
        sa_column=Column(String(120), nullable=True),
    )
    # Why it awaits review: its sender's number could not be read (the raw one is said);
    # None for a message read as usual.
    review: str | None = Field(default=None, sa_column=Column(String(200), index=True))
    # A reply left for a person (sender/campaigns/inbox.py): when it was dealt with, by whom
    # (an actor id, richsms.accounts) and the answer they sent, if they wrote one.
    handled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    handled_by: int | None = Field(default=None, sa_column=Column(Integer))
    answer_message_id: int | None = Field(default=None, sa_column=Column(BigInteger))


def choice_key(text: str) -> str:
    """A reply choice's key as stored and compared: upper case, no accents, letters and
    digits only (" oui! " -> "OUI", "1." -> "1"). Campaigns store their choices, replies
    are matched and segments compare them in this form."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    return _NOT_KEY.sub("", bare)


_NOT_KEY = re.compile(r"[^0-9A-Z]+")


class ChoiceReply(SQLModel, table=True):
    """A reply to a message that offered choices (sender/delivery/choices.py): the choice
    it matched (None: none matched), what was sent back and the follow-up it started.
    One row per reply; a recipient's answer is their latest matched one."""

    __tablename__ = "choice_reply"
    __table_args__ = (
        Index("ix_choice_reply_campaign", "campaign_id", "contact_id", "id"),
        Index("ix_choice_reply_automation", "automation_id", "contact_id", "id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    inbound_id: int = Field(
        sa_column=Column(Integer, ForeignKey("inbound_message.id"), nullable=False, unique=True)
    )
    contact_id: int = Field(sa_column=Column(Integer, ForeignKey("contact.id"), nullable=False))
    campaign_id: int | None = Field(default=None, sa_column=Column(Integer))
    automation_id: int | None = Field(default=None, sa_column=Column(Integer))
    # The message that offered the choices.
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    choice: str | None = Field(default=None, sa_column=Column(String(32)))
    reply_message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    follow_up_message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
