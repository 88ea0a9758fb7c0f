"""One i18n: every string `pybabel extract` finds has its French translation, the catalogues
agree, and numbers, money and dates are Babel's in the viewer's language."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from richsms import i18n
from sender.audience.contacts import CONSENT_TYPES, OPT_IN_EVENT, OPT_OUT_EVENT
from sender.delivery.models import MESSAGE_STATES

ROOT = Path(__file__).resolve().parents[2]


def extracted(root: Path) -> set[tuple[str, str | None]]:
    """(msgid, context) of every string under `root` as `pybabel extract -F babel.cfg` sees
    them."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[tuple[str, str | None]] = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        root, method_map, options_map
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.add((msgid, context))
    return found


def untranslated(root: Path) -> list[str]:
    """The extracted strings the French catalogue leaves untranslated."""
    with i18n.catalogue_path("fr").open("rb") as po:
        french = read_po(po, locale="fr")
    missing = []
    for msgid, context in sorted(extracted(root), key=lambda m: m[0]):
        entry = french.get(msgid, context)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(msgid)
    return missing


def test_every_string_shown_has_its_french_translation() -> None:
    assert untranslated(ROOT) == []


def test_a_new_string_without_french_is_named(tmp_path: Path) -> None:
    templates = tmp_path / "web" / "templates" / "ui"
    templates.mkdir(parents=True)
    (templates / "planted.html").write_text(
        '<p>{{ _("Campaigns") }} {{ _("A planted sentence nobody translated") }}</p>\n'
        "{% trans %}Planted in a trans block{% endtrans %}\n"
    )
    (tmp_path / "web" / "planted.py").write_text(
        'from richsms.i18n import N_\n\nLABEL = N_("A planted label")\n'
    )
    assert untranslated(tmp_path) == [
        "A planted label",
        "A planted sentence nobody translated",
        "Planted in a trans block",
    ]


# Text a template may show as is: names, merge-field names and examples, not sentences.
AS_IS = {
    "richsms",
    "· richsms",
    "link",
    "SMS",
    "https://shop.example/soldes",
    "STOP, AIDE…",
    "+33612345678 · 38001 · SHOP",
}
_QUOTED = r"\"[^\"]*\"|'[^']*'"  # a string in an expression may hold }} or %}
_JINJA = re.compile(
    r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}"  # a trans block is marked, words and all
    rf"|\{{#.*?#\}}|\{{\{{(?:{_QUOTED}|[^\"'])*?\}}\}}|\{{%(?:{_QUOTED}|[^\"'])*?%\}}",
    re.S,
)
_UNSHOWN = re.compile(r"<(style|script|svg)\b.*?</\1>", re.S)
_SHOWN_ATTRIBUTE = re.compile(r'(?:aria-label|title|placeholder|alt)="([^"]*)"')


def unmarked(template: str) -> list[str]:
    """Words a template shows without `_()`: its text and its read-out attributes, once the
    Jinja expressions and tags (where `_()` is) are taken out."""
    source = _UNSHOWN.sub("", _JINJA.sub(" ", template))
    shown = _SHOWN_ATTRIBUTE.findall(source) + re.split(r"<[^>]*>", source)
    words = (part.strip() for text in shown for part in re.split(r"\s{2,}|\n", text))
    return [w for w in words if re.search(r"[A-Za-z]{2,}", w) and w not in AS_IS]


def test_templates_show_no_unmarked_words() -> None:
    templates = [
        *(ROOT / "web" / "templates").rglob("*.html"),
        *(ROOT / "landing_templates").rglob("*.html"),
    ]
    assert len(templates) > 30
    found = {str(t.relative_to(ROOT)): unmarked(t.read_text()) for t in templates}
    assert {name: words for name, words in found.items() if words} == {}


def test_an_unmarked_word_is_named() -> None:
    planted = '<label for="x" title="{{ _(\'Kept\') }}">{{ _("Name") }}</label> Time zone'
    assert unmarked(planted) == ["Time zone"]
    assert unmarked('<input aria-label="start">') == ["start"]
    assert unmarked("<p>{% trans n=3 %}Marked {{ n }} times{% endtrans %}</p>") == []


def test_the_catalogues_hold_the_same_strings_and_french_translates_each() -> None:
    catalogues = {}
    for language in i18n.LANGUAGES:
        with i18n.catalogue_path(language).open("rb") as po:
            catalogues[language] = read_po(po, locale=language)
    french, english = catalogues["fr"], catalogues["en"]
    assert {(m.id, m.context) for m in french if m.id} == {
        (m.id, m.context) for m in english if m.id
    }
    assert [m.id for m in french if m.id and (not m.string or m.fuzzy)] == []
    assert [m.id for m in english if m.id and m.string] == []  # English is the msgids


def test_every_state_a_contact_page_shows_has_its_french() -> None:
    """The contact page names each message's state and consent event (data, translated by
    pgettext): a new one without French would show in English."""
    french = i18n.translations("fr")
    shown = [("message state", s) for s in MESSAGE_STATES] + [
        ("consent", kind) for kind in (*CONSENT_TYPES, OPT_OUT_EVENT, OPT_IN_EVENT)
    ]
    assert [(c, s) for c, s in shown if french.pgettext(c, s) == s] == []
    assert french.pgettext("message state", "delivered") == "délivré"


def test_gettext_in_each_language() -> None:
    assert i18n.gettext("fr", "Sign in") == "Se connecter"
    assert i18n.gettext("en", "Sign in") == "Sign in"
    assert i18n.gettext("de", "Sign in") == "Sign in"  # a language we lack: English
    assert i18n.gettext("fr", "Not in the catalogue") == "Not in the catalogue"


def test_numbers_money_and_dates_in_the_viewers_locale() -> None:
    moment = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    # Babel writes French with a no-break space before € and a narrow one between thousands.
    assert i18n.money(Decimal("1.15"), "EUR", "fr") == "1,15\u00a0€"
    assert i18n.money("1.15", "EUR", "en") == "€1.15"
    assert i18n.when(moment, "fr") == "07/12/2026 08:00 UTC"
    assert i18n.when(moment.replace(tzinfo=None), "fr") == "07/12/2026 08:00 UTC"
    assert i18n.when(moment, "en") == "12/7/26, 8:00\u202fAM UTC"
    assert i18n.number(1234567, "fr") == "1\u202f234\u202f567"
    assert i18n.number(1234567, "en") == "1,234,567"
    assert i18n.percent(0.125, "fr") == "12,5 %" and i18n.percent(1.0, "en") == "100.0 %"
    assert i18n.number(None, "fr") == i18n.percent(None, "en") == i18n.money(None, "EUR", "fr")
    assert i18n.when(None, "fr") == ""
