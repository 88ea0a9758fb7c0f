"""A living demo for a first look: an audience in French and English across time zones, a
page with a countdown, a scratch card and a coupon, a campaign sent through the console
provider three hours ago, with clicks, redemptions, a reply and an opt-out since.

Everything goes through the product's own use cases (import, groups, pages, campaigns,
planning, the worker, receipts, coupons, inbound), on a clock set three hours back and
moved forward as the story goes; only the recipients' taps are written directly, as the
redirect would have stored them. Seeding runs on an empty database only.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session, col

from landing_templates.coupons import CouponSlot, assign_to, redeem_coupon
from landing_templates.page_events import SCRATCH_REVEALED, NewPageEvent, record_page_event
from landing_templates.pages import create_page, publish_page
from richsms.accounts import create_admin
from richsms.db import session_scope
from richsms.settings import Settings
from sender.audience.csv_import import import_contacts
from sender.audience.groups import ContactRefs, add_members, create_group
from sender.audience.models import Contact
from sender.campaigns.campaign import CampaignSpec, create_campaign, request_send
from sender.campaigns.models import Campaign
from sender.campaigns.planning_job import run_planning
from sender.delivery.inbound import handle_inbound
from sender.delivery.models import Message
from sender.delivery.providers.console import ConsoleProvider
from sender.delivery.worker import Worker, WorkerConfig
from shortener.codes import CodeMaker
from shortener.models import Click

DEMO_EMAIL = "demo@richsms.local"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/126.0 Mobile Safari/537.36"
PREVIEWER = "WhatsApp/2.24.6.77 A"

# first_name, last_name, phone, language ("" = from the number), zone hint, city
PEOPLE = [
    ("Camille", "Martin", "+33612345601", "fr", "Paris"),
    ("Léa", "Bernard", "+33612345602", "fr", "Lyon"),
    ("Hugo", "Dubois", "+33612345603", "fr", "Paris"),
    ("Chloé", "Thomas", "+33612345604", "fr", "Lille"),
    ("Lucas", "Robert", "+33612345605", "fr", "Nantes"),
    ("Manon", "Richard", "+33612345606", "fr", "Bordeaux"),
    ("Jules", "Petit", "+33612345607", "fr", "Marseille"),
    ("Inès", "Durand", "+33612345608", "fr", "Paris"),
    ("Louis", "Leroy", "+33612345609", "fr", "Rennes"),
    ("Zoé", "Moreau", "+33612345610", "fr", "Nice"),
    ("Gabriel", "Simon", "+33612345611", "fr", "Toulouse"),
    ("Emma", "Laurent", "+33612345612", "fr", "Strasbourg"),
    ("Félix", "Tremblay", "+15145550101", "", "Montréal"),
    ("Florence", "Gagnon", "+15145550102", "", "Montréal"),
    ("Olivier", "Roy", "+14185550103", "", "Québec"),
    ("Justine", "Côté", "+14385550104", "", "Montréal"),
    ("Liam", "Smith", "+16045550105", "en", "Vancouver"),
    ("Olivia", "Brown", "+16045550106", "en", "Vancouver"),
    ("Noah", "Wilson", "+14165550107", "en", "Toronto"),
    ("Ava", "Taylor", "+14165550108", "en", "Toronto"),
    ("Oliver", "Jones", "+447911123456", "en", "London"),
    ("Amelia", "Davies", "+447911123457", "en", "Manchester"),
    ("Jack", "Evans", "+447911123458", "en", "Bristol"),
    ("Isla", "Walker", "+447911123459", "en", "Leeds"),
]


@dataclass(frozen=True)
class DemoReport:
    email: str
    password: str
    contacts: int
    campaign_id: int
    page_id: int


def is_empty(engine: Engine) -> bool:
    with Session(engine) as session:
        contacts = session.execute(select(func.count()).select_from(Contact)).scalar_one()
        campaigns = session.execute(select(func.count()).select_from(Campaign)).scalar_one()
    return bool(contacts == 0 and campaigns == 0)


def _csv() -> bytes:
    lines = ["first_name;last_name;phone;language;city;consent_type;consent_source"]
    for first, last, phone, language, city in PEOPLE:
        lines.append(f"{first};{last};{phone};{language};{city};express;boutique")
    return ("\n".join(lines) + "\n").encode()


def _blocks(deadline: datetime) -> list[dict[str, object]]:
    return [
        {"type": "heading", "text": "{{ contact.first_name | default('Bonjour') }}, c'est Noël !"},
        {
            "type": "text",
            "text": "-20 % sur toute la boutique de {{ contact.city | default('votre ville') }}. "
            "Grattez la carte pour découvrir votre cadeau.",
        },
        {
            "type": "countdown",
            "deadline": deadline.isoformat(),
            "expired_text": "L'offre est terminée.",
            "label": "Fin de l'offre dans",
        },
        {
            "id": "carte",
            "type": "scratch",
            "prize": "coupon",
            "text": "Bravo ! Un bon de 10 € :",
            "coupon": {"source": "generate", "pattern": "CADEAU-??????", "symbology": "code128"},
        },
        {
            "id": "bon",
            "type": "coupon",
            "source": "generate",
            "pattern": "NOEL-######",
            "symbology": "qr",
            "label": "Votre code -20 %",
        },
        {"type": "button", "label": "Voir la boutique", "href": "https://shop.example/noel"},
        {"type": "footer", "text": "Boutique Exemple, 1 rue de la Paix, Paris. STOP au 36180."},
    ]


class StoryClock:
    """The demo's time: set three hours back, moved forward as the story goes, so that
    what the use cases stamp reads as a campaign sent this morning."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def seed_demo(*, engine: Engine, settings: Settings, now: datetime) -> DemoReport | None:
    """Seed the demo on an empty database; None (and nothing changed) otherwise."""
    if not is_empty(engine):
        return None
    rng = random.Random(2026)
    clock = StoryClock(now - timedelta(hours=3))
    codes = CodeMaker(settings.secret_key.reveal())
    password = secrets.token_urlsafe(12)
    with session_scope(engine) as session:
        create_admin(session=session, email=DEMO_EMAIL, password=password, clock=clock)
    with Session(engine) as session:
        import_contacts(
            session=session,
            data=_csv(),
            clock=clock,
            region="FR",
            reports=settings.import_reports,
            source="boutique",
        )
    with session_scope(engine) as session:
        group = create_group(session=session, name="Clients fidèles", clock=clock)
        assert group.id is not None
        everyone = ContactRefs(region="FR", phones=[p[2] for p in PEOPLE])
        add_members(session=session, group_id=group.id, clock=clock, contacts=everyone)
        page = create_page(
            session=session,
            clock=clock,
            name="Noël -20 %",
            language="fr",
            blocks=_blocks(now + timedelta(days=2)),
            theme={"primary": "#b3261e"},
            custom_fields=("city",),
        )
        page_id = page.page.id
        assert page_id is not None
        publish_page(session=session, clock=clock, page_id=page_id)
        campaign = create_campaign(
            session=session,
            clock=clock,
            spec=CampaignSpec(
                name="Soldes de Noël",
                type="promotional",
                template="{{ contact.first_name | default('Bonjour') }}, -20 % pour Noel "
                "jusqu'a dimanche : {{ link }}",
                page_id=page_id,
                group_ids=[group.id],
                window_start="00:00",
                window_end="23:59",
                rate=100,
            ),
            created_by=None,
        )
        campaign_id = campaign.id
        assert campaign_id is not None
        request_send(session=session, clock=clock, campaign_id=campaign_id)
    run_planning(
        engine=engine,
        clock=clock,
        settings=settings,
        codes=codes,
        worker_id="demo",
        campaign_id=campaign_id,
    )
    # The console's receipts on the story's clock too: delivered three hours ago.
    provider = ConsoleProvider(clock=clock)
    worker = Worker(engine, provider, clock, WorkerConfig(worker_id="demo", default_rate=1000))
    try:
        for _ in range(20):
            clock.advance(timedelta(seconds=2))
            if not worker.run_once():
                break
    finally:
        worker.close()
    _recipients_act(engine, clock, rng, page_id, campaign_id, settings)
    with session_scope(engine) as session:
        draft = create_campaign(
            session=session,
            clock=clock,
            spec=CampaignSpec(
                name="Nouvelle collection",
                type="promotional",
                template="{{ contact.first_name | default('Bonjour') }}, la nouvelle collection "
                "est arrivée : {{ link }}",
                target_url="https://shop.example/nouveautes",
                group_ids=[group.id],
                requires_approval=True,
            ),
            created_by=None,
        )
        assert draft.id is not None
    return DemoReport(DEMO_EMAIL, password, len(PEOPLE), campaign_id, page_id)


