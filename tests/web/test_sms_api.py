from __future__ import annotations

from sqlalchemy import Engine, update
from sqlmodel import col
from starlette.testclient import TestClient

from richsms.db import session_scope
from sender.audience.contacts import create_contact, record_consent
from sender.audience.groups import ContactRefs, add_members, create_group
from sender.audience.models import Contact
from tests.clock import FrozenClock


def test_plain_text_analysis(api: TestClient) -> None:
    response = api.post("/api/sms/analyze", json={"text": "a" * 152 + "€" + "a" * 152})
    assert response.status_code == 200
    body = response.json()
    assert (body["encoding"], body["units"], body["segments"]) == ("GSM-7", 306, 3)


def test_the_characters_forcing_ucs2_are_named_with_suggestions(api: TestClient) -> None:
    body = api.post("/api/sms/analyze", json={"text": "Offre spéciale – l’été ça brille"}).json()
    assert body["encoding"] == "UCS-2"
    assert body["non_gsm"] == ["–", "’", "ç"]
    suggestions = body["suggestions"]
    assert suggestions["after"]["encoding"] == "GSM-7"
    originals = [r["original"] for r in suggestions["replacements"]]
    assert originals == ["–", "’", "ç"]


def test_template_estimate_counts_link_and_opt_out(api: TestClient) -> None:
    body = api.post(
        "/api/sms/analyze",
        json={
            "text": 'Hi {{ contact.first_name | default("there") }} {{ link }}',
            "field_lengths": {"first_name": [3, 10]},
        },
    ).json()
    assert body["template"] == {"fields": ["first_name"], "uses_link": True}
    estimate = body["estimate"]
    link = len("https://ex.co/") + 9
    mention = len("\nReply STOP to opt out")
    assert estimate["min_length"] == len("Hi ") + 3 + 1 + link + mention
    assert estimate["max_length"] == len("Hi ") + 10 + 1 + link + mention


def test_informational_messages_carry_no_opt_out(api: TestClient) -> None:
    body = api.post(
        "/api/sms/analyze", json={"text": "Your order shipped", "type": "informational"}
    ).json()
    assert body["estimate"]["max_length"] == len("Your order shipped")


def test_audience_distribution(api: TestClient) -> None:
    body = api.post(
        "/api/sms/analyze",
        json={
            "text": "Bonjour {{ contact.first_name }} !",
            "type": "informational",
            "audience": {
                "contacts": [
                    {"first_name": "Marie", "language": "fr"},
                    {"first_name": "François", "language": "fr"},
                    {"first_name": "Zoé" * 60, "language": "fr"},
                ]
            },
        },
    ).json()
    audience = body["audience"]
    assert audience["recipients"] == 3
    assert audience["format"] == "variable"
    groups = {(g["encoding"], g["segments"]): g["recipients"] for g in audience["distribution"]}
    assert groups == {("GSM-7", 1): 1, ("UCS-2", 1): 1, ("GSM-7", 2): 1}
    assert audience["total_segments"] == 4


