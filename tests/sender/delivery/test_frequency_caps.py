"""Frequency caps (sender/delivery/frequency_caps.py): a contact gets at most N promotional
messages per D days and none within H hours of another, counted when a campaign is planned
(the recipient left out, with the reason) and again when a worker claims the message (two
campaigns sent together never both reach one person past the cap)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlmodel import Session, col
from starlette.testclient import TestClient

from richsms.db import read_session, session_scope
from richsms.settings import ConfigError, Settings
from sender.audience.models import Contact, ContactGroup, GroupMember
from sender.campaigns.campaign import set_frequency_cap
from sender.campaigns.send_summary import send_summary
from sender.campaigns.unitary import CampaignTestSend, UnitaryMessage, send_unitary
from sender.delivery.claims import ClaimRules, claim
from sender.delivery.frequency_caps import REASON, FrequencyCap
from sender.delivery.models import QUEUED, SENT, SKIPPED, Message
from sender.delivery.worker import Worker, WorkerConfig
from sender.results.campaign_stats import campaign_report
from shortener.codes import CodeMaker
from tests.clock import FrozenClock
from tests.sender.campaigns.test_planning_job import campaign_row, new_campaign, plan, send
from tests.sender.campaigns.test_triggers import automation, process
from tests.sender.campaigns.test_triggers import marketer as marketer  # noqa: F401 (a fixture)
from tests.sender.delivery.test_worker import Recorder

DAY = timedelta(days=1)


@pytest.fixture
def capped(settings: Settings) -> Settings:
    """The account's default cap: 2 promotional messages per 7 days, 16 hours apart."""
    return settings.replace(frequency_cap="2/7d", frequency_gap_hours=16)


def contacts(engine: Engine, clock: FrozenClock, count: int) -> list[int]:
    now = clock.now()
    with session_scope(engine) as session:
        first = session.execute(select(func.coalesce(func.max(col(Contact.id)), 0))).scalar_one()
        session.execute(
            insert(Contact),
            [
                {
                    "phone": f"+3361{first + i:07d}",
                    "first_name": f"C{first + i}",
                    "last_name": "",
                    "email": "",
                    "status": "subscribed",
                    "language": "fr",
                    "timezones": "Europe/Paris",
                    "fields": {},
                    "consent_type": "express",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, count + 1)
            ],
        )
        return list(
            session.execute(select(col(Contact.id)).where(col(Contact.id) > first)).scalars()
        )


def group(engine: Engine, clock: FrozenClock, members: list[int]) -> int:
    with session_scope(engine) as session:
        count = session.execute(select(func.count()).select_from(ContactGroup)).scalar_one()
        found = ContactGroup(name=f"group {count + 1}", created_at=clock.now())
        session.add(found)
        session.flush()
        session.execute(
            insert(GroupMember),
            [{"group_id": found.id, "contact_id": i, "added_at": clock.now()} for i in members],
        )
        assert found.id is not None
        return found.id


def campaign(engine: Engine, clock: FrozenClock, members: list[int], **options: Any) -> int:
    """A campaign (promotional unless told) to `members`, sent: planning is due."""
    campaign_id = new_campaign(engine, clock, group(engine, clock, members), rate=1000, **options)
    send(engine, clock, campaign_id)
    return campaign_id


def deliver(engine: Engine, clock: FrozenClock, settings: Settings) -> Recorder:
    """A worker with the account's cap hands every due message over."""
    recorder = Recorder()
    config = WorkerConfig(
        worker_id="w1", default_rate=1000, frequency_cap=FrequencyCap.of_account(settings)
    )
    worker = Worker(engine, recorder, clock, config)
    while worker.run_once():
        pass
    return recorder


def promote(engine: Engine, clock: FrozenClock, settings: Settings, members: list[int]) -> int:
    """A promotion planned and handed over to `members`."""
    campaign_id = campaign(engine, clock, members)
    assert plan(engine, clock, settings, "planner") == [campaign_id]
    deliver(engine, clock, settings)
    return campaign_id


def recipients(engine: Engine, campaign_id: int, *states: str) -> list[int]:
    with Session(engine) as session:
        query = select(col(Message.contact_id)).where(col(Message.campaign_id) == campaign_id)
        if states:
            query = query.where(col(Message.state).in_(states))
        return sorted(i for i in session.execute(query).scalars() if i is not None)


def summary(engine: Engine, clock: FrozenClock, settings: Settings, campaign_id: int) -> Any:
    with Session(engine) as session:
        return send_summary(
            session=session, settings=settings, campaign_id=campaign_id, now=clock.now()
        )


