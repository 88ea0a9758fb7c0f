"""The consent rule said once, read twice: for one contact in memory (planning, the
moment of sending) and for every contact in SQL (a send's summary); the two agree."""

from __future__ import annotations

from itertools import product

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from sender.audience.consent import EXCLUSIONS, exclusion_code, refusal
from sender.audience.contacts import create_contact
from sender.audience.models import Contact
from sender.delivery.models import MESSAGE_TYPES
from tests.clock import FrozenClock

STATUSES = ("subscribed", "opted_out", "erased", "bounced")
CONSENTS = (None, "express", "implied", "", "verbal")


def test_sql_and_memory_exclude_the_same_contacts_for_the_same_reason(
    engine: Engine, clock: FrozenClock
) -> None:
    with Session(engine) as session:
        states: dict[int, tuple[str, str | None]] = {}
        for n, (status, consent) in enumerate(product(STATUSES, CONSENTS)):
            contact = create_contact(
                session=session, phone=f"+3361234{n:04d}", clock=clock, region="FR"
            )
            contact.status, contact.consent_type = status, consent
            session.add(contact)
            session.flush()
            assert contact.id is not None
            states[contact.id] = (status, consent)
        session.commit()
        reasons = {e.code: e.reason for e in EXCLUSIONS}
        for type in MESSAGE_TYPES:
            in_sql = {
                int(row[0]): row[1]
                for row in session.execute(select(col(Contact.id), exclusion_code(type)))
            }
            for contact_id, (status, consent) in states.items():
                code = in_sql[contact_id]
                assert refusal(status, consent, type) == (reasons[code] if code else None), (
                    type,
                    status,
                    consent,
                )
        # What each reason covers, as a marketer reads it.
        assert refusal("subscribed", None, "promotional") == reasons["no_consent"]
        assert refusal("opted_out", "express", "informational") == reasons["opted_out"]
        assert refusal("opted_out", None, "administrative") is None
