"""Identification: a promotional text that does not name the account's brand is warned of
(Canada's anti-spam law); case, accents and spacing aside; other types and an account
without a brand are not checked."""

from __future__ import annotations

from richsms import i18n
from sender.compose.identification import BRAND_MISSING, identification_warning


def test_a_promotional_text_without_the_brand_is_warned_of_in_the_viewers_language() -> None:
    warning = identification_warning(
        "-20 % sur tout ce week-end ! {{ link }}", type="promotional", brand="Café Rouge"
    )
    assert warning is not None and warning.code == BRAND_MISSING
    assert "Café Rouge" in warning.message and "anti-spam law" in warning.message
    french = warning.told(lambda text: i18n.gettext("fr", text))
    assert "Café Rouge" in french and "loi canadienne anti-pourriel" in french
    assert warning.as_dict() == {"code": BRAND_MISSING, "message": warning.message}


def test_the_brand_is_found_whatever_its_case_accents_and_spacing() -> None:
    for text in (
        "Café Rouge : -20 % ce week-end",
        "CAFE  ROUGE: -20% this weekend",
        "{{ contact.first_name }}, cafe rouge vous offre -20 %",
    ):
        assert identification_warning(text, type="promotional", brand="Café Rouge") is None


def test_other_types_and_an_account_without_a_brand_are_not_checked() -> None:
    text = "Votre commande est prête."
    for kind in ("informational", "administrative"):
        assert identification_warning(text, type=kind, brand="Café Rouge") is None
    assert identification_warning(text, type="promotional", brand=None) is None
    assert identification_warning(text, type="promotional", brand="  ") is None