def report(engine: Engine, campaign_id: int) -> dict[str, Any]:
    with Session(engine) as session:
        return campaign_report(
            session=session, campaign_id=campaign_id, price_per_segment=Decimal(0), currency="EUR"
        )


def test_a_contact_sent_two_promotions_this_week_is_left_out_of_a_third(
    engine: Engine, clock: FrozenClock, capped: Settings
) -> None:
    anne, bruno, chloe = contacts(engine, clock, 3)
    promote(engine, clock, capped, [anne, bruno])
    clock.advance(2 * DAY)
    promote(engine, clock, capped, [anne])
    clock.advance(2 * DAY)

    third = new_campaign(engine, clock, group(engine, clock, [anne, bruno, chloe]), rate=1000)
    before = summary(engine, clock, capped, third)  # what the marketer confirms
    assert before.excluded == {"opted_out": 0, "no_consent": 0, "frequency_cap": 1}
    assert before.recipients == 2 and before.audience == 3

    send(engine, clock, third)
    plan(engine, clock, capped, "planner")
    assert recipients(engine, third) == [bruno, chloe]
    row = campaign_row(engine, third)
    assert (row.planned_count, row.excluded_count, row.exclusions) == (2, 1, {REASON: 1})
    deliver(engine, clock, capped)
    production = report(engine, third)["production"]
    assert production["excluded"] == 1 and production["frequency_capped"] == 1
    assert production["excluded_reasons"] == [{"reason": "frequency cap", "count": 1}]

    # Eight days after the first promotion, Anne has had one this week: she gets the next.
    clock.advance(4 * DAY)
    fourth = campaign(engine, clock, [anne])
    plan(engine, clock, capped, "planner")
    assert recipients(engine, fourth) == [anne]


def test_two_campaigns_planned_together_do_not_both_reach_a_contact_past_the_cap(
    engine: Engine, clock: FrozenClock, capped: Settings
) -> None:
    anne, bruno = contacts(engine, clock, 2)
    promote(engine, clock, capped, [anne])
    clock.advance(3 * DAY)
    no_gap = capped.replace(frequency_gap_hours=0)
    first = campaign(engine, clock, [anne, bruno])
    second = campaign(engine, clock, [anne, bruno])
    assert plan(engine, clock, no_gap, "planner") == [first, second]
    assert recipients(engine, first) == [anne, bruno]
    assert recipients(engine, second) == [bruno]  # Anne's second this week is the first's
    assert campaign_row(engine, second).exclusions == {REASON: 1}

    # With the 16 hours' gap, neither gets a second message today.
    third = campaign(engine, clock, [anne, bruno])
    plan(engine, clock, capped, "planner")
    assert recipients(engine, third) == []
    assert campaign_row(engine, third).exclusions == {REASON: 2}


def test_a_message_the_planning_could_not_see_coming_is_stopped_when_claimed(
    engine: Engine, clock: FrozenClock, capped: Settings, settings: Settings
) -> None:
    anne, bruno = contacts(engine, clock, 2)
    promote(engine, clock, capped, [anne])
    clock.advance(3 * DAY)
    # Two campaigns planned by two workers at once: neither saw the other's messages
    # (here: planned before the cap counted anything).
    first = campaign(engine, clock, [anne, bruno])
    second = campaign(engine, clock, [anne])
    plan(engine, clock, settings, "planner")
    assert recipients(engine, second, QUEUED) == [anne]

    handed = deliver(engine, clock, capped)
    assert sorted(m.phone for m in handed.handed) == sorted(
        phone_of(engine, c) for c in (anne, bruno)
    )
    with Session(engine) as session:
        annes = session.execute(
            select(col(Message.state), col(Message.error)).where(
                col(Message.contact_id) == anne, col(Message.campaign_id).in_((first, second))
            )
        ).all()
    # Whichever campaign's claim came first, the other's message to Anne is stopped.
    assert sorted(tuple(row) for row in annes) == [(SENT, None), (SKIPPED, REASON)]
    capped_by = [report(engine, c)["production"]["frequency_capped"] for c in (first, second)]
    assert sorted(capped_by) == [0, 1]


def phone_of(engine: Engine, contact_id: int) -> str:
    with Session(engine) as session:
        found = session.get(Contact, contact_id)
        assert found is not None
        return found.phone


