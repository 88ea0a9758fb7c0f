"""Groups, segments, sender numbers and the message library in the marketers' UI
(HTTP through the app), each over the same use cases as the API."""

from __future__ import annotations

import html
import re

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from richsms.db import session_scope
from sender.audience.contacts import create_contact, record_consent
from sender.audience.models import Contact, ContactGroup, Segment
from sender.compose.library import MessageTemplate
from sender.delivery.models import SenderNumber
from tests.clock import FrozenClock
from tests.web.test_ui import csrf, marketer  # noqa: F401  (the signed-in fixture)

HTMX = {"HX-Request": "true"}


def _contacts(engine: Engine, clock: FrozenClock) -> None:
    with session_scope(engine) as session:
        for i, (name, language, consent) in enumerate(
            (("Zoé", "fr", "express"), ("Bob", "en", ""), ("Léa", "fr", "implied"))
        ):
            contact = create_contact(
                session=session,
                clock=clock,
                phone=f"+3361234560{i}",
                region="FR",
                first_name=name,
                language=language,
            )
            if consent:
                record_consent(
                    session=session,
                    contact=contact,
                    consent_type=consent,
                    source="shop",
                    clock=clock,
                )


def test_groups_create_add_by_phone_rename_delete(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
) -> None:
    _contacts(engine, clock)
    listing = marketer.get("/ui/groups")
    token = csrf(listing.text)
    created = marketer.post("/ui/groups", data={"csrf": token, "name": "VIP"})
    assert created.status_code == 200 and "Group created." in created.text
    group_id = int(re.search(r"/ui/groups/(\d+)/members", created.text).group(1))  # type: ignore[union-attr]

    added = marketer.post(
        f"/ui/groups/{group_id}/members",
        data={"csrf": token, "phones": "+33612345600\n0612345601, +33699999999"},
    )
    assert added.status_code == 200
    assert "Added: 2" in added.text and "+33699999999" in added.text  # unknown, not created
    assert "2 members" in added.text
    assert re.search(r"VIP</a></td><td>2</td>", marketer.get("/ui/groups").text)

    renamed = marketer.post(f"/ui/groups/{group_id}/rename", data={"csrf": token, "name": "Gold"})
    assert "<h1>Gold" in renamed.text
    taken = marketer.post("/ui/groups", data={"csrf": token, "name": "Gold"})
    assert taken.status_code == 409 and 'class="problem"' in taken.text

    forged = marketer.post(f"/ui/groups/{group_id}/delete", data={})
    assert forged.status_code == 403
    deleted = marketer.post(f"/ui/groups/{group_id}/delete", data={"csrf": token})
    assert "Group deleted." in deleted.text
    with Session(engine) as session:
        assert session.execute(select(ContactGroup)).first() is None


def test_a_group_lists_searches_and_removes_its_members(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
) -> None:
    _contacts(engine, clock)
    token = csrf(marketer.get("/ui/groups").text)
    created = marketer.post("/ui/groups", data={"csrf": token, "name": "VIP"})
    group_id = int(re.search(r"/ui/groups/(\d+)/members", created.text).group(1))  # type: ignore[union-attr]
    assert "No member yet." in created.text
    phones = "+33612345600\n+33612345601\n+33612345602"
    marketer.post(f"/ui/groups/{group_id}/members", data={"csrf": token, "phones": phones})
    shown = marketer.get(f"/ui/groups/{group_id}").text
    assert 'id="group-members"' in shown
    assert all(name in shown for name in ("Zoé", "Bob", "Léa"))
    found = marketer.get(f"/ui/groups/{group_id}?q=zo").text
    assert "Zoé" in found and "Bob" not in found and "Léa" not in found
    by_number = marketer.get(f"/ui/groups/{group_id}?q=0612345601").text
    assert "Bob" in by_number and "Zoé" not in by_number
    assert "No member matches this search." in marketer.get(f"/ui/groups/{group_id}?q=zzz").text
    with Session(engine) as session:
        bob = session.execute(
            select(col(Contact.id)).where(col(Contact.first_name) == "Bob")
        ).scalar_one()
    removed = marketer.post(
        f"/ui/groups/{group_id}/members/remove", data={"csrf": token, "contact_id": str(bob)}
    )
    assert removed.status_code == 200 and "Removed from the group." in removed.text
    assert "2 members" in removed.text and "Bob" not in removed.text
    forged = marketer.post(f"/ui/groups/{group_id}/members/remove", data={"contact_id": "1"})
    assert forged.status_code == 403
    bad = marketer.post(
        f"/ui/groups/{group_id}/members/remove", data={"csrf": token, "contact_id": "x"}
    )
    assert bad.status_code == 422
    # The contact stays; only its membership went.
    with Session(engine) as session:
        assert session.get(Contact, bob) is not None


