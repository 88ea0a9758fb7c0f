"""Unitary and test sends: one use case each, composed as the campaign's own messages."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from richsms.db import read_session, session_scope
from richsms.settings import Settings
from sender.campaigns.unitary import CampaignTestSend, send_unitary
from sender.delivery.models import Message
from shortener.codes import CodeMaker
from shortener.models import Link
from tests.clock import FrozenClock
from tests.sender.campaigns.test_page_planning import page_campaign
from tests.sender.campaigns.test_planning_job import plan, seed


def test_a_page_campaigns_test_send_links_to_its_page_as_its_recipients_messages_do(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    """The test send used the campaign's target_url alone: a page campaign's test went
    out with `{{ link }}` rendered empty."""
    group = seed(engine, clock, 1)
    page_id, campaign_id = page_campaign(
        engine, clock, group, [{"type": "heading", "text": "Bonjour"}]
    )
    with read_session(engine) as reading, session_scope(engine) as writing:
        test = send_unitary(
            reading,
            writing,
            CampaignTestSend(campaign_id=campaign_id, phone="+33698765432"),
            clock=clock,
            settings=settings,
            codes=CodeMaker(settings.secret_key.reveal()),
        )
        test_id = test.id
    assert plan(engine, clock, settings, "w1") == [campaign_id]
    with Session(engine) as session:
        sent, tested = (
            session.execute(
                select(Message)
                .where(col(Message.campaign_id) == campaign_id)
                .order_by(col(Message.is_test))
            )
            .scalars()
            .all()
        )
        assert tested.id == test_id and tested.is_test
        links = [session.get(Link, m.link_id) for m in (sent, tested)]
    recipient, tester = links
    assert recipient is not None and tester is not None
    for message, link in ((sent, recipient), (tested, tester)):
        name = "C1" if message is sent else "Camille"  # a test's sample, made up
        assert message.text.startswith(f"Bonjour {name} : {settings.short_url}{link.code}")
        assert (link.page_id, link.page_version) == (page_id, 1)
        assert link.page_token and link.target_url.endswith("p/" + link.page_token)
    # The test's link is nobody's and no campaign's, and marked as a test: it stays out
    # of the statistics.
    assert (tester.contact_id, tester.campaign_id, tester.is_test) == (None, None, True)
    assert not recipient.is_test
