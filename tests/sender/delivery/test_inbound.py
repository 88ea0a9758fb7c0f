"""Inbound SMS: keywords act at once and are confirmed; anything else is kept as a reply."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from richsms.settings import Settings
from sender.audience.contacts import consent_history, create_contact, find_by_phone
from sender.audience.csv_import import import_contacts
from sender.audience.models import Contact
from sender.campaigns.models import Campaign
from sender.compose.encoding import analyze
from sender.delivery.inbound import (
    HELP_REPLY,
    OPT_IN_REPLY,
    OPT_OUT_REPLY,
    InboundResult,
    handle_inbound,
    keyword_of,
)
from sender.delivery.models import InboundMessage, Message
from tests.clock import FrozenClock

LEA = "+33612345678"


@pytest.fixture
def session(engine: Engine, clock: FrozenClock) -> Iterator[Session]:
    with Session(engine) as session:
        create_contact(session=session, phone=LEA, clock=clock, region="FR", first_name="Léa")
        create_contact(session=session, phone="+447911123456", clock=clock, region="FR")
        session.commit()
        yield session


def receive(
    session: Session, clock: FrozenClock, settings: Settings, text: str, phone: str = LEA
) -> InboundResult:
    return handle_inbound(
        session=session, phone=phone, to="36180", text=text, clock=clock, settings=settings
    )


def contact(session: Session, phone: str = LEA) -> Contact:
    found = find_by_phone(session=session, phone=phone)
    assert found is not None
    session.refresh(found)
    return found


def queued(session: Session) -> list[Message]:
    return list(session.exec(select(Message).order_by(col(Message.id))))


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", "STOP"),
        ("stop", "STOP"),
        ("  Arrêt ", "ARRET"),
        ("ARRÊT", "ARRET"),
        ("arret.", "ARRET"),
        ("StopAll", "STOPALL"),
        ("unsubscribe", "UNSUBSCRIBE"),
        ("Cancel", "CANCEL"),
        ("end", "END"),
        ("QUIT!", "QUIT"),
        ("revoke", "REVOKE"),
        ("opt-out", "OPTOUT"),
    ],
)
def test_every_stop_keyword_opts_out_at_once(
    session: Session, clock: FrozenClock, settings: Settings, text: str, keyword: str
) -> None:
    result = receive(session, clock, settings, text)
    assert (result.action, result.keyword) == ("opt_out", keyword)
    lea = contact(session)
    assert (lea.status, lea.opted_out_at, lea.opted_out_via) == (
        "opted_out",
        clock.now(),
        f"keyword:{keyword}",
    )
    history = consent_history(session=session, contact_id=lea.id or 0)
    assert [(e.kind, e.source) for e in history] == [("opt_out", f"keyword:{keyword}")]
    (reply,) = queued(session)
    assert reply.text == result.reply == OPT_OUT_REPLY["fr"]
    assert (reply.type, reply.state, reply.phone, reply.sender) == (
        "administrative",
        "queued",
        LEA,
        "36180",
    )
    assert reply.contact_id == lea.id and reply.due_at == clock.now()
    stored = session.exec(select(InboundMessage)).one()
    assert (stored.keyword, stored.text, stored.contact_id) == (keyword, text, lea.id)


@pytest.mark.parametrize("text", ["START", "unstop", " Yes "])
def test_start_opts_back_in(
    session: Session, clock: FrozenClock, settings: Settings, text: str
) -> None:
    receive(session, clock, settings, "STOP")
    clock.advance(timedelta(minutes=5))
    result = receive(session, clock, settings, text)
    assert (result.action, result.reply) == ("opt_in", OPT_IN_REPLY["fr"])
    lea = contact(session)
    assert (lea.status, lea.opted_out_at) == ("subscribed", None)
    # Texting START is express consent, the only one Léa had.
    assert (lea.consent_type, lea.consent_source) == ("express", f"keyword:{text.strip().upper()}")
    kinds = [e.kind for e in consent_history(session=session, contact_id=lea.id or 0)]
    assert kinds == ["opt_out", "opt_in"]
    assert [m.text for m in queued(session)] == [OPT_OUT_REPLY["fr"], OPT_IN_REPLY["fr"]]


@pytest.mark.parametrize("text", ["HELP", "aide", "Info"])
def test_help_replies_in_the_contacts_language(
    session: Session, clock: FrozenClock, settings: Settings, text: str
) -> None:
    assert receive(session, clock, settings, text).reply == HELP_REPLY["fr"]
    english = receive(session, clock, settings, text, phone="+447911123456")
    assert (english.action, english.reply) == ("help", HELP_REPLY["en"])
    assert contact(session).status == "subscribed"
    assert len(queued(session)) == 2


def test_replies_follow_the_contacts_language_and_numbers_may_be_national(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    english = receive(session, clock, settings, "stop", phone="+447911123456")
    assert english.reply == OPT_OUT_REPLY["en"]
    # A national number is read in the default region (FR): Léa's.
    french = receive(session, clock, settings, "stop", phone="06 12 34 56 78")
    assert (french.reply, french.contact_id) == (OPT_OUT_REPLY["fr"], contact(session).id)


@pytest.mark.parametrize(
    "reply", [*OPT_OUT_REPLY.values(), *OPT_IN_REPLY.values(), *HELP_REPLY.values()]
)
def test_replies_are_gsm7_and_one_segment(reply: str) -> None:
    analysis = analyze(reply)
    assert (analysis.encoding, analysis.segments) == ("GSM-7", 1)


def test_stop_from_an_unknown_number_blocks_later_imports(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    result = receive(session, clock, settings, "Arrêt", phone="07 51 23 45 67")
    assert result.action == "opt_out" and result.reply == OPT_OUT_REPLY["fr"]
    stranger = contact(session, "+33751234567")
    assert (stranger.status, stranger.opted_out_via) == ("opted_out", "keyword:ARRET")
    assert result.contact_id == stranger.id
    report = import_contacts(
        session=session,
        data=b"phone,first_name,consent_type\n0751234567,Max,express\n",
        clock=clock,
        region="FR",
    )
    assert report.updated == 1
    assert contact(session, "+33751234567").status == "opted_out"


def test_an_unknown_number_is_stored_without_creating_a_contact(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    result = receive(session, clock, settings, "Hello?", phone="+33751234567")
    assert (result.action, result.reply, result.contact_id) == ("reply", None, None)
    assert find_by_phone(session=session, phone="+33751234567") is None
    stored = session.exec(select(InboundMessage)).one()
    assert (stored.phone, stored.keyword, stored.contact_id) == ("+33751234567", None, None)
    help_result = receive(session, clock, settings, "AIDE", phone="+447700900000")
    assert help_result.reply == HELP_REPLY["fr"]  # AIDE is French, whatever the number


def test_other_text_is_a_reply_to_the_latest_campaign(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    lea = contact(session)
    now = clock.now()
    campaigns = [
        Campaign(name=n, type="promotional", template="x", created_at=now, updated_at=now)
        for n in ("Soldes", "Noël")
    ]
    session.add_all(campaigns)
    session.flush()
    for hours, campaign in ((1, campaigns[1]), (2, campaigns[0])):
        session.add(
            Message(
                campaign_id=campaign.id,
                contact_id=lea.id,
                phone=LEA,
                type="promotional",
                text="x",
                state="delivered",
                due_at=now,
                planned_at=now,
                sent_at=now - timedelta(hours=hours),
            )
        )
    # Queued, never sent: not what she is answering.
    session.add(
        Message(
            campaign_id=None, contact_id=lea.id, phone=LEA, type="informational", text="x",
            state="queued", due_at=now, planned_at=now,
        )
    )  # fmt: skip
    session.commit()
    result = receive(session, clock, settings, "Merci, à samedi !", phone="0612345678")
    assert (result.action, result.keyword, result.reply) == ("reply", None, None)
    assert result.campaign_id == campaigns[1].id
    stored = session.exec(select(InboundMessage)).one()
    assert (stored.campaign_id, stored.contact_id, stored.to) == (campaigns[1].id, lea.id, "36180")
    assert contact(session).status == "subscribed"
    assert len(queued(session)) == 3  # nothing was queued in answer


def test_keywords_are_single_words() -> None:
    assert keyword_of("stop please") is None  # an opt-out all the same: see opt_out_request
    assert keyword_of("") is None
    assert keyword_of("STOPPED") is None
    assert keyword_of("ｓｔｏｐ") == "STOP"  # full-width letters fold too


def test_an_international_number_without_its_plus_is_read_as_international(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    """Many SMSCs give the sender with type of number unknown: "15145550250" is no French
    number (the default region), but a valid Montréal one; that recipient's ARRET counts,
    through the sink every provider hands its messages to."""
    from sender.delivery.provider_events import receive_inbound
    from sender.delivery.providers.base import Inbound

    create_contact(session=session, phone="+15145550250", clock=clock, region="CA")
    session.commit()
    arret = Inbound(provider="smpp", phone="15145550250", to="36180", text="ARRET", at=clock.now())
    assert receive_inbound(session=session, clock=clock, settings=settings, message=arret) == (
        "opt_out"
    )
    assert contact(session, "+15145550250").status == "opted_out"
    # A national reading that is valid still wins: 0612345678 is Léa's, in France.
    assert receive(session, clock, settings, "STOP", phone="0612345678").contact_id == (
        contact(session).id
    )


def test_an_smpp_message_delivered_twice_acts_once(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    """No provider id: a digest of sender, number, text and time names it."""
    from sender.delivery.provider_events import receive_inbound
    from sender.delivery.providers.base import Inbound

    help_ = Inbound(provider="smpp", phone=LEA, to="36180", text="AIDE", at=clock.now())
    outcomes = [
        receive_inbound(session=session, clock=clock, settings=settings, message=help_)
        for _ in range(2)
    ]
    assert outcomes == ["help", "duplicate"]
    assert len(queued(session)) == 1


def test_a_message_from_an_unreadable_number_is_kept_for_review(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    """Never dropped: kept, and shown for review; it creates no contact and sends nothing."""
    from sender.delivery.inbound import review_queue
    from sender.delivery.provider_events import receive_inbound
    from sender.delivery.providers.base import Inbound

    stop = Inbound(provider="smpp", phone="Orange", to="36180", text="STOP", at=clock.now())
    assert receive_inbound(session=session, clock=clock, settings=settings, message=stop) == (
        "unreadable"
    )
    session.commit()
    (kept,) = review_queue(session=session)
    assert (kept.phone, kept.text, kept.keyword) == ("Orange", "STOP", "STOP")
    assert kept.contact_id is None
    assert kept.review is not None and "'Orange'" in kept.review
    assert find_by_phone(session=session, phone="Orange") is None
    assert session.exec(select(Message)).all() == []
    # A retry of it is the same message: kept once.
    assert receive_inbound(session=session, clock=clock, settings=settings, message=stop) == (
        "duplicate"
    )


@pytest.mark.parametrize("raw", ["+0033612345678", "+33612345678#"])
def test_an_opt_out_from_an_unreadable_number_that_is_a_contacts_is_honoured(
    session: Session, clock: FrozenClock, settings: Settings, raw: str
) -> None:
    from sender.delivery.inbound import review_queue
    from sender.delivery.provider_events import receive_inbound
    from sender.delivery.providers.base import Inbound

    arret = Inbound(provider="smpp", phone=raw, to="36180", text="ARRET", at=clock.now())
    assert receive_inbound(session=session, clock=clock, settings=settings, message=arret) == (
        "opt_out"
    )
    session.commit()
    assert contact(session).status == "opted_out"
    (kept,) = review_queue(session=session)
    assert kept.contact_id == contact(session).id and kept.action == "opt_out"
    assert kept.review is not None and repr(raw) in kept.review
    (confirmation,) = session.exec(select(Message)).all()
    assert confirmation.phone == LEA and confirmation.text == OPT_OUT_REPLY["fr"]
