"""One i18n: every string `pybabel extract` finds has its French translation, the catalogues
agree, and numbers, money and dates are Babel's in the viewer's language."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms import i18n
from richsms.settings import Settings
from sender.audience.contacts import CONSENT_TYPES, OPT_IN_EVENT, OPT_OUT_EVENT
from sender.campaigns.states import STATUSES as CAMPAIGN_STATES
from sender.delivery.models import MESSAGE_STATES
from sender.demo import seed_demo
from tests.clock import FrozenClock
from tests.ui_screens import SCREENS as UI_SCREENS

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


def _starting(entry: str, word: str) -> int:
    return sum(1 for line in entry.splitlines() if line.startswith(word))


def test_each_string_is_in_each_catalogue_once_with_its_translation() -> None:
    """Babel reads a repeated msgid, or one left without its msgstr, with a warning only: the
    second entry silently wins, so a French string added twice may lose its translation."""
    for language in i18n.LANGUAGES:
        text = i18n.catalogue_path(language).read_text(encoding="utf-8")
        entries = re.split(r"\n\s*\n", text.strip())
        ids = [entry.split("msgstr", 1)[0] for entry in entries if "msgid" in entry]
        assert [entry for entry in entries if "msgid" in entry and "msgstr" not in entry] == []
        # Two entries run together (a merge that dropped the blank line and a msgstr).
        assert [e for e in entries if _starting(e, "msgid ") != _starting(e, "msgstr ")] == []
        assert sorted(i for i in set(ids) if ids.count(i) > 1) == [], language


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


def test_times_in_the_accounts_zone_days_durations_and_states() -> None:
    moment = datetime(2026, 7, 14, 8, 0, tzinfo=UTC)
    assert i18n.when(moment, "fr", "Europe/Paris") == "14/07/2026 10:00"  # summer: UTC+2
    assert i18n.when(moment, "fr", "America/Montreal") == "14/07/2026 04:00"
    assert i18n.day("2026-10-25", "fr") == "25/10" and i18n.day("2026-10-25", "en") == "10/25"
    assert [i18n.duration(s, "fr") for s in (45, 105.0, 120, 7500, None)] == [
        "45 s", "1 min 45 s", "2 min", "2 h 05 min", "–",
    ]  # fmt: skip
    assert i18n.state("sending", "fr") == "en cours d'envoi"
    assert i18n.state("sending", "en") == "sending"


def test_every_campaign_state_has_its_french() -> None:
    french = i18n.translations("fr")
    assert [s for s in CAMPAIGN_STATES if french.pgettext(i18n.STATE_CONTEXT, s) == s] == []


# --- The French UI as a French marketer sees it --------------------------------------

# Words the French UI once showed in English (machine states, a field's name as its label,
# English formats): none may show again, whichever template or Python module writes it. A
# field's name inside a sentence is how a template writes it ({{ contact.first_name }}).
ENGLISH = re.compile(
    r"\b(draft|sending|done|cancelled|awaiting_approval|approved|scheduled|planning|failed"
    r"|^first_name$|^last_name$|fields\.\w+|is not one of|Time zone|one message per phone number"
    r"|UTC|EUR|\d+\.\d+ s|(?<!\d{4}-)(?:0[1-9]|1[0-2])-(?:[0-2]\d|3[01])(?! min| h))\b"
)
# Every screen bench/ui.py times, the simulator on a French contact's phone (an English
# contact's SMS is rightly English), and the comparison with a campaign chosen.
SCREENS = [
    "/ui/simulator?phone=%2B33612345601" if screen == "/ui/simulator" else screen
    for screen in (
        *UI_SCREENS,
        "/ui/compare?campaigns={campaign}",
        "/ui/contacts/1/edit",
        "/ui/campaigns/{draft}/send",
        "/ui/campaigns/{campaign}/cancel",
    )
]


class _Shown(HTMLParser):
    """The text a person sees or hears on a page in its language: text nodes and read-out
    attributes; scripts, styles and what is marked as another language (an English
    contact's opt-out mention, lang="en") left out."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._hidden = 0
        self._foreign: list[str] = []  # the open elements from one marked foreign, down

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style")
        lang = dict(attrs).get("lang") or ""
        if self._foreign or (lang and not lang.startswith("fr") and tag != "html"):
            self._foreign.append(tag)
            return
        self.texts += [v for k, v in attrs if k in ("title", "aria-label", "placeholder") and v]

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style")
        if tag in self._foreign:
            del self._foreign[len(self._foreign) - self._foreign[::-1].index(tag) - 1 :]

    def handle_data(self, data: str) -> None:
        if not self._hidden and not self._foreign and data.strip():
            self.texts.append(data.strip())


def shown_texts(page: str) -> list[str]:
    parser = _Shown()
    parser.feed(page)
    return parser.texts


def english_in(texts: list[str]) -> list[str]:
    """The texts that are English in a French page: an English msgid whose French differs,
    shown untranslated, or a word of the ENGLISH list."""
    french = i18n.translations("fr")
    # A merge template ({{ contact.first_name }}) is the marketer's own text, as written.
    return [t for t in texts if french.gettext(t) != t or (ENGLISH.search(t) and "{{" not in t)]


def test_a_shown_english_word_is_named() -> None:
    page = '<p>Campagnes</p><span class="tag">sending</span><p title="Sign in">1.20 EUR</p>'
    assert english_in(shown_texts(page)) == ["sending", "Sign in", "1.20 EUR"]
    assert shown_texts('<ul><li lang="en"><code>Reply STOP</code></li><li>STOP</li></ul>') == [
        "STOP"
    ]
    chips = "<button>first_name</button><p>Champs connus : first_name, city</p><i>10-25</i>"
    assert english_in(shown_texts(chips)) == ["first_name", "10-25"]


def test_every_screen_of_the_demo_is_french_throughout(
    client: TestClient, engine: Engine, settings: Settings, clock: FrozenClock
) -> None:
    """Each screen of the marketers' UI, as the demo fills it, rendered in French by the
    real app: no English sentence of the catalogues, state, field name or English format
    shows; nor does a segment or a block refused for a bad value."""
    demo = seed_demo(engine=engine, settings=settings, now=clock.now())
    assert demo is not None
    client.headers["Accept-Language"] = "fr-FR,fr;q=0.9"
    form = client.get("/ui/signin").text
    signed = client.post(
        "/ui/signin",
        data={"csrf": _csrf(form), "email": demo.email, "password": demo.password},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    ids = {"campaign": demo.campaign_id, "draft": demo.campaign_id + 1, "page": demo.page_id}
    found: dict[str, list[str]] = {}
    for screen in SCREENS:
        answer = client.get(screen.format(**ids))
        assert answer.status_code == 200, screen
        found[screen] = english_in(shown_texts(answer.text))
    token = _csrf(client.get("/ui/segments").text)
    refused = client.post(
        "/ui/segments",
        data={"csrf": token, "rows": "1", "name": "Abonnés", "field-0": "status",
              "op-0": "eq", "value-0": "inconnu"},
    )  # fmt: skip
    found["refused segment"] = english_in(shown_texts(refused.text))
    assert "statut inconnu" in refused.text
    workspace = client.get(f"/ui/pages/{demo.page_id}").text
    heading = re.findall(r"/blocks/(b[0-9a-f]+)", workspace)[0]
    for text in ("Bonjour {{ contact.pointure }}", "Bonjour {{ contact.first_name "):
        block = client.post(
            f"/ui/pages/{demo.page_id}/blocks/{heading}",
            data={"csrf": _csrf(workspace), "text": text, "level": "1"},
            headers={"HX-Request": "true"},
        )
        assert block.status_code == 422
        found[f"refused block: {text}"] = english_in(shown_texts(block.text))
        told = [t for t in shown_texts(block.text) if "Champ inconnu" in t or "Erreur de" in t]
        assert told, text  # the refusal is told, in French
    assert {screen: texts for screen, texts in found.items() if texts} == {}, [
        (s, t) for s, t in found.items() if t
    ]
    dashboard = client.get("/ui/").text
    latest = shown_texts(dashboard.split('id="latest-figures"')[1].split("</table>")[0])
    # The last campaigns' figures lead: sent, delivered, human CTR, redemptions, opt-outs.
    assert latest[latest.index("Soldes de Noël") :][:7] == [
        "Soldes de Noël", "en cours d'envoi", "24", "24", "70,8 %", "4", "1",
    ]  # fmt: skip
    results = shown_texts(client.get(f"/ui/campaigns/{demo.campaign_id}").text)
    assert {"1,20\u00a0€", "1 min 45 s", "Exporter les messages (Excel France)"} <= set(results)
    # The favicon on the UI's pages and the recipients' (their page, here its preview).
    assert dashboard.count('rel="icon" href="/static/favicon.svg"') == 1
    landing = client.get(f"/ui/pages/{demo.page_id}/preview").text
    assert landing.count('rel="icon" href="/static/favicon.svg"') == 1
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)
