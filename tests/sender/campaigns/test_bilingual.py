"""Issue 20, as a marketer with a Québec and France audience sees it: one campaign in
French and English, sent from a Canadian long code and a French short code. Each
recipient gets their language's text from their country's number with that country's
opt-out mention (the console provider's log says what left, from where, to whom); a
Belgian number no sender can reach is left out with its reason; the results split by
language and by number; a STOP from Québec is confirmed in French from the number it
was sent to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from landing_templates.coupons.models import Coupon
from landing_templates.pages import create_page, publish_page
from richsms.db import session_scope
from richsms.errors import Conflict
from richsms.settings import Settings
from sender.audience.models import Contact
from sender.campaigns.campaign import request_send
from sender.campaigns.planning_job import run_planning
from sender.delivery.inbound import OPT_OUT_REPLY
from sender.delivery.models import Message
from sender.delivery.providers.console import ConsoleProvider, read_log
from sender.delivery.worker import Worker, WorkerConfig
from sender.results.breakdown import campaign_breakdown
from shortener.models import Link
from tests.clock import FrozenClock
from tests.landing_templates.pagekit import rich_blocks
from tests.sender.campaigns.test_planning_job import new_campaign, plan, seed, send

CANADA = "+15145550000"
FRANCE = "36180"
CSV = (
    "phone;first_name;language;consent_type;consent_source\n"
    "+33612345678;Marie;fr;express;web\n"
    "+15145550101;Jean;fr;express;web\n"
    "+15145550102;Alice;en;express;web\n"
    "+32470123456;Lucas;fr;express;web\n"
    "+14185550103;Gilles;;express;web\n"  # Québec, no language of his own
    "+14165550104;Olivia;;express;web\n"  # Ontario, no language of her own
)
FR_CA = "Répondez STOP pour vous désabonner"
EN_CA = "Reply STOP to opt out"


def bilingual_campaign(api: TestClient, engine: Any) -> int:
    imported = api.post(
        "/api/contacts/import", content=CSV.encode(), headers={"Content-Type": "text/csv"}
    )
    assert imported.status_code == 200 and imported.json()["imported"] == 6, imported.text
    with session_scope(engine) as session:  # as contacts who never said their language
        session.execute(
            update(Contact)
            .where(col(Contact.first_name).in_(["Gilles", "Olivia"]))
            .values(language=None)
        )
    group = api.post("/api/groups", json={"name": "Québec et France"}).json()["id"]
    phones = [line.split(";")[0] for line in CSV.splitlines()[1:]]
    assert api.post(f"/api/groups/{group}/members", json={"phones": phones}).status_code == 200
    senders = [
        api.post(
            "/api/senders",
            json={"kind": kind, "value": value, "country": country, "rate": 1000,
                  "allowed_types": ["promotional", "administrative"]},
        ).json()["id"]
        for kind, value, country in (("long_code", CANADA, "CA"), ("short_code", FRANCE, "FR"))
    ]  # fmt: skip
    created = api.post(
        "/api/campaigns",
        json={
            "name": "Soldes / Sale",
            "type": "promotional",
            "language": "fr",
            "template": "Soldes -20% {{ contact.first_name }}",
            "translations": {"en": {"template": "Sale 20% off {{ contact.first_name }}"}},
            "group_ids": [group],
            "sender_ids": senders,
            "rate": 1000,
            "window_start": "00:00",
            "window_end": "23:59",
        },
    )
    assert created.status_code == 201, created.text
    campaign_id: int = created.json()["id"]
    return campaign_id


def deliver(app: Any, clock: FrozenClock, log: Path) -> list[dict[str, object]]:
    context = app.context
    worker = Worker(
        context.engine, ConsoleProvider(log, clock=clock), clock, WorkerConfig(default_rate=1000)
    )
    try:
        while worker.run_once():
            pass
    finally:
        worker.close()
    return read_log(log)


def test_each_recipient_gets_their_language_from_their_countrys_number(
    api: TestClient, app: Any, clock: FrozenClock, tmp_path: Path
) -> None:
    context = app.context
    campaign_id = bilingual_campaign(api, context.engine)

    summary = api.get(f"/api/campaigns/{campaign_id}/summary").json()
    assert summary["languages"] == {"en": 2, "fr": 3}
    assert summary["excluded"]["no sender number for BE"] == 1
    assert summary["recipients"] == 5
    by_sender = {s["sender"]: s for s in summary["senders"]}
    assert by_sender[CANADA]["languages"] == {"en": 2, "fr": 2}
    assert by_sender[CANADA]["opt_out"] == {"en": EN_CA, "fr": FR_CA}
    assert by_sender[FRANCE]["opt_out"] == {"fr": "STOP au 36180"}

    assert api.post(f"/api/campaigns/{campaign_id}/send").status_code == 202
    run_planning(
        engine=context.engine, clock=clock, settings=context.settings, codes=context.codes,
        worker_id="w1", campaign_id=campaign_id,
    )  # fmt: skip
    log = tmp_path / "console.jsonl"
    sent = {line["phone"]: (line["sender"], line["text"]) for line in deliver(app, clock, log)}
    assert sent == {
        "+33612345678": (FRANCE, "Soldes -20% Marie\nSTOP au 36180"),
        "+15145550101": (CANADA, f"Soldes -20% Jean\n{FR_CA}"),
        "+15145550102": (CANADA, f"Sale 20% off Alice\n{EN_CA}"),
        "+14185550103": (CANADA, f"Soldes -20% Gilles\n{FR_CA}"),  # Québec: French
        "+14165550104": (CANADA, f"Sale 20% off Olivia\n{EN_CA}"),  # Ontario: English
    }

    # Gilles (Québec, no language of his own) texts STOP to the Canadian number.
    stop = api.post("/api/inbound", json={"from": "+14185550103", "to": CANADA, "text": "STOP"})
    assert stop.status_code == 200, stop.text
    assert stop.json()["reply"] == OPT_OUT_REPLY["fr"]
    assert stop.json()["campaign_id"] == campaign_id
    confirmation = deliver(app, clock, log)[-1]
    assert (confirmation["phone"], confirmation["sender"], confirmation["text"]) == (
        "+14185550103",
        CANADA,
        OPT_OUT_REPLY["fr"],
    )

    stats = api.get(f"/api/campaigns/{campaign_id}/stats").json()
    assert stats["production"]["excluded"] == 1
    assert stats["production"]["excluded_reasons"] == [
        {"reason": "no sender number for BE", "count": 1}
    ]
    fr, en = stats["by_language"]["fr"], stats["by_language"]["en"]
    assert (fr["produced"], fr["sent"], fr["opt_outs"]) == (3, 3, 1)
    assert (en["produced"], en["sent"], en["opt_outs"]) == (2, 2, 0)
    assert stats["by_sender"][CANADA]["produced"] == 4
    assert stats["by_sender"][CANADA]["opt_outs"] == 1
    assert stats["by_sender"][FRANCE]["produced"] == 1


def plan_all(app: Any, clock: FrozenClock, campaign_id: int) -> dict[str, tuple[str, str, str]]:
    """Plan the campaign; each recipient's (sender, language, text) as planning wrote it."""
    context = app.context
    run_planning(
        engine=context.engine, clock=clock, settings=context.settings, codes=context.codes,
        worker_id="w1", campaign_id=campaign_id,
    )  # fmt: skip
    with session_scope(context.engine) as session:
        found = session.exec(
            select(Message).where(col(Message.campaign_id) == campaign_id)
        ).all()
        return {m.phone: (m.sender, m.language or "", m.text) for m in found}


