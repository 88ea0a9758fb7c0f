"""A redemption tells the webhooks once, whichever way it happens: the coupon's own
`redeem_coupon` queues its event (the API alone did, through a wrapper the staff page
used too, and the demo's redemptions told nobody)."""

from __future__ import annotations

import json
from contextlib import nullcontext

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session
from starlette.testclient import TestClient

from landing_templates.coupons import assign_coupon, redeem_coupon
from richsms.db import session_scope
from richsms.errors import Conflict
from richsms.events import WebhookDelivery
from sender.webhooks.events import create_webhook
from tests.clock import FrozenClock
from tests.web.staff.test_staff_page import csrf, sign_in


def issue(engine: Engine, clock: FrozenClock, contact_id: int) -> str:
    with session_scope(engine) as session:
        return assign_coupon(
            session=session,
            clock=clock,
            page_id=1,
            block_id="cp",
            contact_id=contact_id,
            source="generate",
            pattern="EDGE-######",
            pool_id=None,
            campaign_id=4,
        ).code


def test_each_way_to_redeem_queues_exactly_one_redemption_event(
    client: TestClient, engine: Engine, clock: FrozenClock, token: str
) -> None:
    with session_scope(engine) as session:
        create_webhook(
            session=session, clock=clock, url="https://hooks.example/in", events=["redemption"]
        )
    by_api, by_staff, by_domain = (issue(engine, clock, contact) for contact in (1, 2, 3))
    bearer = {"Authorization": f"Bearer {token}"}
    for _ in range(2):  # the second attempt is refused and tells nothing
        client.post(f"/api/coupons/{by_api}/redeem", json={"by": "till 1"}, headers=bearer)
    form = csrf(sign_in(client, by_staff, token))
    for _ in range(2):
        client.post(f"/r/{by_staff}", data={"action": "redeem", "csrf": form})
    for attempt in range(2):
        with pytest.raises(Conflict) if attempt else nullcontext(), session_scope(engine) as db:
            redeem_coupon(session=db, clock=clock, code=by_domain, by="demo", location=None)
    with Session(engine) as session:
        queued = session.execute(select(WebhookDelivery.event, WebhookDelivery.payload)).all()
    events = [(event, json.loads(payload)) for event, payload in queued]
    assert sorted((event, p["code"], p["by"], p["campaign_id"]) for event, p in events) == sorted(
        [
            ("redemption", by_api, "till 1", 4),
            ("redemption", by_staff, "tests", 4),
            ("redemption", by_domain, "demo", 4),
        ]
    )