def test_segment_builder_counts_live_then_saves(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
) -> None:
    _contacts(engine, clock)
    builder = marketer.get("/ui/segments")
    token = csrf(builder.text)
    assert 'hx-post="/ui/segments/count"' in builder.text
    headers = {**HTMX, "X-CSRF-Token": token}

    french = {"rows": "1", "field-0": "language", "op-0": "eq", "value-0": "fr"}
    count = marketer.post("/ui/segments/count", data=french, headers=headers)
    assert count.status_code == 200 and "<html" not in count.text
    assert "<strong>2</strong> contacts match" in count.text
    assert "2 may receive promotional messages" in count.text

    # A second row (added by the builder's button), then a list of values.
    more = marketer.post("/ui/segments", data={"csrf": token, **french, "action": "add"})
    assert 'name="field-1"' in more.text and 'name="rows" value="2"' in more.text
    two = {**french, "rows": "2", "field-1": "first_name", "op-1": "in", "value-1": "Zoé, Bob"}
    count = marketer.post("/ui/segments/count", data=two, headers=headers)
    assert "<strong>1</strong> contacts match" in count.text

    wrong = {"rows": "1", "field-0": "messages_received", "op-0": "gt", "value-0": "many"}
    count = marketer.post("/ui/segments/count", data=wrong, headers=headers)
    assert 'class="problem"' in count.text and "whole number" in count.text

    refused = marketer.post("/ui/segments/count", data=french, headers=HTMX)
    assert refused.status_code == 403

    saved = marketer.post("/ui/segments", data={"csrf": token, "name": "French Zoé", **two})
    assert saved.status_code == 200 and "Segment saved." in saved.text
    with Session(engine) as session:
        segment = session.execute(select(Segment)).scalar_one()
        assert segment.filters == [
            {"field": "language", "op": "eq", "value": "fr"},
            {"field": "first_name", "op": "in", "value": ["Zoé", "Bob"]},
        ]
    deleted = marketer.post(f"/ui/segments/{segment.id}/delete", data={"csrf": token})
    assert "Segment deleted." in deleted.text and "French Zoé" not in deleted.text


def test_a_segment_is_edited_in_the_builder_and_duplicated(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
) -> None:
    _contacts(engine, clock)
    token = csrf(marketer.get("/ui/segments").text)
    rows = {"csrf": token, "rows": "1", "action": "save", "field-0": "language", "op-0": "in"}
    marketer.post("/ui/segments", data={**rows, "name": "Francophones", "value-0": "fr, en"})
    with Session(engine) as session:
        segment_id = session.execute(select(col(Segment.id))).scalar_one()
    listing = marketer.get("/ui/segments").text
    assert f'href="/ui/segments/{segment_id}"' in listing
    form = marketer.get(f"/ui/segments/{segment_id}").text
    assert f'action="/ui/segments/{segment_id}"' in form and "Edit the segment" in form
    assert 'value="Francophones"' in form and 'value="fr, en"' in form
    saved = marketer.post(
        f"/ui/segments/{segment_id}", data={**rows, "name": "Français", "value-0": "fr"}
    )
    assert saved.status_code == 200 and "Segment saved." in saved.text
    with Session(engine) as session:
        segment = session.get(Segment, segment_id)
        assert segment is not None and segment.name == "Français"
        assert segment.filters == [{"field": "language", "op": "in", "value": ["fr"]}]
    bad = marketer.post(f"/ui/segments/{segment_id}", data={**rows, "name": "", "value-0": "fr"})
    assert bad.status_code == 422
    copied = marketer.post(f"/ui/segments/{segment_id}/duplicate", data={"csrf": token})
    assert copied.status_code == 200 and "Segment duplicated." in copied.text
    assert 'value="Français (copy)"' in copied.text
    with Session(engine) as session:
        assert len(session.execute(select(Segment)).all()) == 2


