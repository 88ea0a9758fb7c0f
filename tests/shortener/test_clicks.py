"""Group commit against the real database: nothing acknowledged is lost, batches form."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from shortener.anonymize import IpAnonymizer
from shortener.clicks import ClickEvent, ClickStore, ClickWriter
from shortener.codes import CodeMaker
from shortener.links import LinkSpec, create_link
from shortener.models import Click
from tests.clock import FrozenClock


def _link_id(engine: Engine, clock: FrozenClock) -> int:
    with Session(engine) as session:
        spec = LinkSpec(url="https://ex.example/")
        link = create_link(session=session, codes=CodeMaker("s"), clock=clock, spec=spec)
        assert link.id is not None
        return link.id


def _event(link_id: int, n: int) -> ClickEvent:
    return ClickEvent(
        link_id,
        None,
        datetime(2026, 11, 24, 12, tzinfo=UTC),
        "GET",
        f"agent {n}",
        "",
        f"198.51.100.{n % 250}",
    )


def _stored(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Click)).scalar_one())


def test_concurrent_clicks_are_all_committed_in_few_batches(
    engine: Engine, clock: FrozenClock
) -> None:
    link_id = _link_id(engine, clock)

    async def scenario() -> ClickWriter:
        writer = ClickWriter(ClickStore(engine, IpAnonymizer("truncate", "k")))
        writer.start()
        await asyncio.gather(*(writer.record(_event(link_id, n)) for n in range(500)))
        await writer.close()
        return writer

    writer = asyncio.run(scenario())
    assert _stored(engine) == 500 == writer.written
    assert writer.batches < 50  # the first batch is alone, then they group


def test_stored_clicks_are_anonymized(engine: Engine, clock: FrozenClock) -> None:
    link_id = _link_id(engine, clock)

    async def scenario() -> None:
        writer = ClickWriter(ClickStore(engine, IpAnonymizer("truncate", "k")))
        writer.start()
        await writer.record(_event(link_id, 77))
        await writer.close()

    asyncio.run(scenario())
    with Session(engine) as session:
        click = session.execute(select(Click)).scalar_one()
    assert click.ip == "198.51.100.0/24"
    assert click.clicked_at == datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert click.is_bot is False


def test_a_failed_commit_fails_its_requests_and_the_writer_recovers(
    engine: Engine, clock: FrozenClock
) -> None:
    link_id = _link_id(engine, clock)
    broken = ClickEvent(None, None, clock.now(), "GET", "ua", "", "198.51.100.1")  # type: ignore[arg-type]

    async def scenario() -> None:
        writer = ClickWriter(ClickStore(engine, IpAnonymizer("truncate", "k")))
        writer.start()
        with pytest.raises(Exception, match="(?i)null"):
            await writer.record(broken)  # violates NOT NULL: the whole batch fails
        await writer.record(_event(link_id, 1))  # a fresh connection, a fresh batch
        await writer.close()

    asyncio.run(scenario())
    assert _stored(engine) == 1