def test_a_default_sender_serves_other_countries_and_a_number_has_its_own_mention(
    api: TestClient, app: Any, clock: FrozenClock
) -> None:
    campaign_id = bilingual_campaign(api, app.context.engine)
    senders = {s["value"]: s["id"] for s in api.get("/api/senders").json()["senders"]}
    own = api.patch(
        f"/api/senders/{senders[CANADA]}", json={"opt_out": {"en": "Text STOP to quit"}}
    )
    assert own.status_code == 200, own.text
    edited = api.patch(
        f"/api/campaigns/{campaign_id}", json={"default_sender_id": senders[FRANCE]}
    )
    assert edited.status_code == 200, edited.text
    summary = api.get(f"/api/campaigns/{campaign_id}/summary").json()
    assert "no sender number for BE" not in summary["excluded"]
    assert summary["recipients"] == 6

    assert api.post(f"/api/campaigns/{campaign_id}/send").status_code == 202
    planned = plan_all(app, clock, campaign_id)
    assert planned["+32470123456"] == (FRANCE, "fr", "Soldes -20% Lucas\nSTOP au 36180")
    assert planned["+15145550102"] == (CANADA, "en", "Sale 20% off Alice\nText STOP to quit")
    assert planned["+15145550101"] == (CANADA, "fr", f"Soldes -20% Jean\n{FR_CA}")