def test_a_page_is_duplicated_from_the_list(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
) -> None:
    token = csrf(marketer.get("/ui/pages").text)
    marketer.post("/ui/pages", data={"csrf": token, "name": "Noël", "language": "fr"})
    listing = marketer.get("/ui/pages").text
    assert 'action="/ui/pages/1/duplicate"' in listing
    copied = marketer.post("/ui/pages/1/duplicate", data={"csrf": token}, follow_redirects=False)
    assert copied.status_code == 303 and copied.headers["location"] == "/ui/pages/2"
    assert "Noël (copy)" in marketer.get("/ui/pages").text


def test_segment_problems_in_french(
    marketer: TestClient,  # noqa: F811
) -> None:
    marketer.headers["Accept-Language"] = "fr"
    token = csrf(marketer.get("/ui/segments").text)
    headers = {**HTMX, "X-CSRF-Token": token}
    wrong = {"rows": "2", "field-0": "language", "op-0": "eq", "value-0": "fr",
             "field-1": "messages_received", "op-1": "gt", "value-1": "beaucoup"}
    count = marketer.post("/ui/segments/count", data=wrong, headers=headers)
    assert "condition 2 : le nombre de messages reçus se compare à un nombre entier de 0 " in (
        html.unescape(count.text)
    )
    unnamed = marketer.post("/ui/segments", data={"csrf": token, "name": "", **wrong,
                                                  "value-1": "3"})
    assert unnamed.status_code == 422
    assert "un segment a besoin d'un nom de 1 à 200 caractères" in html.unescape(unnamed.text)


def test_add_a_sender_number(marketer: TestClient, engine: Engine) -> None:  # noqa: F811
    page = marketer.get("/ui/senders")
    token = csrf(page.text)
    added = marketer.post(
        "/ui/senders",
        data={
            "csrf": token,
            "kind": "alphanumeric",
            "value": "SHOP",
            "rate": "5",
            "type-promotional": "on",
            "type-informational": "on",
        },
    )
    assert added.status_code == 200 and "Sender number added." in added.text
    assert "<td>SHOP</td>" in added.text
    again = marketer.post(
        "/ui/senders",
        data={"csrf": token, "kind": "alphanumeric", "value": "SHOP", "rate": "5"},
    )
    assert again.status_code == 422 and 'class="problem"' in again.text
    with Session(engine) as session:
        sender = session.execute(select(SenderNumber)).scalar_one()
        assert (sender.kind, sender.rate, sender.allowed_types) == (
            "alphanumeric",
            5.0,
            ["promotional", "informational"],
        )


