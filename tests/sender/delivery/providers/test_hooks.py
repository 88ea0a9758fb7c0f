"""`POST /hooks/http/status` and `/hooks/http/inbound` through the whole app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from richsms.db import session_scope
from richsms.settings import Secret, Settings
from sender.audience.contacts import create_contact
from sender.audience.models import Contact
from sender.delivery.models import InboundMessage, Message, MessagePart, PendingReceipt
from tests.clock import FrozenClock

TOKEN = "hooks-auth-token"
STATUS_URL = "https://pages.ex.co/hooks/http/status"
INBOUND_URL = "https://pages.ex.co/hooks/http/inbound"


@pytest.fixture
def hooks_client(settings: Settings, clock: FrozenClock) -> Iterator[TestClient]:
    from web.app import create_app

    app = create_app(settings.replace(http_auth_token=Secret(TOKEN)), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def post(client: TestClient, path: str, url: str, form: dict[str, str], *, token: str = TOKEN,
         signed: bool = True) -> tuple[int, str]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, form)
    response = client.post(path, content=urlencode(form), headers=headers)
    return response.status_code, response.text


def sent_message(engine: Engine, clock: FrozenClock, sid: str) -> int:
    with session_scope(engine) as session:
        now = clock.now() - timedelta(minutes=1)
        message = Message(phone="+33612345678", type="promotional", text="Bonjour", state="sent",
                          due_at=now, planned_at=now, sent_at=now, provider="http",
                          provider_id=sid)
        session.add(message)
        session.flush()
        assert message.id is not None
        session.add(MessagePart(message_id=message.id, provider="http", provider_id=sid,
                                state="sent"))
        return message.id


def test_a_signed_status_callback_delivers_the_message_once(
    hooks_client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    message_id = sent_message(engine, clock, "SM42")
    form = {"MessageSid": "SM42", "MessageStatus": "delivered", "AccountSid": "AC1"}
    assert post(hooks_client, "/hooks/http/status", STATUS_URL, form) == (200, "applied")
    assert post(hooks_client, "/hooks/http/status", STATUS_URL, form) == (200, "duplicate")
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        assert (message.state, message.delivered_at) == ("delivered", clock.now())


def test_a_forged_or_missing_signature_gets_403_and_changes_nothing(
    hooks_client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    message_id = sent_message(engine, clock, "SM43")
    form = {"MessageSid": "SM43", "MessageStatus": "delivered"}
    forged = post(hooks_client, "/hooks/http/status", STATUS_URL, form, token="not-the-token")
    assert forged[0] == 403 and "signature" in forged[1].lower()
    assert post(hooks_client, "/hooks/http/status", STATUS_URL, form, signed=False)[0] == 403
    inbound = {"From": "+33612345678", "To": "+33700000000", "Body": "STOP"}
    assert post(hooks_client, "/hooks/http/inbound", INBOUND_URL, inbound, signed=False)[0] == 403
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.state == "sent"
        assert session.exec(select(func.count()).select_from(PendingReceipt)).one() == (0,)
        assert session.exec(select(func.count()).select_from(InboundMessage)).one() == (0,)


def test_a_signed_inbound_arret_opts_the_contact_out(
    hooks_client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    with session_scope(engine) as session:
        create_contact(session=session, phone="+33612345678", clock=clock, region="FR")
    form = {"From": "+33612345678", "To": "+33700000000", "Body": "ARRET", "MessageSid": "SM9"}
    status, body = post(hooks_client, "/hooks/http/inbound", INBOUND_URL, form)
    assert status == 200 and "<Response>" in body
    with Session(engine) as session:
        contact = session.exec(select(Contact)).one()[0]
        assert contact.status == "opted_out"
        [inbound] = [row[0] for row in session.exec(select(InboundMessage)).all()]
        assert (inbound.text, inbound.action) == ("ARRET", "opt_out")


def test_twilio_opt_out_type_wins_over_our_keywords(
    hooks_client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    with session_scope(engine) as session:
        create_contact(session=session, phone="+33612345678", clock=clock, region="FR")
    form = {"From": "+33612345678", "To": "+33700000000", "Body": "Ne m'écrivez plus",
            "OptOutType": "STOP"}
    assert post(hooks_client, "/hooks/http/inbound", INBOUND_URL, form)[0] == 200
    with Session(engine) as session:
        assert session.exec(select(Contact)).one()[0].status == "opted_out"


def test_a_body_past_the_webhook_limit_gets_413_and_changes_nothing(
    hooks_client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    message_id = sent_message(engine, clock, "SM44")
    form = {"MessageSid": "SM44", "MessageStatus": "delivered", "Padding": "x" * 70_000}
    status, body = post(hooks_client, "/hooks/http/status", STATUS_URL, form)  # signed
    assert status == 413 and "larger than 65536 bytes" in body

    def stream() -> Iterator[bytes]:  # no Content-Length: refused while it arrives
        yield urlencode({"MessageSid": "SM44", "MessageStatus": "delivered"}).encode()
        for _ in range(100):
            yield b"&Padding=" + b"x" * 1024

    streamed = hooks_client.post(
        "/hooks/http/status",
        content=stream(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.state == "sent"


def test_an_inbound_message_from_an_unreadable_number_is_kept_for_review(
    hooks_client: TestClient, engine: Engine, token: str
) -> None:
    """Through the one provider-events sink: acknowledged (200), never refused nor dropped:
    kept for review, shown by the API, and nothing else done (no contact made)."""
    form = {"From": "Orange", "To": "+33700000000", "Body": "STOP", "MessageSid": "SM10"}
    status, body = post(hooks_client, "/hooks/http/inbound", INBOUND_URL, form)
    assert status == 200 and "<Response>" in body
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(InboundMessage)).one() == (1,)
        assert session.exec(select(func.count()).select_from(Contact)).one() == (0,)
    listed = hooks_client.get(
        "/api/inbound/review", headers={"Authorization": f"Bearer {token}"}
    ).json()
    (kept,) = listed["messages"]
    assert (kept["phone"], kept["text"], kept["action"]) == ("Orange", "STOP", "unreadable")
    assert "'Orange'" in kept["review"] and listed["next_after"] is None


def test_a_retried_inbound_request_acts_once(
    hooks_client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    """A provider retries a webhook it got no answer for: the same signed request twice
    stores one message and sends one HELP answer."""
    with session_scope(engine) as session:
        create_contact(session=session, phone="+33612345678", clock=clock, region="FR")
    form = {"From": "+33612345678", "To": "+33700000000", "Body": "AIDE", "MessageSid": "SM11"}
    for _ in range(2):
        assert post(hooks_client, "/hooks/http/inbound", INBOUND_URL, form)[0] == 200
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(InboundMessage)).one() == (1,)
        assert session.exec(select(func.count()).select_from(Message)).one() == (1,)


def test_a_captured_start_replayed_later_does_not_resubscribe(
    hooks_client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    with session_scope(engine) as session:
        create_contact(session=session, phone="+33612345678", clock=clock, region="FR")
    start = {"From": "+33612345678", "To": "+33700000000", "Body": "START", "MessageSid": "SM12"}
    stop = {"From": "+33612345678", "To": "+33700000000", "Body": "STOP", "MessageSid": "SM13"}
    assert post(hooks_client, "/hooks/http/inbound", INBOUND_URL, start)[0] == 200
    clock.advance(timedelta(hours=1))
    assert post(hooks_client, "/hooks/http/inbound", INBOUND_URL, stop)[0] == 200
    clock.advance(timedelta(days=2))
    assert post(hooks_client, "/hooks/http/inbound", INBOUND_URL, start)[0] == 200  # replayed
    with Session(engine) as session:
        assert session.exec(select(Contact)).one()[0].status == "opted_out"
        actions = [row[0] for row in session.exec(select(InboundMessage.action)).all()]
        assert sorted(actions) == ["opt_in", "opt_out"]
