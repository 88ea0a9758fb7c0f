"""Sending and cancelling a campaign in chromium, with JavaScript off (plain forms): "Send"
opens the summary (recipients, exclusions by reason, cost, departures in local time, the
quiet-hours hold), only its confirmation sends, the campaign then says how many messages
wait and until when; "Cancel campaign" asks first, and "No, keep it" keeps it. axe: no
serious or critical violation. Screenshots in tests/artifacts/browser/send-*.png."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, select

from richsms.accounts import create_admin
from richsms.db import session_scope
from sender.audience.contacts import create_contact, record_consent
from sender.audience.groups import ContactRefs, add_members, create_group
from sender.campaigns.campaign import CampaignSpec, create_campaign
from sender.campaigns.models import Campaign
from sender.campaigns.planning_job import run_planning
from shortener.codes import CodeMaker
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, shoot, sign_in
from tests.conftest import TEST_SECRET

PASSWORD = "correct horse battery staple"


def seed(live: LiveServer) -> int:
    """Three French contacts, one without consent; a promotional campaign to them whose
    hours (14:00-21:00) have not begun in Paris (13:00)."""
    with session_scope(live.engine) as session:
        create_admin(session=session, email="anne@shop.example", password=PASSWORD,
                     clock=live.clock)
        group = create_group(session=session, name="Clients Lyon", clock=live.clock)
        assert group.id is not None
        for n, (name, consent) in enumerate((("Zoé", "express"), ("Léa", "implied"),
                                             ("Hugo", None))):
            contact = create_contact(session=session, clock=live.clock, region="FR",
                                     phone=f"+3361234560{n}", first_name=name, language="fr")
            if consent:
                record_consent(session=session, contact=contact, consent_type=consent,
                               source="magasin", clock=live.clock)
            add_members(session=session, group_id=group.id, clock=live.clock,
                        contacts=ContactRefs(region="FR", contact_ids=[contact.id or 0]))
        campaign = create_campaign(
            session=session,
            clock=live.clock,
            spec=CampaignSpec(name="Soldes d'hiver", type="promotional",
                              template="Bonjour {{ contact.first_name }}, -20 % ce week-end",
                              group_ids=[group.id], window_start="14:00"),
            created_by=None,
            settings=live.settings,
        )
        assert campaign.id is not None
        return campaign.id


def status(live: LiveServer) -> str:
    with Session(live.engine) as session:
        return str(session.exec(select(Campaign.status)).one())


def test_send_through_its_summary_then_cancel_with_confirmation(
    live_server: LiveServer, screenshots: Path, tmp_path: Path
) -> None:
    live = live_server
    campaign_id = seed(live)
    with sync_playwright() as playwright:
        window = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900}, locale="fr-FR",
            java_script_enabled=False,
        )
        try:
            page = window.new_page()
            sign_in(page, live, "anne@shop.example", PASSWORD)
            page.goto(f"{live.url}ui/campaigns/{campaign_id}")
            page.click("#send-campaign")
            expect(page).to_have_url(f"{live.url}ui/campaigns/{campaign_id}/send")
            expect(page.locator("#summary-recipients")).to_have_text("2")
            expect(page.locator("#summary-excluded")).to_have_text("1")
            reason = "#summary-exclusions tr[data-reason='{}'] td"
            expect(page.locator(reason.format("no_consent"))).to_have_text("1")
            expect(page.locator(reason.format("opted_out"))).to_have_text("0")
            expect(page.locator("#summary-first")).to_have_text("24/11/2026 14:00 (Europe/Paris)")
            expect(page.locator("#summary-hold")).to_contain_text("2 destinataires")
            expect(page.locator("#summary-opt-out")).to_contain_text("STOP")
            expect(page.locator("#summary-cost")).to_contain_text("GSM-7")
            shoot(page, screenshots, "send-summary")
            assert status(live) == "draft"  # nothing left yet
            page.click("#confirm-send")
            expect(page.locator(".notice").first).to_have_text("Envoi demandé.")
            assert status(live) == "planning"
            run_planning(engine=live.engine, clock=live.clock, settings=live.settings,
                         codes=CodeMaker(TEST_SECRET), worker_id="browser-test")
            page.reload()
            expect(page.locator("#campaign-waiting")).to_contain_text(
                "2 messages attendent la plage d'envoi : ils partiront le 24/11/2026 14:00"
            )
            shoot(page, screenshots, "send-waiting")
            page.click("#cancel-campaign")
            expect(page.locator("#confirm-cancel")).to_be_visible()
            page.click("#keep-campaign")  # second thoughts: nothing changes
            expect(page).to_have_url(f"{live.url}ui/campaigns/{campaign_id}")
            assert status(live) == "sending"
            page.click("#cancel-campaign")
            shoot(page, screenshots, "send-cancel")
            page.click("#confirm-cancel")
            expect(page.locator(".notice").first).to_have_text("Annulée.")
            assert status(live) == "cancelled"
        finally:
            window.close()
