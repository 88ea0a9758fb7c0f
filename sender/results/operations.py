"""The installation's figures an operator watches, read from the database at scrape time
(`/metrics`, `richsms worker --metrics-port`): whichever host answers, they are the
whole installation's, not one process's.

Each read is served by an index (messages by state and the due backlog by
`ix_message_state_due`, waiting webhooks by `ix_webhook_delivery_due`, campaigns being
planned by `ix_campaign_status`), in one read-only transaction: a scrape never takes
SQLite's write lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from richsms.clock import Clock
from richsms.db import read_session
from richsms.events import PENDING, WebhookDelivery
from sender.campaigns.models import Campaign
from sender.campaigns.states import PLANNING
from sender.delivery.models import MESSAGE_STATES, QUEUED, Message


@dataclass(frozen=True, slots=True)
class Planning:
    campaign_id: int
    planned: int
    excluded: int
    total: int | None  # None until the audience is counted


@dataclass(frozen=True, slots=True)
class Operations:
    messages: dict[str, int]  # every state, zero included
    due: int  # queued and due now: the sending backlog
    planning: list[Planning]
    webhooks_waiting: int


def operations(session: Session, clock: Clock) -> Operations:
    state = col(Message.state)
    counted: dict[str, int] = {
        name: int(count)
        for name, count in session.execute(select(state, func.count()).group_by(state)).all()
    }
    due = session.execute(
        select(func.count())
        .select_from(Message)
        .where(col(Message.state) == QUEUED, col(Message.due_at) <= clock.now())
    ).scalar_one()
    planning = [
        Planning(campaign_id, planned, excluded, total)
        for campaign_id, planned, excluded, total in session.execute(
            select(
                col(Campaign.id),
                col(Campaign.planned_count),
                col(Campaign.excluded_count),
                col(Campaign.total_count),
            ).where(col(Campaign.status) == PLANNING)
        ).all()
    ]
    waiting = session.execute(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(col(WebhookDelivery.state) == PENDING)
    ).scalar_one()
    return Operations(
        messages={name: counted.get(name, 0) for name in MESSAGE_STATES},
        due=int(due),
        planning=planning,
        webhooks_waiting=int(waiting),
    )


class DatabaseFigures(Collector):
    """`operations` as Prometheus gauges, read at each scrape."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def collect(self) -> Iterable[Metric]:
        with read_session(self._engine) as session:
            now = operations(session, self._clock)
        messages = GaugeMetricFamily(
            "richsms_messages", "Messages in the outbox, by state.", labels=["state"]
        )
        for state, count in now.messages.items():
            messages.add_metric([state], count)
        yield messages
        yield GaugeMetricFamily(
            "richsms_messages_due",
            "Messages queued and due now: what the workers have yet to hand over.",
            value=now.due,
        )
        planned = GaugeMetricFamily(
            "richsms_planning_done",
            "Recipients planned or excluded so far, per campaign being planned.",
            labels=["campaign"],
        )
        total = GaugeMetricFamily(
            "richsms_planning_total",
            "Recipients in the audience, per campaign being planned (once counted).",
            labels=["campaign"],
        )
        for p in now.planning:
            planned.add_metric([str(p.campaign_id)], p.planned + p.excluded)
            if p.total is not None:
                total.add_metric([str(p.campaign_id)], p.total)
        yield planned
        yield total
        yield GaugeMetricFamily(
            "richsms_webhook_deliveries_waiting",
            "Webhook deliveries pending (due or waiting for their next attempt).",
            value=now.webhooks_waiting,
        )