def _recipients_act(
    engine: Engine,
    clock: StoryClock,
    rng: random.Random,
    page_id: int,
    campaign_id: int,
    settings: Settings,
) -> None:
    """Taps (a link preview first for some), scratches, redemptions, a reply, a STOP."""
    with Session(engine) as session:
        sent = session.execute(
            select(
                col(Message.contact_id),
                col(Message.phone),
                col(Message.link_id),
                func.coalesce(col(Message.delivered_at), col(Message.sent_at)),
            ).where(col(Message.campaign_id) == campaign_id, col(Message.link_id).is_not(None))
        ).all()
    clicks: list[dict[str, object]] = []
    clickers: list[int] = []
    for contact_id, _phone, link_id, reached in sent:
        if reached is None or rng.random() > 0.7:
            continue
        first = reached + timedelta(seconds=min(9000, int(rng.expovariate(1 / 150)) + 5))
        if rng.random() < 0.3:
            clicks.append(_click(link_id, contact_id, reached + timedelta(seconds=1), PREVIEWER))
        agent = IPHONE if rng.random() < 0.6 else ANDROID
        clicks.append(_click(link_id, contact_id, first, agent))
        if rng.random() < 0.4:
            clicks.append(_click(link_id, contact_id, first + timedelta(minutes=25), agent))
        clickers.append(int(contact_id))
    with session_scope(engine) as session:
        if clicks:
            session.execute(insert(Click), clicks)
        bon = CouponSlot(page_id, "bon", "generate", "NOEL-######", None, campaign_id)
        for index, contact_id in enumerate(clickers):
            coupon = assign_to(session=session, clock=clock, slot=bon, contact_id=contact_id)
            if index % 2 == 0:
                revealed = NewPageEvent(page_id, "carte", contact_id, SCRATCH_REVEALED, campaign_id)
                record_page_event(session=session, clock=clock, event=revealed)
            if index % 4 == 1:
                redeem_coupon(
                    session=session,
                    clock=clock,
                    code=coupon.code,
                    by="caisse 2",
                    location="Boutique Paris",
                )
    clock.advance(timedelta(minutes=40))
    with session_scope(engine) as session:
        handle_inbound(
            session=session, phone=PEOPLE[3][2], to="", text="STOP", clock=clock, settings=settings
        )
        handle_inbound(
            session=session,
            phone=PEOPLE[12][2],
            to="",
            text="Merci, à samedi !",
            clock=clock,
            settings=settings,
        )


def _click(link_id: int, contact_id: int, at: datetime, agent: str) -> dict[str, object]:
    return {
        "link_id": link_id,
        "contact_id": contact_id,
        "clicked_at": at,
        "method": "GET",
        "is_bot": agent == PREVIEWER,
        "user_agent": agent,
        "referrer": "",
        "ip": "203.0.113.0",
        "visitor": secrets.token_hex(8),
    }
