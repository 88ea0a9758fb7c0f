"""Known custom fields: a small bounded table kept current by imports and contact edits."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from richsms.errors import InvalidInput
from sender.audience.contacts import create_contact
from sender.audience.csv_import import import_contacts
from sender.audience.custom_fields import (
    MAX_CUSTOM_FIELD_NAME,
    MAX_CUSTOM_FIELDS,
    known_fields,
    record_custom_fields,
)
from sender.audience.models import Contact
from sender.campaigns.campaign import known_custom_fields
from tests.clock import FrozenClock


def test_imports_and_new_contacts_make_their_fields_known(
    engine: Engine, clock: FrozenClock
) -> None:
    with Session(engine) as session:
        import_contacts(
            session=session,
            data=b"phone,Code postal,loyalty\n+33612345678,75011,gold\n",
            clock=clock,
            region="FR",
        )
        create_contact(
            session=session, phone="+33698765432", clock=clock, region="FR", fields={"city": "Lyon"}
        )
        session.commit()

        assert known_fields(session) == {"code_postal", "loyalty", "city"}
        assert known_custom_fields(session) == {"code_postal", "loyalty", "city"}


def test_recording_twice_is_harmless(engine: Engine) -> None:
    with Session(engine) as session:
        record_custom_fields(session=session, names=["city", "city"])
        record_custom_fields(session=session, names=["city", "zip"])
        session.commit()

        assert known_fields(session) == {"city", "zip"}


def test_fields_are_bounded_in_count_with_a_clear_error(engine: Engine) -> None:
    with Session(engine) as session:
        record_custom_fields(session=session, names=[f"f{i}" for i in range(MAX_CUSTOM_FIELDS)])
        session.commit()
        record_custom_fields(session=session, names=["f0", "f1"])  # already known: fine

        with pytest.raises(InvalidInput) as raised:
            record_custom_fields(session=session, names=["one_more"])

    assert raised.value.code == "too_many_custom_fields"
    assert f"at most {MAX_CUSTOM_FIELDS}" in raised.value.message


def test_field_names_are_bounded_in_length(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(InvalidInput) as raised:
        record_custom_fields(session=session, names=["x" * (MAX_CUSTOM_FIELD_NAME + 1)])

    assert raised.value.code == "custom_field_name"


def test_an_import_past_the_bound_is_refused_and_writes_nothing(
    engine: Engine, clock: FrozenClock
) -> None:
    with Session(engine) as session:
        record_custom_fields(session=session, names=[f"f{i}" for i in range(MAX_CUSTOM_FIELDS)])
        session.commit()
        with pytest.raises(InvalidInput):
            import_contacts(
                session=session, data=b"phone,extra\n+33612345678,1\n", clock=clock, region="FR"
            )
        session.rollback()

        assert "extra" not in known_fields(session)
        assert len(known_fields(session)) == MAX_CUSTOM_FIELDS
        assert session.execute(select(Contact)).first() is None
