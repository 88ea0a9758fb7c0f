"""The contacts screens as a marketer uses them (HTTP through the app): importing a CSV
with a bad row (report on the page and as a download), correcting a contact, erasing
one after a confirmation, CSRF refusals, French text."""

from __future__ import annotations

import csv
import html
import io
import re

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from richsms.db import session_scope
from richsms.settings import Settings
from sender.audience.contacts import create_contact, record_consent
from sender.audience.models import ConsentEvent, Contact
from tests.clock import FrozenClock
from tests.web.test_ui import csrf, marketer  # noqa: F401  (the signed-in fixture)

CSV = (
    "phone,first_name,last_name,email,city\n"
    "0612345678,Zoé,Martin,zoe@ex.fr,Paris\n"
    "not a number,Bad,Row,bad@ex.fr,Lyon\n"
    "+33698765432,=HYPERLINK(\"http://evil\"),Durand,,Nice\n"
)


def _upload(client: TestClient, token: str, data: bytes, htmx: bool = True, **form: str) -> object:
    headers = {"HX-Request": "true", "X-CSRF-Token": token} if htmx else {}
    fields = {} if htmx else {"csrf": token}
    return client.post(
        "/ui/contacts/import",
        files={"file": ("contacts.csv", data, "text/csv")},
        data={**fields, **form},
        headers=headers,
    )


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Contact)).scalar_one())


def test_upload_with_a_bad_row_shows_the_report_and_its_download(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
) -> None:
    form = marketer.get("/ui/contacts/import")
    assert form.status_code == 200
    assert 'hx-encoding="multipart/form-data"' in form.text and "<progress" in form.text
    assert 'value="FR"' in form.text  # the region defaults to RICHSMS_DEFAULT_REGION

    response = _upload(marketer, csrf(form.text), CSV.encode())
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    assert "<html" not in html  # the htmx answer is the result alone
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html))
    assert figures["Imported"] == "2" and figures["Rejected"] == "1"
    assert figures["Already there, updated"] == "0"
    assert "<td>3</td>" in html  # the bad row's number (the header is row 1)
    assert _count(engine) == 2

    href = re.search(r'download="import-errors.csv" href="([^"]+)"', html)
    assert href is not None
    download = marketer.get(href.group(1))
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert rows[0] == ["row", "reason"] and rows[1][0] == "3" and len(rows) == 2

    # The same file again updates; the download lists the new report's rows.
    again = _upload(marketer, csrf(form.text), (CSV + "@SUM(A1),x,,,\n").encode())
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", again.text))  # type: ignore[attr-defined]
    assert figures["Already there, updated"] == "2" and figures["Rejected"] == "2"
    href = re.search(r'download="import-errors.csv" href="([^"]+)"', again.text)  # type: ignore[attr-defined]
    assert href is not None
    rows = list(csv.reader(io.StringIO(marketer.get(href.group(1)).text.lstrip("\ufeff"))))
    assert [row[0] for row in rows] == ["row", "3", "5"]
    assert rows[2][1] == "not a valid number for FR: @SUM(A1)"
    # Another's report id, or none at all: not found; signed out: the sign-in page.
    assert marketer.get("/ui/contacts/imports/AAAAAAAAAAAAAAAAAAAAAA/rejected.csv"
                        ).status_code == 404


def test_upload_without_javascript_and_the_region_chosen(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
) -> None:
    token = csrf(marketer.get("/ui/contacts/import").text)
    response = _upload(marketer, token, b"phone\n5145551234\n", htmx=False, region="CA")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "<html" in response.text  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert session.execute(select(col(Contact.phone))).scalars().all() == ["+15145551234"]
    empty = _upload(marketer, token, b"", htmx=False)
    assert empty.status_code == 422 and "choose a CSV file" in empty.text  # type: ignore[attr-defined]


def test_upload_refused_without_the_csrf_token(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
) -> None:
    response = marketer.post(
        "/ui/contacts/import", files={"file": ("c.csv", b"phone\n0612345678\n", "text/csv")}
    )
    assert response.status_code == 403
    assert _count(engine) == 0


def _contact(engine: Engine, clock: FrozenClock) -> int:
    with session_scope(engine) as session:
        contact = create_contact(
            session=session, clock=clock, phone="+33612345670", region="FR", first_name="Zoé"
        )
        record_consent(
            session=session, contact=contact, consent_type="express", source="shop", clock=clock
        )
        assert contact.id is not None
        return contact.id


