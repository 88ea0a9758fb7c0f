"""The CSV import as a marketer meets it: their files, their mistakes, their database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from richsms.errors import InvalidInput
from sender.audience.contacts import consent_history, create_contact, find_by_phone, opt_out
from sender.audience.csv_columns import custom_field_name, header_key
from sender.audience.csv_import import ImportReport, import_contacts, parse_contacts_csv
from sender.audience.csv_reading import decode, sniff_delimiter
from sender.audience.models import ConsentEvent, Contact
from tests.clock import FrozenClock

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def run(engine: Engine, clock: FrozenClock, text: str | bytes, region: str = "FR") -> ImportReport:
    data = text.encode() if isinstance(text, str) else text
    with Session(engine) as session:
        return import_contacts(session=session, data=data, clock=clock, region=region)


def contact(engine: Engine, phone: str) -> Contact:
    with Session(engine) as session:
        found = find_by_phone(session=session, phone=phone)
        assert found is not None, phone
        return found


def rejected(report: ImportReport) -> list[tuple[int, str]]:
    return [(r.row, r.reason) for r in report.rejected]


def test_a_latin1_file_with_semicolons_imports(engine: Engine, clock: FrozenClock) -> None:
    data = (
        "Téléphone;Prénom;Nom;Ville\n"
        "06 12 34 56 78;Hélène;Lefèvre;Besançon\n"
        "+33 7 51 23 45 67;François;Nîmes;Orléans\n"
    ).encode("latin-1")
    report = run(engine, clock, data)
    assert (report.imported, report.updated, report.rejected) == (2, 0, ())
    helene = contact(engine, "+33612345678")
    assert (helene.first_name, helene.last_name) == ("Hélène", "Lefèvre")
    assert helene.fields == {"ville": "Besançon"}
    assert contact(engine, "+33751234567").first_name == "François"


def test_windows_1252_and_utf8_with_bom() -> None:
    assert decode("prix;€\n".encode("cp1252")) == "prix;€\n"
    assert decode("\ufeffphone,prénom\n".encode()) == "phone,prénom\n"
    assert decode("phone\tnom\n".encode("utf-16")) == "phone\tnom\n"


def test_a_bad_row_is_reported_with_its_number_while_the_others_import(
    engine: Engine, clock: FrozenClock
) -> None:
    report = run(
        engine,
        clock,
        "phone,first_name\n"
        "0612345678,Léa\n"  # row 2: the header is row 1
        "12345,Bob\n"
        ",Nobody\n"
        "\n"  # a blank line is skipped but still counts, like in a spreadsheet
        "0751234567,Zoé\n"
        "0612345679,Extra,cells,here\n",
    )
    assert report.imported == 2
    assert rejected(report) == [
        (3, "not a valid number for FR: 12345"),
        (4, "no phone number"),
        (7, "4 cells but the header has 2 (a separator inside a value that is not quoted?)"),
    ]
    assert report.rows == 5


def test_each_bad_value_has_its_reason(engine: Engine, clock: FrozenClock) -> None:
    report = run(
        engine,
        clock,
        "mobile,email,langue,fuseau,date_consentement,consent_type\n"
        "0612345671,not-an-email,,,,\n"
        "0612345672,,Deutsch,,,\n"
        "0612345673,,,Europe/Pariss,,\n"
        "0612345674,,,,31/02/2025,\n"
        "0612345675,,,,,maybe\n"
        "0612345676,,,,2099-01-01,\n",
    )
    assert report.imported == 0
    assert rejected(report) == [
        (2, "not an email address: not-an-email"),
        (3, "unsupported language 'Deutsch': use fr or en"),
        (4, "unknown time zone: Europe/Pariss"),
        (5, "not a date: 31/02/2025 (use YYYY-MM-DD or DD/MM/YYYY)"),
        (6, "unknown consent type 'maybe': use express or implied"),
        (7, "the consent date is in the future: 2099-01-01"),
    ]


def test_duplicates_are_merged_in_the_file_and_with_the_database(
    engine: Engine, clock: FrozenClock
) -> None:
    with Session(engine) as session:
        create_contact(
            session=session,
            phone="+33612345678",
            clock=clock,
            region="FR",
            first_name="Léa",
            last_name="Martin",
            fields={"city": "Lyon", "vip": "yes"},
        )
        session.commit()
    report = run(
        engine,
        clock,
        "phone;first_name;last_name;city;zip\n"
        "06 12 34 56 78;;Dupont;Paris;\n"
        "0751234567;Zoé;;Nice;06000\n"
        "+33 7 51 23 45 67;Zoé-Marie;Durand;;\n"
        "0033612345678;;;;75001\n",
    )
    assert (report.imported, report.updated, report.duplicates) == (1, 1, 2)
    lea = contact(engine, "+33612345678")
    # Later non-empty cells win; empty cells change nothing; custom fields merge.
    assert (lea.first_name, lea.last_name) == ("Léa", "Dupont")
    assert lea.fields == {"city": "Paris", "vip": "yes", "zip": "75001"}
    zoe = contact(engine, "+33751234567")
    assert (zoe.first_name, zoe.last_name) == ("Zoé-Marie", "Durand")
    assert zoe.fields == {"city": "Nice", "zip": "06000"}


def test_every_other_column_is_a_custom_field(engine: Engine, clock: FrozenClock) -> None:
    run(
        engine,
        clock,
        "Phone,Code Postal,Date d'anniversaire,Fidélité,,Mobile,Téléphone\n"
        "0142685300,75001,1990-05-01,Gold,x,0612345678,0142685301\n",
    )
    found = contact(engine, "+33612345678")
    # The mobile is the number texted; other phone-like columns become custom fields,
    # never hiding a standard merge field ("phone").
    assert found.fields == {
        "phone_2": "0142685300",
        "code_postal": "75001",
        "date_d_anniversaire": "1990-05-01",
        "fidelite": "Gold",
        "column_5": "x",
        "telephone": "0142685301",
    }


def test_header_names_in_french_and_english_any_case_or_accent(
    engine: Engine, clock: FrozenClock
) -> None:
    run(
        engine,
        clock,
        "TÉLÉPHONE;PRÉNOM;NOM;E-mail;Langue;Fuseau horaire;Source;Date consentement;"
        "Type de consentement\n"
        "06 12 34 56 78;Léa;Martin;lea@example.com;Français;America/Montreal;salon;"
        "01/03/2025 09:30;explicite\n",
    )
    lea = contact(engine, "+33612345678")
    assert (lea.first_name, lea.last_name, lea.email) == ("Léa", "Martin", "lea@example.com")
    assert (lea.language, lea.timezones) == ("fr", "America/Montreal")
    assert (lea.consent_type, lea.consent_source) == ("express", "salon")
    assert lea.consent_at == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    assert lea.fields == {}
    assert header_key(" Téléphone ") == "telephone"
    assert custom_field_name("Code postal") == "code_postal"


def test_language_and_time_zones_default_from_the_number(
    engine: Engine, clock: FrozenClock
) -> None:
    run(
        engine,
        clock,
        "msisdn,lang\n+33612345678,\n+32470123456,\n+447911123456,\n+79123456789,\n"
        "+447911123457,FR\n",
    )
    assert contact(engine, "+33612345678").language == "fr"
    assert contact(engine, "+32470123456").language == "fr"
    assert contact(engine, "+447911123456").language == "en"
    assert contact(engine, "+447911123457").language == "fr"
    assert contact(engine, "+33612345678").timezones == "Europe/Paris"
    # A number in several zones keeps them all.
    zones = contact(engine, "+79123456789").timezones.split()
    assert len(zones) > 10 and "Europe/Moscow" in zones and "Asia/Vladivostok" in zones


def test_consent_is_recorded_with_its_history(engine: Engine, clock: FrozenClock) -> None:
    file = "tel;source;date_consentement;consent_type\n0612345678;site web;2025-03-01;implicite\n"
    run(engine, clock, file)
    run(engine, clock, file)  # the same file again: nothing new to record
    clock.advance(timedelta(days=1))
    run(engine, clock, "tel;source;consent_type\n0612345678;boutique;express\n")
    lea = contact(engine, "+33612345678")
    assert (lea.consent_type, lea.consent_source, lea.consent_at) == (
        "express",
        "boutique",
        clock.now(),
    )
    with Session(engine) as session:
        history = consent_history(session=session, contact_id=lea.id or 0)
    assert [(e.kind, e.source, e.at) for e in history] == [
        ("implied", "site web", datetime(2025, 3, 1, tzinfo=UTC)),
        ("express", "boutique", clock.now()),
    ]


def test_consent_without_a_type_claims_only_implied_consent(
    engine: Engine, clock: FrozenClock
) -> None:
    run(engine, clock, "phone,consent_date\n0612345678,2025-03-01T10:00:00+01:00\n")
    lea = contact(engine, "+33612345678")
    assert (lea.consent_type, lea.consent_source) == ("implied", "csv import")
    assert lea.consent_at == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_an_import_never_resubscribes_an_opted_out_contact(
    engine: Engine, clock: FrozenClock
) -> None:
    with Session(engine) as session:
        lea = create_contact(session=session, phone="0612345678", clock=clock, region="FR")
        opt_out(session=session, contact=lea, via="keyword:STOP", clock=clock)
        session.commit()
    report = run(engine, clock, "phone,first_name,consent_type\n0612345678,Léa,express\n")
    assert report.updated == 1
    found = contact(engine, "+33612345678")
    assert (found.status, found.first_name, found.opted_out_via) == (
        "opted_out",
        "Léa",
        "keyword:STOP",
    )


def test_the_region_reads_national_numbers(engine: Engine, clock: FrozenClock) -> None:
    report = run(engine, clock, "phone\n0470 12 34 56\n", region="be")
    assert report.imported == 1
    assert contact(engine, "+32470123456").language == "fr"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (b"first_name,email\nLea,lea@example.com\n", "the file has no phone column"),
        (b'phone,name\n0612345678,"Lea\n0612345679,Bob\n', "malformed CSV at row 2"),
        (b'phone,name\n0612345678,"Lea"x\n', "malformed CSV at row 2"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "contains binary data"),
        (bytes(range(1, 32)) * 20, "contains binary data"),
        (b"\n\nphone\n", "the file has no header row"),
    ],
)
def test_files_that_are_not_csv_are_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_contacts_csv(data, region="FR", now=NOW)


def test_an_unterminated_quote_says_so() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_contacts_csv(b'phone\n"0612345678\n', region="FR", now=NOW)
    assert "a quote is left open" in caught.value.message


def test_the_phone_column_message_lists_what_was_found() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_contacts_csv(b"prenom;ville\nLea;Lyon\n", region="FR", now=NOW)
    assert "'prenom', 'ville'" in caught.value.message


def test_the_delimiter_is_sniffed_from_the_header() -> None:
    assert sniff_delimiter("phone;name;city") == ";"
    assert sniff_delimiter("phone,name") == ","
    assert sniff_delimiter('"a,b";c;d') == ";"
    assert sniff_delimiter("phone") == ","


def test_a_refused_file_imports_nothing(engine: Engine, clock: FrozenClock) -> None:
    with pytest.raises(InvalidInput):
        run(engine, clock, 'phone\n0612345678\n"0612345679\n')
    with Session(engine) as session:
        assert session.exec(select(col(Contact.id))).first() is None
        assert session.exec(select(col(ConsentEvent.id))).first() is None


def test_progress_is_reported(engine: Engine, clock: FrozenClock) -> None:
    seen: list[tuple[str, int, int]] = []
    rows = "".join(f"+336{n:08d}\n" for n in range(250))
    with Session(engine) as session:
        import_contacts(
            session=session,
            data=("phone\n" + rows).encode(),
            clock=clock,
            region="FR",
            progress=lambda stage, done, total: seen.append((stage, done, total)),
        )
    assert ("read", 250, 250) in seen and ("save", 250, 250) in seen
    assert [s for s, _, _ in seen].index("save") > [s for s, _, _ in seen].index("read")
