"""Webhooks: signed deliveries of clicks, opt-outs and replies to a real HTTP receiver on
loopback, retried with back-off, never replayable, and only what followed registration."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import uvicorn
from sqlalchemy import Engine, select
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from landing_templates.coupons.models import Coupon
from richsms.db import session_scope
from richsms.errors import InvalidInput
from richsms.events import DELIVERED, GAVE_UP, PENDING, WebhookDelivery, emit_event
from richsms.settings import Settings
from sender.audience.contacts import create_contact, opt_out
from sender.chores import chores_from_settings, webhook_loop
from sender.webhooks.delivery import MAX_ATTEMPTS, backoff, deliver_due
from sender.webhooks.events import (
    SIGNATURE_HEADER,
    collect_events,
    create_webhook,
    sign,
    verify_signature,
)
from tests.clock import FrozenClock

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1"


@dataclass
class Receiver:
    """A real HTTP server that records what it is sent and answers scripted statuses."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 204


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    async def hook(request: Request) -> Response:
        state.received.append((dict(request.headers), await request.body()))
        return Response(status_code=state.statuses.pop(0) if state.statuses else 204)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}/hook"
    yield state
    server.should_exit = True
    thread.join(5)


def deliveries(engine: Engine) -> list[WebhookDelivery]:
    with Session(engine) as session:
        return list(session.execute(select(WebhookDelivery)).scalars())


def register(engine: Engine, clock: FrozenClock, url: str, *events: str) -> str:
    with session_scope(engine) as session:
        return create_webhook(
            session=session, clock=clock, url=url, events=events, allow_private=True
        ).secret


def collect(engine: Engine, clock: FrozenClock) -> int:
    with session_scope(engine) as session:
        return collect_events(session=session, clock=clock)


def test_a_click_reaches_the_receiver_signed(
    api: TestClient, engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    secret = register(engine, clock, receiver.url, "click")
    code = api.post("/api/links", json={"url": "https://shop.example/"}).json()["code"]
    tap = api.get(f"/{code}", headers={"User-Agent": IPHONE}, follow_redirects=False)
    assert tap.status_code == 302
    assert collect(engine, clock) == 0  # too fresh: a row with a lower id may still commit
    clock.advance(timedelta(seconds=11))
    assert collect(engine, clock) == 1
    assert deliver_due(engine=engine, clock=clock, allow_private=True) == (1, 0)
    [(headers, body)] = receiver.received
    event = json.loads(body)
    assert (event["type"], event["link"], event["human"]) == ("click", code, True)
    assert headers["richsms-event"] == "click"
    assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body, clock.now())
    assert [d.state for d in deliveries(engine)] == [DELIVERED]
    assert collect(engine, clock) == 0  # read once


def test_signatures_resist_forgery_and_replay(clock: FrozenClock) -> None:
    body = b'{"type":"click"}'
    header = sign("whsec_right", body, clock.now())
    assert verify_signature("whsec_right", header, body, clock.now())
    assert not verify_signature("whsec_wrong", header, body, clock.now())
    assert not verify_signature("whsec_right", header, body + b" ", clock.now())
    assert not verify_signature("whsec_right", header, body, clock.now() + timedelta(minutes=6))
    assert not verify_signature("whsec_right", "t=abc,v1=00", body, clock.now())
    assert not verify_signature("whsec_right", "", body, clock.now())