def test_a_test_send_is_the_variant_of_the_contact_it_is_for(
    api: TestClient, app: Any
) -> None:
    campaign_id = bilingual_campaign(api, app.context.engine)
    contacts = api.get("/api/contacts?q=Olivia").json()["contacts"]
    assert [c["language"] for c in contacts] == [None]  # she never said
    sent = api.post(
        f"/api/campaigns/{campaign_id}/test",
        json={"phone": "+15145550199", "contact_id": contacts[0]["id"]},
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["text"] == f"Sale 20% off Olivia\n{EN_CA}"
    with session_scope(app.context.engine) as session:
        message = session.get(Message, sent.json()["id"])
        assert message is not None and (message.sender, message.language) == (CANADA, "en")
    belgian = api.post(f"/api/campaigns/{campaign_id}/test", json={"phone": "+32470999999"})
    assert belgian.status_code == 409
    assert "no sender number for BE" in belgian.json()["error"]["message"]


def test_a_unitary_send_leaves_from_its_number_with_that_numbers_mention(
    api: TestClient, app: Any
) -> None:
    bilingual_campaign(api, app.context.engine)
    senders = {s["value"]: s["id"] for s in api.get("/api/senders").json()["senders"]}
    jean = api.get("/api/contacts?q=Jean").json()["contacts"][0]
    sent = api.post(
        "/api/messages",
        json={"contact_id": jean["id"], "text": "Promo", "type": "promotional",
              "sender_id": senders[CANADA]},
    )  # fmt: skip
    assert sent.status_code == 202, sent.text
    assert sent.json()["text"] == f"Promo\n{FR_CA}"
    with session_scope(app.context.engine) as session:
        message = session.get(Message, sent.json()["id"])
        assert message is not None and message.sender == CANADA


def test_each_translation_sends_its_own_page_with_its_coupons(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group = seed(engine, clock, 10)
    with session_scope(engine) as session:  # every other contact speaks English
        for contact in session.exec(select(Contact)).all():
            if contact.id is not None and contact.id % 2 == 0:
                contact.language = "en"
                session.add(contact)
    pages = {}
    with session_scope(engine) as session:
        for language, name in (("fr", "Noël"), ("en", "Christmas")):
            page = create_page(
                session=session, clock=clock, name=name, language=language,
                blocks=rich_blocks(clock.now()),
            )  # fmt: skip
            assert page.page.id is not None
            pages[language] = page.page.id
    english = {"template": "Hello {{ contact.first_name }}: {{ link }}", "page_id": pages["en"]}
    campaign_id = new_campaign(
        engine, clock, group, target_url=None, page_id=pages["fr"],
        translations={"en": english},
    )  # fmt: skip
    with session_scope(engine) as session:  # the English page is not published yet
        with pytest.raises(Conflict):
            request_send(session=session, clock=clock, campaign_id=campaign_id)
    with session_scope(engine) as session:
        for page_id in pages.values():
            publish_page(session=session, clock=clock, page_id=page_id)
    send(engine, clock, campaign_id)
    assert plan(engine, clock, settings, "w1", batch_size=4) == [campaign_id]
    with Session(engine) as session:
        language_of = dict(session.exec(select(col(Contact.id), col(Contact.language))).all())
        messages = session.exec(select(Message).where(col(Message.campaign_id) == campaign_id))
        texts = {m.contact_id: (m.language, m.text.split(" ")[0]) for m in messages}
        links = session.exec(select(Link).where(col(Link.campaign_id) == campaign_id)).all()
        shown = {link.contact_id: link.page_id for link in links}
        held = session.exec(
            select(col(Coupon.contact_id), col(Coupon.page_id)).where(
                col(Coupon.campaign_id) == campaign_id, col(Coupon.block_id) == "cp"
            )
        ).all()
    served = sorted(texts)
    assert served == sorted(language_of)
    for contact in served:
        spoken = language_of[contact]
        assert texts[contact] == (spoken, "Hello" if spoken == "en" else "Bonjour")
        assert shown[contact] == pages[spoken]
    assert sorted(held) == sorted((c, pages[language_of[c]]) for c in served)
    english_reader = next(c for c in served if language_of[c] == "en")
    with session_scope(engine) as session:  # one English recipient redeems their coupon
        session.execute(
            update(Coupon)
            .where(col(Coupon.contact_id) == english_reader, col(Coupon.block_id) == "cp")
            .values(redeemed_at=clock.now())
        )
    with Session(engine) as session:
        split = campaign_breakdown(session=session, campaign_id=campaign_id)["by_language"]
    assert (split["en"]["redemptions"], split["fr"]["redemptions"]) == (1, 0)
    assert (split["en"]["produced"], split["fr"]["produced"]) == (5, 5)
