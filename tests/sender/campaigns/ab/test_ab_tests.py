"""A/B tests end to end, as a marketer runs them through the API: the test recipients
drawn and sent each variant, their taps counted, the decision taken by the chore loop
when its time comes (a winner, a tie sent the fallback, or a wait for the marketer), and
the rest of the audience sent the variant chosen."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import col
from starlette.testclient import TestClient

from landing_templates.coupons.models import Coupon
from landing_templates.pages import create_page, publish_page
from richsms.db import read_session, session_scope
from richsms.settings import Settings
from sender.audience.models import Contact
from sender.campaigns.ab.decision import decide_due_tests
from sender.campaigns.models import AbRecipient
from sender.campaigns.planner import Progress
from sender.campaigns.planning_job import JobHooks, run_planning
from sender.chores import chores_from_settings
from sender.delivery.models import Message
from sender.delivery.providers.console import ConsoleProvider
from sender.delivery.worker import Worker, WorkerConfig
from shortener.codes import CodeMaker
from tests.clock import FrozenClock
from tests.sender.campaigns.test_planning_job import seed

PHONE = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148"}
TEXTS = ("Soldes A {{ link }}", "Soldes B {{ link }}", "Soldes C {{ link }}")


def ab_campaign(api: TestClient, group_id: int, **test: Any) -> int:
    body = {
        "name": "Soldes d'hiver",
        "type": "promotional",
        "template": "Soldes {{ link }}",
        "target_url": "https://shop.example/soldes",
        "group_ids": [group_id],
        "window_start": "00:00",
        "window_end": "23:59",
        "rate": 10_000,
        "ab_test": {
            "variants": [{"template": TEXTS[0]}, {"template": TEXTS[1]}],
            "test_share": 0.2,
            "metric": "human_ctr",
            "decide_after_minutes": 60,
            "if_no_winner": "fallback",
            "fallback": 0,
            **test,
        },
    }
    created = api.post("/api/campaigns", json=body)
    assert created.status_code == 201, created.text
    campaign_id: int = created.json()["id"]
    assert api.post(f"/api/campaigns/{campaign_id}/send").status_code == 202
    return campaign_id


def plan(engine: Engine, clock: FrozenClock, settings: Settings) -> None:
    codes = CodeMaker(settings.secret_key.reveal())
    run_planning(engine=engine, clock=clock, settings=settings, codes=codes, worker_id="w")


def send_due(engine: Engine, clock: FrozenClock) -> None:
    """A worker with the console provider hands over every due message."""
    worker = Worker(engine, ConsoleProvider(clock=clock), clock, WorkerConfig(worker_id="w"))
    while worker.run_once():
        pass
    worker.close()


def texts(engine: Engine, campaign_id: int) -> list[str]:
    with read_session(engine) as session:
        return list(
            session.execute(
                select(col(Message.text))
                .where(col(Message.campaign_id) == campaign_id)
                .order_by(col(Message.id))
            ).scalars()
        )


def tap(client: TestClient, settings: Settings, messages: list[str], how_many: int) -> None:
    """`how_many` people of `messages` tap their link on a phone (twice, for one)."""
    for text in messages[:how_many]:
        code = text.split(settings.short_url, 1)[1].split()[0]
        assert client.get(f"/{code}", headers=PHONE, follow_redirects=False).status_code == 302
    if how_many:
        first = messages[0].split(settings.short_url, 1)[1].split()[0]
        client.get(f"/{first}", headers=PHONE, follow_redirects=False)


def run_test(
    api: TestClient, engine: Engine, clock: FrozenClock, settings: Settings, **test: Any
) -> tuple[int, dict[str, list[str]]]:
    """1,000 recipients, the test planned and sent: (campaign, each variant's texts)."""
    group_id = seed(engine, clock, 1000)
    campaign_id = ab_campaign(api, group_id, **test)
    plan(engine, clock, settings)
    assert api.get(f"/api/campaigns/{campaign_id}").json()["status"] == "testing"
    send_due(engine, clock)
    sent = texts(engine, campaign_id)
    by_variant = {
        name: [t for t in sent if t.startswith(f"Soldes {name} ")] for name in ("A", "B")
    }
    return campaign_id, by_variant


def decide_and_send_the_rest(
    api: TestClient, engine: Engine, clock: FrozenClock, settings: Settings, campaign_id: int
) -> dict[str, Any]:
    """A worker's chore loop, on the injected clock: nothing before the hour, then the
    decision, then the rest of the audience planned."""
    chores = chores_from_settings(engine, settings, clock, worker_id="w")
    clock.advance(timedelta(minutes=59))
    chores.run_once(force=True)
    assert api.get(f"/api/campaigns/{campaign_id}/stats").json()["ab_test"]["decision"] is None
    clock.advance(timedelta(minutes=2))
    chores.run_once(force=True)  # decides
    chores.run_once(force=True)  # plans the rest, when there is a variant to send
    chores.close()
    stats = api.get(f"/api/campaigns/{campaign_id}/stats").json()
    ab: dict[str, Any] = stats["ab_test"]
    return ab


def test_variant_b_tapped_more_wins_and_is_sent_to_the_other_800(
    api: TestClient, client: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    campaign_id, by_variant = run_test(api, engine, clock, settings)
    # 20% of 1,000 tested, split evenly; each recipient's variant is stored.
    assert {k: len(v) for k, v in by_variant.items()} == {"A": 100, "B": 100}
    with read_session(engine) as session:
        drawn = Counter(
            session.execute(
                select(col(AbRecipient.variant)).where(col(AbRecipient.campaign_id) == campaign_id)
            ).scalars()
        )
    assert drawn == {None: 800, 0: 100, 1: 100}
    tap(client, settings, by_variant["A"], 5)
    tap(client, settings, by_variant["B"], 30)

    live = api.get(f"/api/campaigns/{campaign_id}/stats").json()["ab_test"]
    assert [v["human_clickers"] for v in live["variants"]] == [5, 30]
    assert [v["human_ctr"] for v in live["variants"]] == [0.05, 0.3]
    assert live["decision"] is None and live["comparison"]["best"] == 1

    ab = decide_and_send_the_rest(api, engine, clock, settings, campaign_id)
    decision = ab["decision"]
    assert (decision["decision"], decision["winner"], decision["winner_name"]) == (
        "winner", 1, "B",
    )
    assert decision["p_value"] < 0.05
    low, high = decision["interval"]
    assert 0 < low < 0.25 < high  # B's rate minus A's: 25 points, surely above zero
    rest = texts(engine, campaign_id)[200:]
    assert len(rest) == 800 and all(t.startswith("Soldes B ") for t in rest)
    campaign = api.get(f"/api/campaigns/{campaign_id}").json()
    assert campaign["status"] == "sending"
    assert campaign["progress"] == {"planned": 1000, "excluded": 0, "errors": 0, "total": 1000}


def test_a_tie_sends_the_fallback_variant(
    api: TestClient, client: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    campaign_id, by_variant = run_test(api, engine, clock, settings, fallback=1)
    tap(client, settings, by_variant["A"], 10)
    tap(client, settings, by_variant["B"], 10)
    ab = decide_and_send_the_rest(api, engine, clock, settings, campaign_id)
    decision = ab["decision"]
    assert (decision["decision"], decision["winner"]) == ("fallback", 1)
    assert decision["p_value"] == pytest.approx(1.0)
    low, high = decision["interval"]
    assert low < 0 < high
    rest = texts(engine, campaign_id)[200:]
    assert len(rest) == 800 and all(t.startswith("Soldes B ") for t in rest)


def test_wait_waits_for_the_marketers_choice_then_sends_it(
    api: TestClient, client: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    campaign_id, by_variant = run_test(api, engine, clock, settings, if_no_winner="wait")
    tap(client, settings, by_variant["A"], 3)
    tap(client, settings, by_variant["B"], 4)
    ab = decide_and_send_the_rest(api, engine, clock, settings, campaign_id)
    assert ab["waiting_for_choice"] is True
    assert ab["decision"]["decision"] == "waiting" and ab["decision"]["winner"] is None
    assert len(texts(engine, campaign_id)) == 200  # nothing more until the marketer says
    assert api.get(f"/api/campaigns/{campaign_id}").json()["status"] == "testing"

    refused = api.post(f"/api/campaigns/{campaign_id}/ab_test/decision", json={"variant": 2})
    assert refused.status_code == 422 and "variant" in refused.json()["error"]["message"]
    chosen = api.post(f"/api/campaigns/{campaign_id}/ab_test/decision", json={"variant": 0})
    assert chosen.status_code == 200, chosen.text
    assert (chosen.json()["decision"], chosen.json()["winner"]) == ("chosen", 0)
    plan(engine, clock, settings)
    rest = texts(engine, campaign_id)[200:]
    assert len(rest) == 800 and all(t.startswith("Soldes A ") for t in rest)
    again = api.post(f"/api/campaigns/{campaign_id}/ab_test/decision", json={"variant": 1})
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("change", "status", "named"),
    [
        ({"variants": [{"template": TEXTS[0]}]}, 422, "ab_test.variants"),
        ({"variants": [{"template": t} for t in TEXTS * 2]}, 422, "ab_test.variants"),
        ({"variants": [{"template": TEXTS[0]}, {}]}, 422, "ab_test.variants.1"),
        ({"test_share": 1.5}, 422, "ab_test.test_share"),
        ({"test_share": 0}, 422, "ab_test.test_share"),
        ({"metric": "opens"}, 422, "ab_test.metric"),
        ({"decide_after_minutes": 0}, 422, "ab_test.decide_after_minutes"),
        ({"decide_after_minutes": 10_081}, 422, "ab_test.decide_after_minutes"),
        ({"if_no_winner": "coin"}, 422, "ab_test.if_no_winner"),
        ({"fallback": 2}, 422, "fallback"),
        ({"shuffle": True}, 422, "ab_test.shuffle"),
        (
            {"variants": [{"template": TEXTS[0]}, {"send_at": "2026-12-01T10:00:00"}]},
            422,
            "send_at",
        ),
        (
            {"variants": [{"template": "Hi {{ contact.nickname }}"}, {"template": TEXTS[1]}]},
            422,
            "ab_test.variants.0.template",
        ),
        (
            {"variants": [{"template": TEXTS[0]}, {"page_id": 999}]},
            404,
            "ab_test.variants.1.page_id",
        ),
    ],
)
def test_a_bad_ab_test_is_refused_naming_its_field(
    api: TestClient, engine: Engine, clock: FrozenClock, change: dict[str, Any], status: int,
    named: str,
) -> None:
    group_id = seed(engine, clock, 3)
    test = {"variants": [{"template": TEXTS[0]}, {"template": TEXTS[1]}], **change}
    body = {
        "name": "Soldes",
        "type": "promotional",
        "template": "Soldes {{ link }}",
        "target_url": "https://shop.example/soldes",
        "group_ids": [group_id],
        "ab_test": test,
    }
    refused = api.post("/api/campaigns", json=body)
    assert refused.status_code == status, refused.text
    assert named in refused.json()["error"]["message"]


def test_each_variant_may_be_a_send_time_and_the_decision_waits_for_the_last(
    api: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group_id = seed(engine, clock, 40)
    later = clock.now() + timedelta(hours=2)
    campaign_id = ab_campaign(
        api,
        group_id,
        variants=[{"template": TEXTS[0]}, {"send_at": later.isoformat()}],
        test_share=0.5,
    )
    plan(engine, clock, settings)
    with read_session(engine) as session:
        due = Counter(
            session.execute(
                select(col(Message.due_at)).where(col(Message.campaign_id) == campaign_id)
            ).scalars()
        )
    assert due == {clock.now(): 10, later: 10}
    ab = api.get(f"/api/campaigns/{campaign_id}/stats").json()["ab_test"]
    assert ab["decide_at"] == (later + timedelta(minutes=60)).isoformat()
    clock.advance(timedelta(minutes=61))
    assert decide_due_tests(engine=engine, clock=clock) == []  # B has not even left


def test_the_draw_is_stored_and_a_resumed_job_never_draws_again(
    api: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group_id = seed(engine, clock, 1000)
    campaign_id = ab_campaign(
        api,
        group_id,
        variants=[{"template": TEXTS[0]}, {"template": TEXTS[1]}, {"template": TEXTS[2]}],
        test_share=0.3,
    )
    codes = CodeMaker(settings.secret_key.reveal())
    stop = threading.Event()

    def crash_after_three(batch: int, _progress: Progress) -> None:
        if batch == 3:
            stop.set()

    options: dict[str, Any] = {"engine": engine, "clock": clock, "settings": settings}
    first = run_planning(
        **options, codes=codes, worker_id="w1", batch_size=150, stop=stop,
        hooks=JobHooks(after_batch=crash_after_three),
    )
    assert first == []

    def drawn() -> dict[int, int | None]:
        with read_session(engine) as session:
            rows = session.execute(
                select(col(AbRecipient.contact_id), col(AbRecipient.variant)).where(
                    col(AbRecipient.campaign_id) == campaign_id
                )
            ).all()
            return {int(c): v for c, v in rows}

    before = drawn()
    assert len(before) == 450
    run_planning(**options, codes=codes, worker_id="w2", batch_size=150)
    after = drawn()
    assert {c: after[c] for c in before} == before  # nobody drawn again
    # 30% of 1,000 tested, split evenly between the three variants.
    assert Counter(after.values()) == {None: 700, 0: 100, 1: 100, 2: 100}
    with read_session(engine) as session:
        sent = session.execute(
            select(col(Message.contact_id), col(Message.text)).where(
                col(Message.campaign_id) == campaign_id
            )
        ).all()
    assert len(sent) == 300
    assert all(text.startswith(f"Soldes {'ABC'[after[c]]} ") for c, text in sent)  # type: ignore[index]


def test_a_test_cancelled_is_never_decided_nor_sent_to_the_rest(
    api: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group_id = seed(engine, clock, 50)
    campaign_id = ab_campaign(api, group_id)
    plan(engine, clock, settings)
    cancelled = api.post(f"/api/campaigns/{campaign_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancelled_messages"] == 10
    clock.advance(timedelta(minutes=61))
    assert decide_due_tests(engine=engine, clock=clock) == []
    chosen = api.post(f"/api/campaigns/{campaign_id}/ab_test/decision", json={"variant": 0})
    assert chosen.status_code == 409
    plan(engine, clock, settings)
    assert len(texts(engine, campaign_id)) == 10
    assert api.get(f"/api/campaigns/{campaign_id}").json()["status"] == "cancelled"


def test_a_campaign_without_a_test_has_no_ab_figures_nor_decision(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    group_id = seed(engine, clock, 3)
    body = {
        "name": "Soldes",
        "type": "promotional",
        "template": "Soldes {{ link }}",
        "target_url": "https://shop.example/soldes",
        "group_ids": [group_id],
    }
    created = api.post("/api/campaigns", json=body).json()
    assert created["ab_test"] is None
    assert api.get(f"/api/campaigns/{created['id']}/stats").json()["ab_test"] is None
    refused = api.post(f"/api/campaigns/{created['id']}/ab_test/decision", json={"variant": 0})
    assert refused.status_code == 409 and "no A/B test" in refused.json()["error"]["message"]
    assert api.post("/api/campaigns/999/ab_test/decision", json={"variant": 0}).status_code == 404


def test_variant_pages_with_coupons_decided_by_redemptions(
    api: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    """Each variant's recipients get their own page's coupon at planning; the coupons
    redeemed decide, and the rest get the winning page with its coupons."""
    group_id = seed(engine, clock, 100)
    pages = []
    for name in ("A", "B"):
        blocks = [{"id": "cp", "type": "coupon", "source": "generate", "pattern": name + "-######"}]
        page_id = page_campaign_page(engine, clock, name, blocks)
        pages.append(page_id)
    campaign_id = ab_campaign(
        api,
        group_id,
        variants=[{"page_id": pages[0]}, {"page_id": pages[1]}],
        metric="redemption_rate",
    )
    plan(engine, clock, settings)
    send_due(engine, clock)
    held = {page: coupons(engine, page) for page in pages}
    assert [len(held[p]) for p in pages] == [10, 10]
    with read_session(engine) as session:
        variant_of = dict(
            session.execute(
                select(col(AbRecipient.contact_id), col(AbRecipient.variant)).where(
                    col(AbRecipient.campaign_id) == campaign_id
                )
            ).all()
        )
    assert {variant_of[c] for c, _ in held[pages[0]]} == {0}
    assert {variant_of[c] for c, _ in held[pages[1]]} == {1}
    for _, code in held[pages[1]][:6]:
        assert api.post(f"/api/coupons/{code}/redeem", json={}).status_code == 200
    ab = decide_and_send_the_rest(api, engine, clock, settings, campaign_id)
    assert [v["redemption_rate"] for v in ab["variants"]] == [0.0, 0.6]
    assert (ab["decision"]["decision"], ab["decision"]["winner"]) == ("winner", 1)
    assert len(coupons(engine, pages[1])) == 90 and len(coupons(engine, pages[0])) == 10


def page_campaign_page(
    engine: Engine, clock: FrozenClock, name: str, blocks: list[dict[str, Any]]
) -> int:
    with session_scope(engine) as session:
        page = create_page(session=session, clock=clock, name=name, language="fr", blocks=blocks)
        page_id = page.page.id
        assert page_id is not None
        publish_page(session=session, clock=clock, page_id=page_id)
        return page_id


def coupons(engine: Engine, page_id: int) -> list[tuple[int, str]]:
    """(contact, code) of every coupon assigned on the page."""
    with read_session(engine) as session:
        rows = session.execute(
            select(col(Coupon.contact_id), col(Coupon.code)).where(
                col(Coupon.page_id) == page_id, col(Coupon.assigned_at).is_not(None)
            )
        ).all()
        return [(int(r[0]), str(r[1])) for r in rows]


def test_a_test_send_of_each_variant(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    group_id = seed(engine, clock, 3)
    created = api.post(
        "/api/campaigns",
        json={
            "name": "Soldes",
            "type": "promotional",
            "template": "Soldes {{ link }}",
            "target_url": "https://shop.example/soldes",
            "group_ids": [group_id],
            "ab_test": {"variants": [{"template": TEXTS[0]}, {"template": TEXTS[1]}]},
        },
    ).json()
    path = f"/api/campaigns/{created['id']}/test"
    for variant, start in ((None, "Soldes https"), (0, "Soldes A "), (1, "Soldes B ")):
        sent = api.post(path, json={"phone": "+33781000001", "variant": variant})
        assert sent.status_code == 202, sent.text
        assert sent.json()["text"].startswith(start) and sent.json()["is_test"]
    for wrong in (2, 9):
        refused = api.post(path, json={"phone": "+33781000001", "variant": wrong})
        assert refused.status_code == 422 and "variant" in refused.json()["error"]["message"]


def test_a_bilingual_campaign_tests_each_variant_in_each_language(
    api: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    """On a campaign in French with an English translation, each variant gives its text in
    both: a French speaker of variant B reads B in French, an English speaker of variant B
    reads B in English; a variant that changes the main text and forgets a language is
    refused, naming it."""
    group_id = seed(engine, clock, 40)
    with session_scope(engine) as session:
        english = session.execute(
            update(Contact).where(col(Contact.id) % 2 == 0).values(language="en")
        )
        assert english.rowcount == 20
    body: dict[str, Any] = {
        "name": "Soldes / Sale",
        "type": "promotional",
        "template": "Soldes {{ link }}",
        "translations": {"en": {"template": "Sale {{ link }}"}},
        "target_url": "https://shop.example/soldes",
        "group_ids": [group_id],
        "window_start": "00:00",
        "window_end": "23:59",
        "ab_test": {
            "variants": [
                {"template": "Soldes A {{ link }}",
                 "translations": {"en": {"template": "Sale A {{ link }}"}}},
                {"template": "Soldes B {{ link }}"},
            ],
            "test_share": 1.0,
        },
    }
    refused = api.post("/api/campaigns", json=body)
    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    assert "ab_test.variants.1.translations.en" in message and "give its en text" in message
    body["ab_test"]["variants"][1]["translations"] = {"de": {"template": "Verkauf {{ link }}"}}
    refused = api.post("/api/campaigns", json=body)
    assert refused.status_code == 422
    assert "ab_test.variants.1.translations.de" in refused.json()["error"]["message"]
    body["ab_test"]["variants"][1]["translations"] = {"en": {"template": "Sale B {{ link }}"}}
    created = api.post("/api/campaigns", json=body)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    assert api.post(f"/api/campaigns/{campaign_id}/send").status_code == 202
    plan(engine, clock, settings)
    with read_session(engine) as session:
        rows = session.execute(
            select(col(Contact.language), col(AbRecipient.variant), col(Message.text))
            .join(AbRecipient, col(AbRecipient.contact_id) == col(Contact.id))
            .join(Message, col(Message.contact_id) == col(Contact.id))
            .where(col(Message.campaign_id) == campaign_id)
        ).all()
    assert len(rows) == 40
    words = {"fr": "Soldes", "en": "Sale"}
    seen = Counter((language, variant) for language, variant, _ in rows)
    assert set(seen) == {("fr", 0), ("fr", 1), ("en", 0), ("en", 1)}
    for language, variant, text in rows:
        assert text.startswith(f"{words[language]} {'AB'[variant]} "), (language, variant, text)


def test_the_variants_clickers_stay_once_their_clicks_are_folded(
    api: TestClient, client: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    from sender.results.retention import prune_events

    campaign_id, by_variant = run_test(api, engine, clock, settings)
    tap(client, settings, by_variant["A"], 5)
    tap(client, settings, by_variant["B"], 30)
    clock.advance(timedelta(days=400))  # the taps are past the retention's 395 days
    before = api.get(f"/api/campaigns/{campaign_id}/stats").json()["ab_test"]
    assert [v["human_clickers"] for v in before["variants"]] == [5, 30]
    pruned = prune_events(engine=engine, now=clock.now(), retention_days=395)
    assert pruned.clicks_deleted == 37  # each tapper once, the first of each variant twice
    assert api.get(f"/api/campaigns/{campaign_id}/stats").json()["ab_test"] == before