def test_two_workers_claiming_at_once_reach_a_contact_once(
    engine: Engine, clock: FrozenClock, capped: Settings, settings: Settings
) -> None:
    """The second claim waits for the first to commit (the contact is locked), then counts
    what it handed over: whichever order the two transactions run in, one message goes."""
    (anne,) = contacts(engine, clock, 1)
    first = campaign(engine, clock, [anne])
    second = campaign(engine, clock, [anne])
    plan(engine, clock, settings, "planner")  # neither planning saw the other
    rules = ClaimRules(
        "w1", "recorder", 10, 1000, 1.0, timedelta(hours=24), FrequencyCap.of_account(capped)
    )
    outcome: dict[str, Any] = {}

    def other_worker() -> None:
        with engine.begin() as conn:
            outcome["second"] = claim(
                conn, campaign_id=second, sender="", now=clock.now(), rules=rules
            )

    with engine.begin() as conn:
        taken = claim(conn, campaign_id=first, sender="", now=clock.now(), rules=rules)
        assert len(taken.messages) == 1
        thread = threading.Thread(target=other_worker)
        thread.start()
        if engine.dialect.name == "postgresql":  # SQLite: its BEGIN IMMEDIATE waits
            # Until the other claim waits for Anne's lock (it may not finish before).
            while thread.is_alive() and not waits_for_a_contact(engine):
                thread.join(0.01)
    thread.join()
    assert outcome["second"].messages == [] and outcome["second"].skipped == 1
    assert recipients(engine, second, SKIPPED) == [anne]


def waits_for_a_contact(engine: Engine) -> bool:
    with engine.connect() as conn:
        waiting = conn.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        ).scalar_one()
    return bool(waiting)


def test_the_gap_keeps_promotions_apart(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    gap_only = settings.replace(frequency_cap="off", frequency_gap_hours=16)
    anne, bruno = contacts(engine, clock, 2)
    promote(engine, clock, gap_only, [anne])
    clock.advance(timedelta(hours=10))
    promote(engine, clock, gap_only, [bruno])
    clock.advance(timedelta(hours=10))  # Anne's was 20 hours ago, Bruno's 10
    later = campaign(engine, clock, [anne, bruno])
    plan(engine, clock, gap_only, "planner")
    assert recipients(engine, later) == [anne]
    assert campaign_row(engine, later).exclusions == {REASON: 1}


def test_an_approver_gives_a_campaign_its_own_cap_or_none(
    engine: Engine, clock: FrozenClock, capped: Settings
) -> None:
    anne, bruno = contacts(engine, clock, 2)
    promote(engine, clock, capped, [anne, bruno])
    clock.advance(DAY)
    promote(engine, clock, capped, [anne, bruno])
    clock.advance(DAY)
    three = new_campaign(engine, clock, group(engine, clock, [anne]), rate=1000)
    unlimited = new_campaign(engine, clock, group(engine, clock, [bruno]), rate=1000)
    with session_scope(engine) as session:
        own = {"max": 3, "days": 7, "gap_hours": 0}
        set_frequency_cap(session=session, clock=clock, campaign_id=three, frequency_cap=own)
        set_frequency_cap(session=session, clock=clock, campaign_id=unlimited, frequency_cap=None)
    assert summary(engine, clock, capped, unlimited).excluded == {"opted_out": 0, "no_consent": 0}
    send(engine, clock, three)
    send(engine, clock, unlimited)
    plan(engine, clock, capped, "planner")
    deliver(engine, clock, capped)  # the worker holds them to the same caps
    assert recipients(engine, three, "sent") == [anne]
    assert recipients(engine, unlimited, "sent") == [bruno]

    fourth = campaign(engine, clock, [anne])  # the account's cap again
    plan(engine, clock, capped, "planner")
    assert recipients(engine, fourth) == []


def test_informational_and_administrative_messages_are_not_capped(
    engine: Engine, clock: FrozenClock, capped: Settings
) -> None:
    (anne,) = contacts(engine, clock, 1)
    promote(engine, clock, capped, [anne])
    clock.advance(DAY)
    promote(engine, clock, capped, [anne])
    for type in ("informational", "administrative"):
        news = campaign(engine, clock, [anne], type=type, template="Votre commande : {{ link }}")
        plan(engine, clock, capped, "planner")
        deliver(engine, clock, capped)
        assert recipients(engine, news, "sent") == [anne]
        assert summary(engine, clock, capped, news).excluded.get("frequency_cap") is None


def test_test_sends_are_not_counted(engine: Engine, clock: FrozenClock, capped: Settings) -> None:
    (anne,) = contacts(engine, clock, 1)
    promote(engine, clock, capped, [anne])
    clock.advance(DAY)
    second = new_campaign(engine, clock, group(engine, clock, [anne]), rate=1000)
    trial = CampaignTestSend(campaign_id=second, phone=phone_of(engine, anne), contact_id=anne)
    with read_session(engine) as reading, session_scope(engine) as writing:
        codes = CodeMaker(capped.secret_key.reveal())
        send_unitary(reading, writing, trial, clock=clock, settings=capped, codes=codes)
    assert len(deliver(engine, clock, capped).handed) == 1  # the marketer's phone got it
    send(engine, clock, second)
    plan(engine, clock, capped, "planner")
    assert recipients(engine, second) == [anne]  # neither the count nor the gap saw it


def test_a_malformed_cap_setting_names_the_variable() -> None:
    for bad in ("2 per week", "0/7d", "2/0d", "2/7w", "/7d"):
        with pytest.raises(ConfigError, match="RICHSMS_FREQUENCY_CAP"):
            Settings.load({"RICHSMS_FREQUENCY_CAP": bad}, env_file=None)
    with pytest.raises(ConfigError, match="RICHSMS_FREQUENCY_GAP_HOURS"):
        Settings.load({"RICHSMS_FREQUENCY_GAP_HOURS": "-1"}, env_file=None)
    with pytest.raises(ConfigError, match="RICHSMS_FREQUENCY_GAP_HOURS"):
        Settings.load({"RICHSMS_FREQUENCY_GAP_HOURS": "sixteen"}, env_file=None)
    default = Settings.load({}, env_file=None)
    assert FrequencyCap.of_account(default) == FrequencyCap(2, 7, 16)
    off = Settings.load(
        {"RICHSMS_FREQUENCY_CAP": "off", "RICHSMS_FREQUENCY_GAP_HOURS": "0"}, env_file=None
    )
    assert FrequencyCap.of_account(off) is None
    monthly = Settings.load({"RICHSMS_FREQUENCY_CAP": "3/30"}, env_file=None)
    assert FrequencyCap.of_account(monthly) == FrequencyCap(3, 30, 16)


def test_an_outside_event_does_not_take_a_contact_past_the_cap(
    marketer: TestClient, engine: Engine, clock: FrozenClock, capped: Settings
) -> None:
    anne, bruno = contacts(engine, clock, 2)
    promote(engine, clock, capped, [anne])
    clock.advance(DAY)
    promote(engine, clock, capped, [anne])
    clock.advance(DAY)
    heat = automation(marketer)
    url = f"/api/automations/{heat['id']}/trigger"
    ids = []
    for contact_id in (anne, bruno):
        answer = marketer.post(url, json={"contact_id": contact_id, "data": {"temperature": 28}})
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["trigger_id"])
    assert process(engine, clock, capped) == 1
    states = [marketer.get(f"{url[: -len('/trigger')]}/triggers/{i}").json() for i in ids]
    assert [(s["state"], s["reason"]) for s in states] == [
        ("skipped", REASON),
        ("enqueued", None),
    ]