def test_a_sender_number_has_its_country_and_its_own_mentions(
    marketer: TestClient, engine: Engine  # noqa: F811
) -> None:
    token = csrf(marketer.get("/ui/senders").text)
    form = {"csrf": token, "kind": "long_code", "value": "+15145550000", "rate": "5",
            "type-promotional": "on", "country": "ca", "opt_out-en": "Text STOP to quit"}
    added = marketer.post("/ui/senders", data=form)  # fmt: skip
    assert added.status_code == 200 and "Sender number added." in added.text
    assert "<td>CA</td>" in added.text and "Text STOP to quit" in added.text
    with Session(engine) as session:
        sender = session.execute(select(SenderNumber)).scalar_one()
        assert (sender.country, sender.opt_out) == ("CA", {"en": "Text STOP to quit"})
    unknown = marketer.post("/ui/senders", data=form | {"value": "+15145550001", "country": "XX"})
    assert unknown.status_code == 422 and "XX" in unknown.text
    assert 'value="XX"' in unknown.text  # what was typed is kept


def test_library_save_then_start_a_campaign_from_it(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
) -> None:
    page = marketer.get("/ui/messages")
    token = csrf(page.text)
    text = "{{ contact.first_name }}, -20 % ce week-end : {{ link }}"
    saved = marketer.post(
        "/ui/messages",
        data={"csrf": token, "name": "Soldes", "type": "promotional", "text": text},
    )
    assert saved.status_code == 200 and "Message saved." in saved.text
    with Session(engine) as session:
        template_id = session.execute(select(col(MessageTemplate.id))).scalar_one()

    bad = marketer.post(
        "/ui/messages",
        data={"csrf": token, "name": "Oops", "type": "promotional", "text": "{{ contact.shoe }}"},
    )
    assert bad.status_code == 422 and 'class="problem"' in bad.text
    assert "{{ contact.shoe }}" in bad.text  # the text is kept to be corrected

    composer = marketer.get("/ui/campaigns/new")
    assert 'id="start-from"' in composer.text and 'data-type="promotional"' in composer.text
    started = marketer.get(f"/ui/campaigns/new?from={template_id}")
    assert ">{{ contact.first_name }}, -20 % ce week-end : {{ link }}</textarea>" in started.text
    assert 'value="Soldes"' in started.text
    assert marketer.get("/ui/campaigns/new?from=999").status_code == 404

    forged = marketer.post(f"/ui/messages/{template_id}/delete", data={})
    assert forged.status_code == 403
    deleted = marketer.post(f"/ui/messages/{template_id}/delete", data={"csrf": token})
    assert "Message deleted." in deleted.text and "Soldes" not in deleted.text


def test_screens_in_french(marketer: TestClient) -> None:  # noqa: F811
    french = {"Accept-Language": "fr"}
    assert "Nouveau groupe" in marketer.get("/ui/groups", headers=french).text
    segments = marketer.get("/ui/segments", headers=french).text
    assert "Ajouter une condition" in segments and "commence par" in segments
    assert "Ajouter un numéro d" in marketer.get("/ui/senders", headers=french).text
    assert "Enregistrer un message" in marketer.get("/ui/messages", headers=french).text


def test_message_templates_api(api: TestClient) -> None:
    text = "Votre RDV demain, {{ contact.first_name }}"
    body = {"name": "Rappel", "type": "informational", "text": text}
    created = api.post("/api/message-templates", json=body)
    assert created.status_code == 201, created.text
    saved = created.json()
    assert saved["name"] == "Rappel" and saved["created_at"] == saved["updated_at"]
    assert api.post("/api/message-templates", json=body).status_code == 409
    unknown = api.post(
        "/api/message-templates", json={**body, "name": "x", "text": "{{ contact.nope }}"}
    )
    assert unknown.status_code == 422
    assert api.post("/api/message-templates", json={**body, "type": "spam"}).status_code == 422
    listed = api.get("/api/message-templates").json()["message_templates"]
    assert [m["name"] for m in listed] == ["Rappel"]
    assert api.delete(f"/api/message-templates/{saved['id']}").json() == {
        "id": saved["id"],
        "deleted": True,
    }
    assert api.delete(f"/api/message-templates/{saved['id']}").status_code == 404
    assert api.get("/api/message-templates").json() == {"message_templates": []}
    spec = api.get("/openapi.json").json()
    assert "/api/message-templates/{template_id}" in spec["paths"]
