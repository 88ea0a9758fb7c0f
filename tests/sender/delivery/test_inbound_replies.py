"""Replies and opt-outs in several words, counted for the campaign they answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender.audience.contacts import create_contact, find_by_phone
from sender.audience.models import Contact
from sender.campaigns.models import Campaign
from sender.compose.encoding import analyze
from sender.delivery.inbound import (
    CLARIFY_REPLY,
    OPT_IN_REPLY,
    OPT_OUT_REPLY,
    InboundResult,
    handle_inbound,
)
from sender.delivery.models import InboundMessage, Message
from tests.clock import FrozenClock

LEA = "+33612345678"


@pytest.fixture
def session(engine: Engine, clock: FrozenClock) -> Iterator[Session]:
    with Session(engine) as session:
        create_contact(session=session, phone=LEA, clock=clock, region="FR", first_name="Léa")
        session.commit()
        yield session


def receive(
    session: Session,
    clock: FrozenClock,
    settings: Settings,
    text: str,
    phone: str = LEA,
    to: str = "36180",
) -> InboundResult:
    return handle_inbound(
        session=session, phone=phone, to=to, text=text, clock=clock, settings=settings
    )


def lea(session: Session) -> Contact:
    found = find_by_phone(session=session, phone=LEA)
    assert found is not None
    session.refresh(found)
    return found


def queued_texts(session: Session) -> list[str]:
    return list(session.exec(select(col(Message.text)).order_by(col(Message.id))))


def sent_message(
    session: Session, clock: FrozenClock, *, ago: timedelta, campaign: str | None
) -> tuple[int | None, int]:
    """A message Léa received `ago`, of a new campaign named `campaign` (None: unitary)."""
    now = clock.now()
    campaign_id = None
    if campaign is not None:
        row = Campaign(
            name=campaign, type="promotional", template="x", created_at=now, updated_at=now
        )
        session.add(row)
        session.flush()
        campaign_id = row.id
    message = Message(
        campaign_id=campaign_id,
        contact_id=lea(session).id,
        phone=LEA,
        type="promotional",
        text="-20% ce week-end",
        state="delivered",
        due_at=now - ago,
        planned_at=now - ago,
        sent_at=now - ago,
    )
    session.add(message)
    session.commit()
    assert message.id is not None
    return campaign_id, message.id


@pytest.mark.parametrize(
    "text",
    [
        "stop please",
        "Unsubscribe me",
        "STOP ALL",
        "désabonner",
        "arrête",
        "Opt out",
        "please stop texting me",
        "Je veux me désabonner svp",
        "Arrêtez de m'envoyer des SMS !",
        "cancel my subscription",
    ],
)
def test_an_opt_out_in_several_words_opts_out(
    session: Session, clock: FrozenClock, settings: Settings, text: str
) -> None:
    result = receive(session, clock, settings, text)
    assert result.action == "opt_out" and result.reply == OPT_OUT_REPLY["fr"]
    assert lea(session).status == "opted_out"
    assert queued_texts(session) == [OPT_OUT_REPLY["fr"]]


@pytest.mark.parametrize("text", ["I can't stop laughing", "When does the offer end?"])
def test_an_ambiguous_message_gets_one_question_and_nothing_else_until_answered(
    session: Session, clock: FrozenClock, settings: Settings, text: str
) -> None:
    result = receive(session, clock, settings, text)
    assert (result.action, result.reply) == ("clarify", CLARIFY_REPLY["fr"])
    # Held: no campaign reaches her until she answers.
    assert (lea(session).status, lea(session).opted_out_via) == ("opted_out", "clarify")
    again = receive(session, clock, settings, "Stop asking, when does it end?")
    assert (again.action, again.reply) == ("reply", None)
    assert queued_texts(session) == [CLARIFY_REPLY["fr"]]
    answer = receive(session, clock, settings, "STOP")
    assert (answer.action, answer.reply) == ("opt_out", OPT_OUT_REPLY["fr"])
    assert (lea(session).status, lea(session).opted_out_via) == ("opted_out", "keyword:STOP")


def test_answering_start_to_the_question_keeps_the_subscription(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    receive(session, clock, settings, "on peut arrêter de se voir ?")
    assert lea(session).status == "opted_out"
    answer = receive(session, clock, settings, "START")
    assert (answer.action, answer.reply) == ("opt_in", OPT_IN_REPLY["fr"])
    assert lea(session).status == "subscribed"


def test_a_repeated_stop_gets_no_second_confirmation(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    first = receive(session, clock, settings, "STOP")
    clock.advance(timedelta(hours=1))
    second = receive(session, clock, settings, "stop!!")
    third = receive(session, clock, settings, "STOP ALL")
    assert first.reply == OPT_OUT_REPLY["fr"]
    assert (second.action, second.reply, third.action, third.reply) == (
        "opt_out",
        None,
        "opt_out",
        None,
    )
    assert queued_texts(session) == [OPT_OUT_REPLY["fr"]]
    assert lea(session).opted_out_at == clock.now() - timedelta(hours=1)


def test_replies_and_opt_outs_count_for_the_campaign_last_received(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    sent_message(session, clock, ago=timedelta(days=3), campaign="Soldes")
    campaign_id, message_id = sent_message(session, clock, ago=timedelta(days=2), campaign="Noël")
    reply = receive(session, clock, settings, "C'est jusqu'à quand ?")
    stop = receive(session, clock, settings, "STOP")
    # Our confirmation, once sent, is not what she answers next.
    session.exec(select(Message).where(col(Message.text) == OPT_OUT_REPLY["fr"])).one().sent_at = (
        clock.now()
    )
    session.commit()
    start = receive(session, clock, settings, "START")
    for result in (reply, stop, start):
        assert (result.campaign_id, result.message_id) == (campaign_id, message_id)
    stored = session.exec(select(InboundMessage).order_by(col(InboundMessage.id))).all()
    assert [(i.action, i.campaign_id, i.message_id) for i in stored] == [
        ("reply", campaign_id, message_id),
        ("opt_out", campaign_id, message_id),
        ("opt_in", campaign_id, message_id),
    ]


def test_a_unitary_message_is_what_a_reply_answers(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    campaign_id, message_id = sent_message(session, clock, ago=timedelta(hours=1), campaign=None)
    result = receive(session, clock, settings, "OK merci")
    assert (campaign_id, result.campaign_id, result.message_id) == (None, None, message_id)


def test_nothing_is_answered_past_the_window(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    campaign_id, message_id = sent_message(session, clock, ago=timedelta(days=8), campaign="Old")
    late = receive(session, clock, settings, "STOP")
    assert (late.campaign_id, late.message_id) == (None, None)
    wider = settings.replace(reply_window_days=10)
    again = receive(session, clock, wider, "Merci")
    assert (again.campaign_id, again.message_id) == (campaign_id, message_id)


def test_a_network_number_is_never_read_as_another_country(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    # Sent to our Canadian number: a national number is Canadian, not +51 (Peru).
    canadian = receive(session, clock, settings, "STOP", phone="5145552420", to="+15145550000")
    stored = find_by_phone(session=session, phone="+15145552420")
    assert stored is not None and canadian.contact_id == stored.id
    # Québec: the confirmation is in French.
    assert (stored.language, canadian.reply) == ("fr", OPT_OUT_REPLY["fr"])
    # Sent to a short code with the default region FR: not a French number, refused.
    with pytest.raises(InvalidInput, match="not a valid number for FR: 5145552420"):
        receive(session, clock, settings, "STOP", phone="5145552420")
    assert find_by_phone(session=session, phone="+5145552420") is None
    # International numbers, as networks give them, stay as they are.
    vancouver = receive(session, clock, settings, "STOP", phone="+16045558762")
    assert vancouver.reply == OPT_OUT_REPLY["en"]


@pytest.mark.parametrize("reply", list(CLARIFY_REPLY.values()))
def test_the_question_is_gsm7_and_one_segment(reply: str) -> None:
    analysis = analyze(reply)
    assert (analysis.encoding, analysis.segments) == ("GSM-7", 1)


def test_an_ambiguous_message_is_not_counted_as_an_opt_out(
    session: Session, clock: FrozenClock, settings: Settings
) -> None:
    receive(session, clock, settings, "I can't stop laughing")
    receive(session, clock, settings, "STOP")
    stored = session.exec(select(InboundMessage).order_by(col(InboundMessage.id))).all()
    assert [(i.keyword, i.action) for i in stored] == [(None, "clarify"), ("STOP", "opt_out")]