def test_a_failing_receiver_is_retried_with_back_off_then_given_up(
    engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    register(engine, clock, receiver.url, "opt_out")
    with session_scope(engine) as session:
        emit_event(session=session, clock=clock, event="opt_out", payload={"contact_id": 7})
    receiver.statuses = [500]
    assert deliver_due(engine=engine, clock=clock, allow_private=True) == (0, 1)
    [pending] = deliveries(engine)
    assert (pending.state, pending.attempts, pending.last_error) == (PENDING, 1, "HTTP 500")
    assert pending.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert deliver_due(engine=engine, clock=clock, allow_private=True) == (0, 0)  # not yet due
    clock.advance(timedelta(seconds=30))
    assert deliver_due(engine=engine, clock=clock, allow_private=True) == (1, 0)
    assert len(receiver.received) == 2
    assert receiver.received[0][1] == receiver.received[1][1]  # the same event, resent

    with session_scope(engine) as session:
        emit_event(session=session, clock=clock, event="opt_out", payload={"contact_id": 8})
    receiver.statuses = [503] * MAX_ATTEMPTS
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert deliver_due(engine=engine, clock=clock, allow_private=True) == (0, 1)
        clock.advance(backoff(attempt))
    last = max(deliveries(engine), key=lambda d: d.id or 0)
    assert (last.state, last.attempts) == (GAVE_UP, MAX_ATTEMPTS)


def test_an_unreachable_receiver_is_an_error_kept_not_a_crash(
    engine: Engine, clock: FrozenClock
) -> None:
    register(engine, clock, "http://127.0.0.1:9/nobody", "opt_out")
    with session_scope(engine) as session:
        emit_event(session=session, clock=clock, event="opt_out", payload={"contact_id": 1})
    assert deliver_due(engine=engine, clock=clock, allow_private=True) == (0, 1)
    [pending] = deliveries(engine)
    assert pending.state == PENDING and "ConnectError" in (pending.last_error or "")


def test_only_what_follows_registration_is_sent_and_only_to_subscribers(
    engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    with session_scope(engine) as session:
        before = create_contact(session=session, clock=clock, phone="+33612345678", region="FR")
        opt_out(session=session, contact=before, via="keyword", clock=clock)
    register(engine, clock, receiver.url, "opt_out")
    register(engine, clock, receiver.url + "?clicks", "click")
    with session_scope(engine) as session:
        after = create_contact(session=session, clock=clock, phone="+33612345679", region="FR")
        opt_out(session=session, contact=after, via="keyword", clock=clock)
    clock.advance(timedelta(seconds=11))
    assert collect(engine, clock) >= 1
    [delivery] = deliveries(engine)
    payload = json.loads(delivery.payload)
    assert (delivery.event, payload["contact_id"]) == ("opt_out", after.id)


def test_bad_registrations_are_refused(engine: Engine, clock: FrozenClock) -> None:
    with session_scope(engine) as session:
        for url, events in (
            ("https://ok.example/", ["clicks"]),
            ("https://ok.example/", []),
            ("ftp://files.example/", ["click"]),
            ("http:// /", ["click"]),
        ):
            with pytest.raises(InvalidInput):
                create_webhook(session=session, clock=clock, url=url, events=events)


def test_the_chore_loop_delivers_webhooks(
    engine: Engine, clock: FrozenClock, settings: Settings, receiver: Receiver
) -> None:
    register(engine, clock, receiver.url, "opt_out")
    with session_scope(engine) as session:
        contact = create_contact(session=session, clock=clock, phone="+33612345670", region="FR")
        opt_out(session=session, contact=contact, via="keyword:STOP", clock=clock)
    clock.advance(timedelta(seconds=11))
    assert "webhooks" not in {chore.name for chore in chores_from_settings(
        engine, settings, clock).chores}  # a loop of their own: see the drip receiver below
    loop = webhook_loop(engine, settings.replace(webhooks_allow_private=True), clock)
    try:
        loop.run_once(force=True)
    finally:
        loop.close()
    [(_headers, body)] = receiver.received
    assert json.loads(body)["contact_id"] == contact.id


def test_a_redemption_is_told_in_the_same_transaction(
    api: TestClient, engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    register(engine, clock, receiver.url, "redemption")
    with session_scope(engine) as session:
        now = clock.now()
        session.add(Coupon(code="NOEL-123456", contact_id=7, created_at=now, assigned_at=now))
    assert api.post("/api/coupons/NOEL-123456/redeem", json={"by": "till 2"}).status_code == 200
    assert api.post("/api/coupons/NOEL-123456/redeem", json={}).status_code == 409
    assert [d.event for d in deliveries(engine)] == ["redemption"]  # the refused one: nothing
    assert deliver_due(engine=engine, clock=clock, allow_private=True) == (1, 0)
    event = json.loads(receiver.received[0][1])
    assert (event["code"], event["by"], event["contact_id"]) == ("NOEL-123456", "till 2", 7)


def test_a_receipt_is_told_as_a_delivery_event(
    engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    from sender.delivery.outbox import NewMessage, enqueue
    from sender.delivery.receipts import record_receipt
    from sender.delivery.worker import Worker, WorkerConfig
    from tests.sender.delivery.providers.fault import FaultProvider

    register(engine, clock, receiver.url, "delivery")
    with session_scope(engine) as session:
        new = NewMessage(phone="+33612345678", text="Hi", type="informational")
        message = enqueue(session=session, message=new, now=clock.now())
        message_id = message.id
    worker = Worker(
        engine, FaultProvider(latency=0), clock, WorkerConfig(worker_id="w", default_rate=100)
    )
    try:
        worker.run_once()
    finally:
        worker.close()
    with session_scope(engine) as session:
        record_receipt(
            session=session,
            provider="fault",
            provider_id=f"fault-{message_id}",
            state="delivered",
            at=clock.now(),
        )
        record_receipt(  # twice: told once
            session=session,
            provider="fault",
            provider_id=f"fault-{message_id}",
            state="delivered",
            at=clock.now(),
        )
    assert deliver_due(engine=engine, clock=clock, allow_private=True) == (1, 0)
    event = json.loads(receiver.received[0][1])
    assert (event["type"], event["message_id"], event["state"]) == (
        "delivery",
        message_id,
        "delivered",
    )


def test_a_receipt_before_its_answer_is_told_once_as_a_delivery_event(
    engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    from sender.delivery.outbox import NewMessage, enqueue
    from sender.delivery.receipts import record_receipt
    from sender.delivery.worker import Worker, WorkerConfig
    from tests.sender.delivery.providers.fault import FaultProvider

    register(engine, clock, receiver.url, "delivery")
    with session_scope(engine) as session:
        new = NewMessage(phone="+33612345678", text="Hi", type="informational")
        message = enqueue(session=session, message=new, now=clock.now())
        message_id = message.id
    with session_scope(engine) as session:  # a fast SMSC: in before the answer is recorded
        outcome = record_receipt(
            session=session,
            provider="fault",
            provider_id=f"fault-{message_id}",
            state="undelivered",
            at=clock.now(),
            error="absent subscriber",
        )
    assert outcome == "pending"
    worker = Worker(
        engine, FaultProvider(latency=0), clock, WorkerConfig(worker_id="w", default_rate=100)
    )
    try:
        worker.run_once()
    finally:
        worker.close()
    assert deliver_due(engine=engine, clock=clock, allow_private=True) == (1, 0)
    event = json.loads(receiver.received[0][1])
    assert (event["type"], event["message_id"], event["state"], event["error"]) == (
        "delivery",
        message_id,
        "undelivered",
        "absent subscriber",
    )


def test_erasing_a_contact_erases_their_replies_from_webhook_payloads(
    api: TestClient, engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    secret = register(engine, clock, receiver.url, "reply")
    with session_scope(engine) as session:
        lea = create_contact(session=session, clock=clock, phone="+33612345678", region="FR")
        zoe = create_contact(session=session, clock=clock, phone="+33612345679", region="FR")
        lea_id, zoe_id = lea.id, zoe.id

    def reply(phone: str, text: str) -> None:
        assert api.post("/api/inbound", json={"from": phone, "text": text}).status_code == 200

    reply("+33612345678", "Mon code d'entrée est 4512B")
    clock.advance(timedelta(seconds=11))
    assert collect(engine, clock) == 1
    assert deliver_due(engine=engine, clock=clock, allow_private=True) == (1, 0)  # told already
    reply("+33612345678", "Rappelez-moi au 06 12 34 56 78")
    reply("+33612345679", "Merci !")
    clock.advance(timedelta(seconds=11))
    assert collect(engine, clock) == 2  # queued, not delivered yet

    erased = api.delete(f"/api/contacts/{lea_id}")
    assert erased.status_code == 200 and erased.json()["webhook_payloads"] == 2

    stored = {d.id: json.loads(d.payload) for d in deliveries(engine)}
    assert sorted((p["contact_id"], p["text"]) for p in stored.values()) == [
        (lea_id, ""),
        (lea_id, ""),
        (zoe_id, "Merci !"),
    ]
    assert deliver_due(engine=engine, clock=clock, allow_private=True) == (2, 0)
    sent = [(headers, json.loads(body), body) for headers, body in receiver.received[1:]]
    assert sorted((event["contact_id"], event["text"]) for _, event, _ in sent) == [
        (lea_id, ""),
        (zoe_id, "Merci !"),
    ]
    for headers, _, body in sent:  # signed as they now are
        assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body, clock.now())
    assert api.delete(f"/api/contacts/{zoe_id}").json()["webhook_payloads"] == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_a_webhook_to_a_private_address_is_refused_at_registration(
    engine: Engine, clock: FrozenClock, url: str
) -> None:
    with session_scope(engine) as session, pytest.raises(InvalidInput) as refused:
        create_webhook(session=session, clock=clock, url=url, events=["click"])
    assert "public internet only" in refused.value.message


def test_a_webhook_that_turned_private_is_not_posted(
    engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    """Registered while allowed (or while its name resolved elsewhere): each delivery
    resolves and checks again, and connects to nothing private."""
    register(engine, clock, receiver.url, "opt_out")
    with session_scope(engine) as session:
        contact = create_contact(session=session, clock=clock, phone="+33612345670", region="FR")
        opt_out(session=session, contact=contact, via="keyword:STOP", clock=clock)
    clock.advance(timedelta(seconds=11))
    assert collect(engine, clock) == 1
    assert deliver_due(engine=engine, clock=clock, allow_private=False) == (0, 1)
    assert receiver.received == []
    [delivery] = deliveries(engine)
    assert delivery.state == PENDING and "public internet only" in (delivery.last_error or "")


@pytest.fixture
def drip() -> Iterator[str]:
    """A receiver that accepts, then sends its answer one byte every 0.2 s, forever."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # accept() wakes up to see `stop`
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            while not stop.is_set():
                try:
                    conn.sendall(b"H")
                except OSError:
                    return
                stop.wait(0.2)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    accepting = threading.Thread(target=accept, daemon=True)
    accepting.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stop.set()
    accepting.join(5)
    listener.close()


def test_a_dripping_receiver_is_cut_at_the_deadline_and_holds_no_other(
    engine: Engine, clock: FrozenClock, receiver: Receiver, drip: str
) -> None:
    register(engine, clock, drip, "opt_out")
    register(engine, clock, receiver.url, "opt_out")
    with session_scope(engine) as session:
        contact = create_contact(session=session, clock=clock, phone="+33612345670", region="FR")
        opt_out(session=session, contact=contact, via="keyword:STOP", clock=clock)
    clock.advance(timedelta(seconds=11))
    assert collect(engine, clock) == 1  # one opt-out, a delivery to each
    began = time.monotonic()
    assert deliver_due(engine=engine, clock=clock, allow_private=True, deadline=1.0) == (1, 1)
    assert time.monotonic() - began < 10  # an endless drip, cut at its deadline
    assert len(receiver.received) == 1  # the other receiver was posted meanwhile
    failed = [d for d in deliveries(engine) if d.state == PENDING]
    assert [d.last_error for d in failed] == ["no complete answer within 1 s"]


def test_a_webhook_whose_host_does_not_resolve_yet_is_kept_and_checked_at_delivery(
    engine: Engine, clock: FrozenClock
) -> None:
    url = "https://hooks.invalid/in"  # .invalid never resolves (RFC 2606)
    with session_scope(engine) as session:
        create_webhook(session=session, clock=clock, url=url, events=["opt_out"])
        contact = create_contact(session=session, clock=clock, phone="+33612345670", region="FR")
        opt_out(session=session, contact=contact, via="keyword:STOP", clock=clock)
    clock.advance(timedelta(seconds=11))
    assert collect(engine, clock) == 1
    assert deliver_due(engine=engine, clock=clock) == (0, 1)
    [delivery] = deliveries(engine)
    assert "cannot be resolved" in (delivery.last_error or "")
