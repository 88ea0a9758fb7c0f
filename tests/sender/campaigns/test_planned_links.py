"""The planner's link rows are `create_links`' rows: one builder (`shortener.links.LinkRows`)
for a campaign's bulk links and any other link, held on the same inputs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from richsms.db import session_scope
from richsms.settings import Settings
from shortener.codes import RANDOM_LENGTH, CodeMaker
from shortener.links import LinkSpec, create_links
from shortener.models import Link
from tests.clock import FrozenClock
from tests.landing_templates.pagekit import rich_blocks
from tests.sender.campaigns.test_page_planning import page_campaign
from tests.sender.campaigns.test_planning_job import new_campaign, plan, seed, send


def rows(engine: Engine, ids: list[int] | None = None, campaign_id: int | None = None) -> list[Any]:
    query = select(Link).order_by(col(Link.contact_id))
    if ids is not None:
        query = query.where(col(Link.id).in_(ids))
    else:
        query = query.where(col(Link.campaign_id) == campaign_id)
    with Session(engine) as session:
        return [link.model_dump() for link in session.execute(query).scalars()]


def test_a_campaigns_links_are_built_as_create_links_builds_them(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    codes = CodeMaker(settings.secret_key.reveal())
    group = seed(engine, clock, 4)
    url_campaign = new_campaign(engine, clock, group)
    send(engine, clock, url_campaign)
    _page, page_campaign_id = page_campaign(engine, clock, group, rich_blocks(clock.now()))
    plan(engine, clock, settings, "w1")
    for campaign_id, url in (
        (url_campaign, "https://shop.example/soldes"),
        (page_campaign_id, settings.base_url + "p/"),
    ):
        planned = rows(engine, campaign_id=campaign_id)
        assert len(planned) == 4
        first = planned[0]
        # The same inputs through create_links; the tokens must differ (they are unique).
        tokens = None if first["page_token"] is None else [r["page_token"] + "x" for r in planned]
        with session_scope(engine) as session:
            issued = create_links(
                session=session,
                codes=codes,
                clock=clock,
                spec=LinkSpec(
                    url=url,
                    campaign_id=campaign_id,
                    page_id=first["page_id"],
                    page_version=first["page_version"],
                ),
                contact_ids=[r["contact_id"] for r in planned],
                page_tokens=tokens,
            )
        created = rows(engine, ids=[link.id for link in issued])
        for row in planned + created:
            # Each code is its id's hashid, then a random part.
            assert row["code"][:-RANDOM_LENGTH] == codes.make(row["id"])[:-RANDOM_LENGTH]
            assert row["target_url"] == url + (row["page_token"] or "")

        def rest(row: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in row.items() if k not in ("id", "code", "page_token",
                                                               "target_url")}

        assert [rest(r) for r in planned] == [rest(r) for r in created]