def test_edit_a_contact_and_its_consent_history_shows(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
) -> None:
    contact_id = _contact(engine, clock)
    form = marketer.get(f"/ui/contacts/{contact_id}/edit")
    assert form.status_code == 200 and 'value="Zoé"' in form.text
    token = csrf(form.text)
    saved = marketer.post(
        f"/ui/contacts/{contact_id}/edit",
        data={
            "csrf": token,
            "phone": "+33612345670",
            "first_name": "Zoé",
            "last_name": "Martin",
            "email": "zoe@ex.fr",
            "language": "fr",
            "timezones": "Europe/Paris",
            "new_field": "city",
            "new_value": "Lyon",
            "consent_type": "express",
            "consent_source": "shop",
            "opted_out": "on",
        },
    )
    assert saved.status_code == 200 and "Contact saved." in saved.text
    assert "opt_out" in saved.text  # the consent history shows the opt-out
    with Session(engine) as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        assert (contact.last_name, contact.email, contact.status) == (
            "Martin",
            "zoe@ex.fr",
            "opted_out",
        )
        assert contact.fields == {"city": "Lyon"}

    bad = marketer.post(
        f"/ui/contacts/{contact_id}/edit", data={"csrf": token, "email": "not an email"}
    )
    assert bad.status_code == 422 and 'value="not an email"' in bad.text
    assert 'class="problem"' in bad.text


def test_erase_asks_for_confirmation_first(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
) -> None:
    contact_id = _contact(engine, clock)
    page = marketer.get(f"/ui/contacts/{contact_id}")
    assert f'href="/ui/contacts/{contact_id}/erase"' in page.text
    confirm = marketer.get(f"/ui/contacts/{contact_id}/erase")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    token = csrf(confirm.text)

    # Without the confirmation button's value, nothing is erased: back to the question.
    unconfirmed = marketer.post(
        f"/ui/contacts/{contact_id}/erase", data={"csrf": token}, follow_redirects=False
    )
    assert unconfirmed.headers["location"] == f"/ui/contacts/{contact_id}/erase"
    forged = marketer.post(f"/ui/contacts/{contact_id}/erase", data={"confirm": "erase"})
    assert forged.status_code == 403
    assert marketer.get(f"/ui/contacts/{contact_id}").status_code == 200

    erased = marketer.post(
        f"/ui/contacts/{contact_id}/erase", data={"csrf": token, "confirm": "erase"}
    )
    assert erased.status_code == 200 and "Contact erased." in erased.text
    assert "+33612345670" not in erased.text
    assert marketer.get(f"/ui/contacts/{contact_id}").status_code == 404
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(ConsentEvent)).scalar_one() == 0


def test_import_and_edit_pages_in_french(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
) -> None:
    french = {"Accept-Language": "fr"}
    page = marketer.get("/ui/contacts/import", headers=french)
    assert "Importer des contacts" in page.text and "Fichier CSV" in page.text
    contact_id = _contact(engine, clock)
    edit = marketer.get(f"/ui/contacts/{contact_id}/edit", headers=french)
    assert "Modifier le contact" in edit.text and "Prénom" in edit.text
    erase = marketer.get(f"/ui/contacts/{contact_id}/erase", headers=french)
    assert "Effacer définitivement" in erase.text


def test_a_french_marketer_reads_why_rows_were_rejected_in_french(
    marketer: TestClient,  # noqa: F811
) -> None:
    marketer.headers["Accept-Language"] = "fr"
    token = csrf(marketer.get("/ui/contacts/import").text)
    rows = (
        "phone,first_name,consent_date\n"
        "+15145552420,Zoé,2025-03-01\n"  # a Canadian number: the next row's hint
        "5145552421,Max,\n"
        "0612345678,Léa,31/02/2025\n"
        "06 12 34 56 79,Sam,2099-01-01\n"
    )
    answer = _upload(marketer, token, rows.encode())
    reasons = dict(re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td></tr>", answer.text))  # type: ignore[attr-defined]
    assert {row: html.unescape(text) for row, text in reasons.items()} == {
        "3": "numéro non valide pour FR : 5145552421 (les numéros sans indicatif sont lus "
        "pour FR) ; vouliez-vous dire +15145552421 (CA) ? Écrivez-le avec son indicatif.",
        "4": "pas une date : 31/02/2025 (écrivez AAAA-MM-JJ ou JJ/MM/AAAA)",
        "5": "la date du consentement est dans le futur : 2099-01-01",
    }
    # The file itself: no phone column.
    refused = _upload(marketer, token, b"nom,ville\nLea,Lyon\n")
    assert "le fichier n&#39;a pas de colonne de numéro" in refused.text  # type: ignore[attr-defined]


def test_messages_from_unreadable_numbers_are_listed_for_review(
    marketer: TestClient, engine: Engine, clock: FrozenClock, settings: Settings  # noqa: F811
) -> None:
    from sender.delivery.provider_events import receive_inbound
    from sender.delivery.providers.base import Inbound

    with session_scope(engine) as session:
        create_contact(session=session, phone="+33612345678", clock=clock, region="FR")
        for phone, provider_id in (("Orange", "a"), ("+0033612345678", "b")):
            message = Inbound(
                provider="smpp", phone=phone, to="36180", text="STOP", at=clock.now(),
                provider_id=provider_id,
            )
            receive_inbound(session=session, clock=clock, settings=settings, message=message)
    assert "/ui/inbound/review" in marketer.get("/ui/contacts").text
    shown = html.unescape(marketer.get("/ui/inbound/review").text)
    assert "Orange" in shown and "unreadable" in shown
    assert "+33612345678" in shown and "'+0033612345678'" in shown and "opt_out" in shown
