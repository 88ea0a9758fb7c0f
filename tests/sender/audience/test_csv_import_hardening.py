"""The CSV import against the files that once hurt: numbers read as another country,
thousands of columns, re-imports that rewrote consent, a write lock held while parsing."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

import sender.audience.csv_import
from richsms.db import make_engine
from richsms.errors import InvalidInput
from sender.audience.contacts import find_by_phone
from sender.audience.csv_columns import MAX_CUSTOM_FIELD_NAME, MAX_CUSTOM_FIELDS
from sender.audience.csv_import import ImportReport, import_contacts, parse_contacts_csv
from sender.audience.models import ConsentEvent, Contact
from tests.clock import FrozenClock

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def run(engine: Engine, clock: FrozenClock, text: str, region: str = "FR") -> ImportReport:
    with Session(engine) as session:
        return import_contacts(session=session, data=text.encode(), clock=clock, region=region)


def test_a_north_american_number_without_its_code_is_refused_with_a_suggestion(
    engine: Engine, clock: FrozenClock
) -> None:
    report = run(
        engine,
        clock,
        "phone,first_name\n"
        "+1 514 555 2420,Chloé\n"
        "6045558762,Sam\n"  # Vancouver, written without +1: once stored as +60 (Malaysia)
        "0612345678,Léa\n"
        "12345,Nobody\n",
    )
    assert report.imported == 2
    assert [(r.row, r.reason) for r in report.rejected] == [
        (
            3,
            "not a valid number for FR: 6045558762 (numbers without a country code are "
            "read in FR); did you mean +16045558762 (CA)? Write it with its country code.",
        ),
        (5, "not a valid number for FR: 12345"),
    ]
    with Session(engine) as session:
        phones = set(session.exec(select(col(Contact.phone))))
    assert phones == {"+15145552420", "+33612345678"}


def test_no_suggestion_from_a_country_the_file_does_not_use() -> None:
    parsed = parse_contacts_csv(b"phone\n0612345678\n6045558762\n", region="FR", now=NOW)
    assert [r.reason for r in parsed.rejected] == ["not a valid number for FR: 6045558762"]


def test_quebec_numbers_get_french_unless_the_file_says(engine: Engine, clock: FrozenClock) -> None:
    run(
        engine,
        clock,
        "phone,langue\n+1 514 555 2420,\n+1 418 555 0199,anglais\n+1 604 555 8762,\n",
        region="CA",
    )
    with Session(engine) as session:
        languages = {
            phone: language
            for phone, language in session.exec(select(col(Contact.phone), col(Contact.language)))
        }
    assert languages == {"+15145552420": "fr", "+14185550199": "en", "+16045558762": "en"}


def test_thousands_of_columns_are_refused_at_once() -> None:
    header = ",".join(["phone"] + ["a"] * 8_000)
    with pytest.raises(InvalidInput) as caught:
        parse_contacts_csv(f"{header}\n0612345678\n".encode(), region="FR", now=NOW)
    assert caught.value.message == (
        f"the file has 8000 custom columns: at most {MAX_CUSTOM_FIELDS} are kept per "
        "contact (remove the ones you do not need)"
    )


def test_repeated_column_names_are_numbered() -> None:
    header = ",".join(["phone"] + ["a"] * MAX_CUSTOM_FIELDS)
    parsed = parse_contacts_csv(f"{header}\n0612345678\n".encode(), region="FR", now=NOW)
    assert parsed.custom_fields == ("a", *(f"a_{n}" for n in range(2, MAX_CUSTOM_FIELDS + 1)))


def test_a_column_name_too_long_is_refused() -> None:
    name = "x" * (MAX_CUSTOM_FIELD_NAME + 1)
    too_long = f"column 2 has a name longer than {MAX_CUSTOM_FIELD_NAME}"
    with pytest.raises(InvalidInput, match=too_long):
        parse_contacts_csv(f"phone,{name}\n0612345678,1\n".encode(), region="FR", now=NOW)
    # At the bound, it is kept.
    name = "x" * MAX_CUSTOM_FIELD_NAME
    parsed = parse_contacts_csv(f"phone,{name}\n0612345678,1\n".encode(), region="FR", now=NOW)
    assert parsed.custom_fields == (name,)


@pytest.mark.parametrize(
    "file",
    [
        "phone,first_name,consent_type\n0612345678,Léa,express\n",
        "phone,first_name,source\n0612345678,Léa,boutique\n",
        "phone,consent_type,consent_date\n0612345678,implied,2025-03-01\n",
    ],
)
def test_importing_the_same_file_again_records_nothing(
    engine: Engine, clock: FrozenClock, file: str
) -> None:
    run(engine, clock, file)
    with Session(engine) as session:
        first = find_by_phone(session=session, phone="+33612345678")
        assert first is not None
        before = (first.consent_type, first.consent_source, first.consent_at, first.updated_at)
    clock.advance(timedelta(days=3))
    report = run(engine, clock, file)
    assert (report.imported, report.updated) == (0, 1)
    with Session(engine) as session:
        again = find_by_phone(session=session, phone="+33612345678")
        assert again is not None
        after = (again.consent_type, again.consent_source, again.consent_at, again.updated_at)
        events = session.exec(select(col(ConsentEvent.id))).all()
    assert after == before
    assert len(events) == 1


def test_a_new_undated_consent_is_dated_by_the_import(engine: Engine, clock: FrozenClock) -> None:
    run(engine, clock, "phone,consent_type\n0612345678,implied\n")
    clock.advance(timedelta(days=3))
    run(engine, clock, "phone,consent_type\n0612345678,express\n")
    with Session(engine) as session:
        lea = find_by_phone(session=session, phone="+33612345678")
        assert lea is not None and (lea.consent_type, lea.consent_at) == ("express", clock.now())
        assert len(session.exec(select(col(ConsentEvent.id))).all()) == 2


@pytest.fixture
def sqlite_file(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "lock.db"
    shutil.copyfile(sqlite_template, path)
    return path


def test_the_sqlite_write_lock_is_free_while_parsing_and_between_chunks(
    sqlite_file: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer (a redirect storing a click) is never kept waiting by an import:
    while the file is parsed, and between two chunks of contacts, it writes at once."""
    monkeypatch.setattr(sender.audience.csv_import, "SAVE_CHUNK", 100)
    engine = make_engine(f"sqlite:///{sqlite_file}")
    other = sqlite3.connect(sqlite_file, timeout=0, isolation_level=None)
    writes: list[str] = []

    def write_elsewhere(stage: str, done: int, total: int) -> None:
        other.execute("BEGIN IMMEDIATE")  # fails at once ("database is locked") if held
        other.execute(
            "INSERT INTO contact_group (name, created_at) VALUES (?, ?)",
            (f"{stage} {done} #{len(writes)}", "2026-11-24 12:00:00.000000"),
        )
        other.execute("COMMIT")
        writes.append(stage)

    rows = "".join(f"+336{n:08d}\n" for n in range(350))
    with Session(engine) as session:
        report = import_contacts(
            session=session,
            data=("phone\n" + rows).encode(),
            clock=clock,
            region="FR",
            progress=write_elsewhere,
        )
    other.close()
    engine.dispose()
    assert report.imported == 350
    assert "read" in writes and writes.count("save") >= 4  # 4 chunks, each committed
