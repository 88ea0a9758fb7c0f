"""The one composition path: template, fields, link, opt-out mention naming the real
sender number in the recipient's language, exact analysis, and the segment limit."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender.audience.contacts import create_contact, record_consent
from sender.audience.groups import ContactRefs, add_members, create_group
from sender.audience.models import Contact
from sender.campaigns.campaign import CampaignSpec, create_campaign
from sender.campaigns.models import Campaign
from sender.campaigns.unitary import CampaignTestSend, prepare_test
from sender.compose.composition import TOO_MANY_SEGMENTS, Composer
from sender.compose.templates import TemplateError
from sender.delivery.senders import create_sender
from tests.clock import FrozenClock

SETTINGS = Settings.from_mapping(
    {"RICHSMS_SHORT_URL": "https://ex.co/", "RICHSMS_OPT_OUT_FR": "STOP au 36180"}
)


def composer(source: str, *, type: str = "promotional", sender: str | None = None) -> Composer:
    return Composer(source=source, is_template=True, type=type, sender=sender, settings=SETTINGS)


def test_a_french_canadian_recipient_is_told_to_text_the_canadian_number() -> None:
    canadian = composer("Soldes {{ contact.first_name }} {{ link }}", sender="+15145550199")

    composed = canadian.compose(
        {"first_name": "Élodie"}, language="fr-CA", link="https://ex.co/Ab3x9"
    )

    assert composed.text == "Soldes Élodie https://ex.co/Ab3x9\nSTOP au +15145550199"
    assert "36180" not in composed.text
    assert (composed.encoding, composed.segments) == ("GSM-7", 1)  # É is GSM-7
    english = canadian.compose({"first_name": "Ann"}, language="en", link="x")
    assert english.text.endswith("\nReply STOP to opt out")


def test_without_a_sender_number_the_configured_mention_stays() -> None:
    text = composer("Soldes").compose({}, language="fr", link="").text

    assert text == "Soldes\nSTOP au 36180"


def test_an_alphanumeric_sender_keeps_the_configured_mention() -> None:
    text = composer("Soldes", sender="BOUTIQUE").compose({}, language="fr", link="").text

    assert text == "Soldes\nSTOP au 36180"


def test_informational_messages_carry_no_mention() -> None:
    composed = composer("Votre colis arrive", type="informational").compose(
        {}, language="fr", link=""
    )

    assert composed.text == "Votre colis arrive"
    assert (composed.characters, composed.units, composed.segments) == (18, 18, 1)


def test_a_message_past_the_segment_limit_is_refused() -> None:
    limited = Composer(
        source="{{ contact.note }}",
        is_template=True,
        type="informational",
        sender=None,
        settings=SETTINGS.replace(max_segments=2),
        custom_fields=("note",),
    )

    assert limited.compose({"note": "a" * 306}, language="en", link="").segments == 2
    with pytest.raises(InvalidInput) as raised:
        limited.compose({"note": "a" * 307}, language="en", link="")

    assert raised.value.code == TOO_MANY_SEGMENTS
    assert "3 SMS segments" in raised.value.message


def test_a_runaway_template_is_a_template_error() -> None:
    runaway = composer("{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% endfor %}{% endfor %}")

    with pytest.raises(TemplateError) as raised:
        runaway.compose({}, language="en", link="")
    assert raised.value.over_budget


def test_a_draft_is_finished_with_the_link_without_rendering_again() -> None:
    plain = composer("Hi {{ contact.first_name }}: {{ link }}", type="informational")

    draft = plain.draft({"first_name": "Zoé"}, language="fr")

    assert draft.with_marker is not None
    assert draft.finish("https://ex.co/Q1").text == "Hi Zoé: https://ex.co/Q1"


def test_a_draft_of_a_template_that_transforms_the_link_renders_again() -> None:
    shouting = composer("{{ link|upper }} {{ link }}", type="informational")

    draft = shouting.draft({}, language="en")

    assert draft.with_marker is None
    assert draft.finish("https://ex.co/q1").text == "HTTPS://EX.CO/Q1 https://ex.co/q1"


def test_a_draft_is_refused_when_too_long_already() -> None:
    long = Composer(
        source="{{ link }}" + "a" * 1600,
        is_template=True,
        type="informational",
        sender=None,
        settings=SETTINGS,
    )

    with pytest.raises(InvalidInput):
        long.draft({}, language="en")


def test_for_campaign_names_the_campaigns_sender(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    with Session(engine) as session:
        sender = create_sender(
            session=session,
            clock=clock,
            kind="long_code",
            value="+15145550199",
            rate=5,
            allowed_types=["promotional"],
        )
        campaign = Campaign(
            name="Soldes",
            type="promotional",
            template="Soldes {{ contact.first_name }}",
            sender_id=sender.id,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        found = Composer.for_campaign(session=session, campaign=campaign, settings=settings)

    assert not found.uses_link
    assert found.compose({"first_name": "Luc"}, language="fr", link="").text == (
        "Soldes Luc\n" + settings.opt_out_fr.replace("36180", "+15145550199")
    )


def seed_french_audience(session: Session, clock: FrozenClock) -> int:
    group = create_group(session=session, name="Clients", clock=clock)
    assert group.id is not None
    for phone, first_name, language in (
        ("+15145550101", "Amélie", "fr"),
        ("+15145550102", "Benoît", "fr"),
        ("+14165550103", "Carol", "en"),
    ):
        contact = create_contact(
            session=session,
            phone=phone,
            clock=clock,
            region="CA",
            first_name=first_name,
            language=language,
        )
        record_consent(
            session=session, contact=contact, consent_type="express", source="test", clock=clock
        )
    session.commit()
    add_members(
        session=session,
        group_id=group.id,
        clock=clock,
        contacts=ContactRefs(
            region="CA", phones=["+15145550101", "+15145550102", "+14165550103"]
        ),
    )
    return group.id


def test_a_test_send_renders_a_sample_recipient_in_the_audiences_language(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    with Session(engine) as session:
        group_id = seed_french_audience(session, clock)
        campaign = Campaign(
            name="Soldes",
            type="promotional",
            template="Bonjour {{ contact.first_name }}",
            group_ids=[group_id],
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(campaign)
        session.commit()
        assert campaign.id is not None

        # The tester's phone is no contact: a sample recipient, in French, not an empty
        # contact with the English mention.
        sample = prepare_test(
            session=session,
            settings=settings,
            test=CampaignTestSend(campaign_id=campaign.id, phone="+33612345678"),
        )
        # The tester's phone belongs to a contact: still the sample, never that contact's
        # name sent to whoever typed the number.
        typed = prepare_test(
            session=session,
            settings=settings,
            test=CampaignTestSend(campaign_id=campaign.id, phone="+14165550103"),
        )
        # The marketer picks a contact: that contact, in their language.
        carol = session.exec(select(Contact).where(Contact.phone == "+14165550103")).one()
        named = prepare_test(
            session=session,
            settings=settings,
            test=CampaignTestSend(
                campaign_id=campaign.id, phone="+33612345678", contact_id=carol.id
            ),
        )

    assert sample.draft.finish("").text == f"Bonjour Camille\n{settings.opt_out_fr}"
    assert sample.is_test
    assert typed.draft.finish("").text == f"Bonjour Camille\n{settings.opt_out_fr}"
    assert named.draft.finish("").text == f"Bonjour Carol\n{settings.opt_out_en}"


def test_a_campaign_too_long_for_every_recipient_is_refused_when_saved(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    with Session(engine) as session:
        group_id = seed_french_audience(session, clock)
        runaway = "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% endfor %}{% endfor %}"
        for template in ("a" * 1600, runaway):
            spec = CampaignSpec(
                name="Trop long", type="informational", template=template, group_ids=[group_id]
            )
            with pytest.raises(InvalidInput):
                create_campaign(
                    session=session, clock=clock, spec=spec, created_by=None, settings=settings
                )
        # A template failing only for some values is saved: those recipients get an error.
        spec = CampaignSpec(
            name="Points",
            type="informational",
            template="{{ contact.points + 1 }}",
            group_ids=[group_id],
            custom_fields=("points",),
        )
        assert create_campaign(
            session=session, clock=clock, spec=spec, created_by=None, settings=settings
        ).id
