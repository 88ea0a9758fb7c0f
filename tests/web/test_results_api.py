"""Results through the API: the campaign report, comparison, CSV exports (streamed, safe
in a spreadsheet) and subscriber growth."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete
from starlette.testclient import TestClient

from richsms.db import read_session, session_scope
from sender.audience.contacts import create_contact, opt_in, opt_out, record_consent
from sender.audience.models import Contact
from sender.campaigns.models import Campaign
from sender.delivery.models import Message
from tests.clock import FrozenClock
from tests.sender.results.test_campaign_stats import seed


def test_the_campaign_report_and_its_first_fields(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    campaign_id = seed(engine, clock)
    response = api.get(f"/api/campaigns/{campaign_id}/stats")
    assert response.status_code == 200, response.text
    figures = response.json()
    # The first version's fields are still there, next to the new ones.
    assert figures["production"]["produced"] == figures["production"]["planned"] == 8
    assert figures["delivery"]["segments_sent"] == figures["delivery"]["segments"] == 7
    assert figures["engagement"]["unique_clicks"] == 4
    assert figures["states"]["delivered"] == 4
    assert api.get("/api/campaigns/999/stats").status_code == 404


def test_comparison_through_the_api(api: TestClient, engine: Engine, clock: FrozenClock) -> None:
    first, second = seed(engine, clock, "A"), seed(engine, clock, "B")
    response = api.get(f"/api/stats/compare?campaigns={first},{second}")
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["campaigns"]] == ["A", "B"]
    assert api.get("/api/stats/compare?campaigns=1,zz").status_code == 422
    assert api.get("/api/stats/compare").status_code == 422
    assert api.get(f"/api/stats/compare?campaigns={first},999").status_code == 404


def test_the_messages_export_streams_every_row_with_cells_made_safe(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    campaign_id = seed(engine, clock)
    with session_scope(engine) as session:
        # An error text a hostile contact could have steered into the outbox.
        message = session.get(Message, 9)
        assert message is not None
        message.error = '=HYPERLINK("https://evil.example","x")'
    response = api.get(f"/api/campaigns/{campaign_id}/export/messages.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 9
    first = rows[0]
    assert first["phone"].startswith("'+33")  # + would start a formula
    assert (first["state"], first["human_clicks"], first["coupon"]) == ("delivered", "2", "C1-0")
    assert first["first_click_at"] == "2026-11-24T12:00:35Z"
    assert first["redeemed_at"] == "2026-11-24T13:00:00Z"
    assert rows[8]["error"].startswith("'=HYPERLINK")
    assert api.get("/api/campaigns/999/export/messages.csv").status_code == 404


def test_the_excel_france_export_beside_the_plain_csv(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    """Excel (France): `;`, UTF-8 with a BOM, French headers and states, the contact's
    names, times in the account's zone (Paris: UTC+1 in November); the plain CSV as it was."""
    campaign_id = seed(engine, clock)
    with session_scope(engine) as session:
        first = session.get(Message, 1)
        assert first is not None and first.contact_id is not None
        contact = session.get(Contact, first.contact_id)
        assert contact is not None
        contact.first_name, contact.last_name = "Zoé", "Martin"
    plain = api.get(f"/api/campaigns/{campaign_id}/export/messages.csv").content
    assert plain.startswith(b"message_id,contact_id,phone,state,segments,planned_at,")
    response = api.get(f"/api/campaigns/{campaign_id}/export/excel-fr/messages.csv")
    assert response.status_code == 200
    assert "excel-fr" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel reads UTF-8 by
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:6] == [
        "N° de message", "N° de contact", "Prénom", "Nom de famille", "Téléphone",
        "État du message",
    ]  # fmt: skip
    assert len(rows) == 10 and all(len(r) == 15 for r in rows)
    assert rows[1][2:4] == ["Zoé", "Martin"] and rows[1][4].startswith("'+33")
    by_header = dict(zip(rows[0], rows[1], strict=True))
    assert (by_header["État du message"], by_header["Premier clic le"]) == (
        "délivré",
        "24/11/2026 13:00:35",
    )
    clicks = api.get(f"/api/campaigns/{campaign_id}/export/excel-fr/clicks.csv").content
    rows = list(csv.reader(io.StringIO(clicks.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][4:7] == ["Prénom", "Nom de famille", "Par une personne"]
    assert sorted(r[6] for r in rows[1:]) == ["non"] * 4 + ["oui"] * 8
    assert api.get("/api/campaigns/999/export/excel-fr/clicks.csv").status_code == 404


def test_the_clicks_export_flags_bots(api: TestClient, engine: Engine, clock: FrozenClock) -> None:
    campaign_id = seed(engine, clock)
    response = api.get(f"/api/campaigns/{campaign_id}/export/clicks.csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 12
    assert sorted(r["human"] for r in rows) == ["no"] * 4 + ["yes"] * 8


def test_growth_per_day_and_week_by_channel(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    with session_scope(engine) as session:
        for i in range(3):
            contact = create_contact(
                session=session, clock=clock, phone=f"+3361200000{i}", region="FR"
            )
            record_consent(
                session=session,
                contact=contact,
                consent_type="express",
                source="boutique",
                clock=clock,
            )
    clock.advance(timedelta(days=1))
    with session_scope(engine) as session:
        contact = create_contact(session=session, clock=clock, phone="+33612000009", region="FR")
        opt_out(session=session, contact=contact, via="keyword:STOP", clock=clock)
        opt_in(session=session, contact=contact, via="keyword:START", clock=clock)
    response = api.get("/api/stats/growth?from=2026-11-23&to=2026-11-27&period=day")
    assert response.status_code == 200, response.text
    growth = response.json()
    days = {d["from"]: d for d in growth["series"]}
    assert list(days) == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"]
    assert (days["2026-11-24"]["opt_ins"], days["2026-11-24"]["net"]) == (3, 3)
    assert days["2026-11-24"]["by_channel"] == {"import": {"opt_ins": 3, "opt_outs": 0}}
    assert days["2026-11-25"]["by_channel"]["keyword"] == {"opt_ins": 1, "opt_outs": 1}
    assert (growth["opt_ins"], growth["opt_outs"], growth["net"]) == (4, 1, 3)
    weekly = api.get("/api/stats/growth?from=2026-11-01&to=2026-11-30&period=week").json()
    assert [w["from"] for w in weekly["series"]][:2] == ["2026-10-26", "2026-11-02"]  # Mondays
    for bad in ("period=year", "from=yesterday", "from=2026-12-01&to=2026-11-01"):
        assert api.get(f"/api/stats/growth?{bad}").status_code == 422


def test_a_page_report_through_the_api(api: TestClient, engine: Engine, clock: FrozenClock) -> None:
    seed(engine, clock)
    report = api.get("/api/pages/1/stats")
    assert report.status_code == 200, report.text
    assert report.json()["unique_visitors"] == 4
    assert api.get("/api/pages/77/stats").status_code == 404


def test_a_large_moving_campaign_is_answered_from_its_kept_report_while_fresh(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    from sender.results.report_cache import FRESH_FOR, current_report, refresh_reports

    campaign_id = seed(engine, clock)  # messages sent now: a moving campaign
    with session_scope(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.planned_count = 8
    money = {"price_per_segment": Decimal("0.05"), "currency": "EUR"}
    clock.advance(timedelta(minutes=1))
    assert refresh_reports(engine=engine, now=clock.now(), live_up_to=5, **money) == 1
    assert refresh_reports(engine=engine, now=clock.now(), live_up_to=5, **money) == 0
    assert refresh_reports(engine=engine, now=clock.now(), **money) == 0  # kept just now
    with session_scope(engine) as session:  # a late receipt the kept report has not seen
        message = session.get(Message, 6)
        assert message is not None and message.state == "sent"
        message.state = "delivered"

    def report(live_up_to: int) -> dict[str, Any]:
        with read_session(engine) as session:
            return current_report(
                session=session,
                campaign_id=campaign_id,
                now=clock.now(),
                live_up_to=live_up_to,
                **money,  # type: ignore[arg-type]
            )

    kept = report(5)
    assert (kept["delivery"]["delivered"], kept["computed_at"]) == (4, "2026-11-24T12:01:00Z")
    # A campaign small enough is always counted now, exact to the moment: so is the API.
    assert report(100)["delivery"]["delivered"] == 5
    assert api.get(f"/api/campaigns/{campaign_id}/stats").json()["delivery"]["delivered"] == 5
    clock.advance(FRESH_FOR + timedelta(seconds=1))
    live = report(5)
    assert live["delivery"]["delivered"] == 5
    assert live["computed_at"] == clock.now().isoformat().replace("+00:00", "Z")


def _weights(engine: Engine, campaign_id: int, clock: FrozenClock) -> tuple[int, int]:
    """The seeded campaign's (messages, clicks), as its report counts them."""
    from sender.results.campaign_stats import campaign_report

    with read_session(engine) as session:
        report = campaign_report(
            session=session, campaign_id=campaign_id, price_per_segment=Decimal("0.05"),
            currency="EUR",
        )  # fmt: skip
    return report["production"]["planned"], report["engagement"]["clicks"]


def test_a_campaign_found_heavy_by_its_clicks_is_kept_and_answered_from_its_report(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    """Few messages, many taps: the report counted on a request is kept when the
    messages and clicks are over the limit, and the next requests read it until stale;
    just under the limit every request counts."""
    from sender.results.report_cache import (
        FRESH_FOR,
        LIVE_UP_TO,
        CampaignReport,
        current_report,
        moving_campaigns,
    )  # fmt: skip

    campaign_id = seed(engine, clock)
    messages, clicks = _weights(engine, campaign_id, clock)
    assert clicks > 0
    money = {"price_per_segment": Decimal("0.05"), "currency": "EUR"}

    def report(live_up_to: int) -> dict[str, Any]:
        with read_session(engine) as session:
            return current_report(
                session=session, campaign_id=campaign_id, now=clock.now(), engine=engine,
                live_up_to=live_up_to, **money,  # type: ignore[arg-type]
            )  # fmt: skip

    def late_receipt(message_id: int) -> None:
        with session_scope(engine) as session:
            message = session.get(Message, message_id)
            assert message is not None and message.state == "sent"
            message.state = "delivered"

    assert report(messages + clicks)["delivery"]["delivered"] == 4  # not over: not kept
    with read_session(engine) as session:
        assert session.get(CampaignReport, campaign_id) is None
    heavy = messages + clicks - 1
    first = report(heavy)
    assert first["delivery"]["delivered"] == 4
    clock.advance(timedelta(seconds=30))
    late_receipt(6)
    kept = report(heavy)  # the kept report, not the receipt it has not seen
    assert (kept["delivery"]["delivered"], kept["computed_at"]) == (4, first["computed_at"])
    assert report(messages + clicks)["delivery"]["delivered"] == 5  # light: exact now
    with read_session(engine) as session:  # the chore keeps it ready while it moves
        assert moving_campaigns(session=session, now=clock.now()) == [campaign_id]
    clock.advance(FRESH_FOR)
    again = report(heavy)
    assert again["delivery"]["delivered"] == 5
    assert again["computed_at"] == clock.now().isoformat().replace("+00:00", "Z")
    # Through the route: a campaign over the limit is counted, kept, then read.
    with session_scope(engine) as session:
        session.execute(delete(CampaignReport))
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.planned_count = LIVE_UP_TO + 1
    answer = api.get(f"/api/campaigns/{campaign_id}/stats")
    assert answer.status_code == 200, answer.text
    with read_session(engine) as session:
        stored = session.get(CampaignReport, campaign_id)
        assert stored is not None and stored.computed_at == clock.now()
    clock.advance(timedelta(seconds=10))
    assert api.get(f"/api/campaigns/{campaign_id}/stats").json()["computed_at"] == (
        answer.json()["computed_at"]
    )


def test_a_campaign_finished_long_ago_is_answered_from_its_report_for_an_hour(
    engine: Engine, clock: FrozenClock
) -> None:
    from sender.results.report_cache import (
        FRESH_FOR,
        MOVING_FOR,
        SETTLED_FRESH_FOR,
        current_report,
        moving_campaigns,
        refresh_reports,
    )  # fmt: skip

    campaign_id = seed(engine, clock)
    with session_scope(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.status, campaign.done_at, campaign.updated_at = "done", clock.now(), clock.now()
        campaign.planned_count = 8  # over the limit below: kept by the chore
    money = {"price_per_segment": Decimal("0.05"), "currency": "EUR"}

    def report() -> dict[str, Any]:
        with read_session(engine) as session:
            return current_report(
                session=session, campaign_id=campaign_id, now=clock.now(), engine=engine,
                live_up_to=1, **money,  # type: ignore[arg-type]
            )  # fmt: skip

    clock.advance(MOVING_FOR - timedelta(minutes=1))  # finished 6 days 23:59 ago: moving
    with read_session(engine) as session:
        assert moving_campaigns(session=session, now=clock.now(), live_up_to=1) == [campaign_id]
    assert refresh_reports(engine=engine, now=clock.now(), live_up_to=1, **money) == 1
    kept_at = report()["computed_at"]
    clock.advance(timedelta(minutes=3))  # now settled: the chore leaves it
    with read_session(engine) as session:
        assert moving_campaigns(session=session, now=clock.now(), live_up_to=1) == []
    with session_scope(engine) as session:  # a receipt very late
        message = session.get(Message, 6)
        assert message is not None
        message.state = "delivered"
    assert FRESH_FOR < timedelta(minutes=3) < SETTLED_FRESH_FOR
    assert (report()["computed_at"], report()["delivery"]["delivered"]) == (kept_at, 4)
    clock.advance(SETTLED_FRESH_FOR)
    assert report()["delivery"]["delivered"] == 5


def test_a_contacts_history_has_their_clicks_and_coupons(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    seed(engine, clock)
    history = api.get("/api/contacts/1/history")
    assert history.status_code == 200, history.text
    body = history.json()
    assert [m["state"] for m in body["messages"]] == ["delivered"]
    assert sorted(c["human"] for c in body["clicks"]) == [False, True, True]
    assert {c["link"] for c in body["clicks"]} == {"c1x0"}
    [coupon] = body["coupons"]
    assert (coupon["code"], coupon["redeemed_at"]) == ("C1-0", "2026-11-24T13:00:00Z")
    assert body["inbound"][0]["text"] == "Merci !"