def test_a_promotion_of_no_campaign_is_capped_when_claimed(
    engine: Engine, clock: FrozenClock, capped: Settings
) -> None:
    """A unitary promotional send counts and is counted like a campaign's message."""
    anne, bruno = contacts(engine, clock, 2)
    promote(engine, clock, capped, [anne, bruno])
    clock.advance(DAY)
    promote(engine, clock, capped, [anne])
    clock.advance(DAY)
    codes = CodeMaker(capped.secret_key.reveal())
    sent = {}
    for contact_id in (anne, bruno):
        request = UnitaryMessage(type="promotional", contact_id=contact_id, text="Soldes -30 %")
        with read_session(engine) as reading, session_scope(engine) as writing:
            message = send_unitary(
                reading, writing, request, clock=clock, settings=capped, codes=codes
            )
            sent[contact_id] = message.id
    deliver(engine, clock, capped)
    with Session(engine) as session:
        stopped, reached = (session.get(Message, sent[c]) for c in (anne, bruno))
        assert stopped is not None and reached is not None
        assert (stopped.state, stopped.error) == (SKIPPED, REASON)  # her third this week
        assert reached.state == SENT
    (informational,) = (
        UnitaryMessage(type="informational", contact_id=anne, text="Votre colis est arrivé"),
    )
    with read_session(engine) as reading, session_scope(engine) as writing:
        parcel = send_unitary(
            reading, writing, informational, clock=clock, settings=capped, codes=codes
        )
        parcel_id = parcel.id
    deliver(engine, clock, capped)
    with Session(engine) as session:
        found = session.get(Message, parcel_id)
        assert found is not None and found.state == SENT  # informational: never capped
