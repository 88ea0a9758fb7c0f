from __future__ import annotations

import pytest

from richsms.errors import InvalidInput
from sender.compose.encoding import analyze
from sender.compose.optout_mention import OptOutTexts, name_sender, with_opt_out

TEXTS = OptOutTexts(en="Reply STOP to opt out", fr="STOP au 36111")


@pytest.mark.parametrize(
    ("language", "mention"),
    [
        ("fr", "STOP au 36111"),
        ("FR", "STOP au 36111"),
        ("fr-CA", "STOP au 36111"),
        ("fr_FR", "STOP au 36111"),
        ("en", "Reply STOP to opt out"),
        ("de", "Reply STOP to opt out"),
        ("fry", "Reply STOP to opt out"),
        ("", "Reply STOP to opt out"),
        (None, "Reply STOP to opt out"),
    ],
)
def test_mention_in_the_contacts_language(language: str | None, mention: str) -> None:
    assert TEXTS.for_language(language) == mention


def test_mention_is_appended_on_its_own_line() -> None:
    assert with_opt_out("-20% ce week-end", language="fr", texts=TEXTS) == (
        "-20% ce week-end\nSTOP au 36111"
    )
    assert with_opt_out("20% off", language="en", texts=TEXTS) == "20% off\nReply STOP to opt out"


def test_mention_already_there_is_not_duplicated() -> None:
    body = "-20% ce week-end\nSTOP au 36111"

    assert with_opt_out(body, language="fr", texts=TEXTS) == body


def test_no_blank_line_when_the_body_already_ends_a_line() -> None:
    assert with_opt_out("Promo\n", language="fr", texts=TEXTS) == "Promo\nSTOP au 36111"
    assert with_opt_out("", language="fr", texts=TEXTS) == "STOP au 36111"


def test_mention_is_counted_in_the_message() -> None:
    body = "x" * 150

    result = analyze(with_opt_out(body, language="fr", texts=TEXTS))

    assert result.characters == 150 + 1 + len("STOP au 36111")
    assert result.segments == 2


def test_mention_can_force_ucs2() -> None:
    texts = OptOutTexts(en="STOP", fr="Désinscription : ARRÊT")

    assert analyze(with_opt_out("Promo", language="fr", texts=texts)).encoding == "UCS-2"
    assert analyze(with_opt_out("Promo", language="en", texts=texts)).encoding == "GSM-7"


def test_empty_mention_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        OptOutTexts(en="STOP", fr="  ")


@pytest.mark.parametrize(
    ("mention", "sender", "named"),
    [
        ("STOP au 36180", "+15145550199", "STOP au +15145550199"),
        ("STOP au 36180", None, "STOP au 36180"),
        ("STOP au 36180", "BOUTIQUE", "STOP au 36180"),  # cannot be replied to
        ("Reply STOP to opt out", "+15145550199", "Reply STOP to opt out"),
        ("Text STOP to {sender}", "36111", "Text STOP to 36111"),
        ("STOP au {sender}", None, "STOP au"),
        ("Reply STOP to +1 514 555 0100", "+15145550199", "Reply STOP to +15145550199"),
    ],
)
def test_the_mention_names_the_sender_number(mention: str, sender: str | None, named: str) -> None:
    assert name_sender(mention, sender) == named


def test_texts_naming_a_sender_keep_each_language() -> None:
    named = TEXTS.naming("+15145550199")

    assert named.for_language("fr-CA") == "STOP au +15145550199"
    assert named.for_language("en") == "Reply STOP to opt out"