def test_unknown_field_is_a_clear_422(api: TestClient) -> None:
    response = api.post("/api/sms/analyze", json={"text": "Hi\n{{ contact.frist_name }}"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert "frist_name" in error["message"] and "line 2" in error["message"]


def test_custom_fields_are_accepted_when_declared(api: TestClient) -> None:
    response = api.post(
        "/api/sms/analyze", json={"text": "{{ contact.city }}", "custom_fields": ["city"]}
    )
    assert response.status_code == 200


def test_bad_bodies(api: TestClient) -> None:
    assert (
        api.post(
            "/api/sms/analyze", content=b"{", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert api.post("/api/sms/analyze", json=["text"]).status_code == 400
    missing = api.post("/api/sms/analyze", json={"txt": "x"})
    assert missing.status_code == 422
    assert "text" in missing.json()["error"]["message"]
    assert (
        api.post(
            "/api/sms/analyze",
            content=b"text=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ).status_code
        == 415
    )
    huge = api.post("/api/sms/analyze", json={"text": "x" * 6000})
    assert huge.status_code == 422


def test_a_body_over_the_limit_is_413(api: TestClient, app: object) -> None:
    big = b'{"text": "' + b"x" * 11_000_000 + b'"}'
    response = api.post(
        "/api/sms/analyze", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_field_lengths_are_bounded(api: TestClient) -> None:
    template = "Hi {{ contact.first_name }}"
    huge = api.post(
        "/api/sms/analyze",
        json={"text": template, "field_lengths": {"first_name": [0, 100_000_000]}},
    )
    many = api.post(
        "/api/sms/analyze",
        json={"text": template, "field_lengths": {f"f{i}": [0, 1] for i in range(10_000)}},
    )

    assert huge.status_code == 422
    assert many.status_code == 422


def test_a_runaway_template_is_a_clear_422(api: TestClient) -> None:
    for text in (
        "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% endfor %}{% endfor %}",
        "{{ 'a'|center(20000000) }}",
    ):
        response = api.post(
            "/api/sms/analyze",
            json={"text": text, "audience": {"contacts": [{"first_name": "a"}] * 50}},
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "template_error"


def test_messages_past_the_segment_limit_are_errors_in_the_audience(api: TestClient) -> None:
    body = api.post(
        "/api/sms/analyze",
        json={
            "text": "{{ contact.note }}",
            "type": "informational",
            "custom_fields": ["note"],
            "audience": {"contacts": [{"note": "a" * 1530}, {"note": "a" * 1531}]},
        },
    ).json()

    audience = body["audience"]
    assert audience["recipients"] == 2 and audience["errors"] == 1
    assert audience["distribution"] == [{"encoding": "GSM-7", "segments": 10, "recipients": 1}]
    assert "11 segments" in audience["error_samples"][0]["reason"]


def test_the_mention_names_the_chosen_sender(api: TestClient) -> None:
    sender = api.post(
        "/api/senders",
        json={"kind": "short_code", "value": "36111", "rate": 5, "allowed_types": ["promotional"]},
    )
    assert sender.status_code == 201, sender.text
    body = api.post(
        "/api/sms/analyze",
        json={
            "text": "Soldes",
            "sender_id": sender.json()["id"],
            "audience": {"contacts": [{"language": "fr"}]},
        },
    ).json()

    assert body["audience"]["max_length"] == len("Soldes\nSTOP au 36111")


def test_one_contact_with_a_huge_value_is_an_error_not_the_whole_analysis(
    api: TestClient,
) -> None:
    contacts = [{"first_name": "Zoé"}, {"first_name": "x" * 20_000}, {"first_name": "Luc"}]
    response = api.post(
        "/api/sms/analyze",
        json={"text": "Hi {{ contact.first_name }}", "audience": {"contacts": contacts}},
    )

    assert response.status_code == 200, response.text
    audience = response.json()["audience"]
    assert (audience["recipients"], audience["errors"]) == (3, 1)
    assert audience["error_samples"][0]["index"] == 1


def test_the_audience_is_narrowed_to_the_recipients_of_a_translations_language(
    api: TestClient,
) -> None:
    contacts = [
        {"first_name": "Zoé", "phone": "+33612345601"},  # France: French
        {"first_name": "Luc", "phone": "+15145550101"},  # Montréal: French
        {"first_name": "Ann", "phone": "+14165550101"},  # Toronto: English
        {"first_name": "Bob", "phone": "+15145550102", "language": "en"},  # his own
    ]
    body = {"text": "Hi {{ contact.first_name }}", "audience": {"contacts": contacts}}
    everyone = api.post("/api/sms/analyze", json=body).json()["audience"]
    assert everyone["recipients"] == 4
    english = api.post("/api/sms/analyze", json=body | {"languages": ["en"]}).json()
    assert english["audience"]["recipients"] == 2
    french = api.post("/api/sms/analyze", json=body | {"languages": ["fr"]}).json()
    assert french["audience"]["recipients"] == 2
    refused = api.post("/api/sms/analyze", json=body | {"languages": ["de"]})
    assert refused.status_code == 422 and "languages" in refused.text


def test_a_contact_without_a_language_gets_their_numbers_mention(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    """As planning addresses them: a Québec number in French, an Ontario one in English."""
    groups = {}
    with session_scope(engine) as session:
        for name, phone, language in (
            ("quebec", "+15145550101", None),
            ("ontario", "+14165550101", None),
            ("french", "+15145550102", "fr"),
            ("english", "+15145550103", "en"),
        ):
            contact = create_contact(
                session=session, phone=phone, clock=clock, region="CA", language=language
            )
            record_consent(
                session=session,
                contact=contact,
                consent_type="express",
                source="shop",
                clock=clock,
            )
            session.flush()
            session.execute(
                update(Contact).where(col(Contact.id) == contact.id).values(language=language)
            )
            group = create_group(session=session, name=name, clock=clock)
            assert contact.id is not None and group.id is not None
            add_members(
                session=session,
                group_id=group.id,
                clock=clock,
                contacts=ContactRefs(region="CA", contact_ids=[contact.id]),
            )
            groups[name] = group.id

    def longest(name: str) -> int:
        answer = api.post(
            "/api/sms/analyze",
            json={"text": "Soldes", "type": "promotional", "audience": {"groups": [groups[name]]}},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["audience"]["recipients"] == 1
        return int(answer.json()["audience"]["max_length"])

    assert longest("french") != longest("english")  # the two mentions differ in length
    assert longest("quebec") == longest("french")
    assert longest("ontario") == longest("english")
