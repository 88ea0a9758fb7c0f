"""Every word richsms shows a person, in French or English: gettext catalogues
(`richsms/locale/<language>/LC_MESSAGES/messages.po`, English sentences as msgids) read with
Babel, and Babel's number, money and date formats for the same language.

The UI, the staff page, the landing pages and the short links' error pages all translate
through here; `pybabel extract -F babel.cfg` finds their strings (`_()`/`gettext()` in
Python, `_()` and `{% trans %}` in Jinja). The catalogues are read from their `.po` files
once per process: there is no compile step to forget, and the wheel ships the `.po` files.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

LANGUAGES = ("fr", "en")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


def N_(text: str) -> str:
    """Marks a sentence for `pybabel extract` where it is defined; it is translated where
    it is shown."""
    return text


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> Translations:
    """The catalogue of `language` (English, the msgids, for any language we lack)."""
    if language not in LANGUAGES:
        language = DEFAULT
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)  # untranslated and fuzzy entries fall back to the msgid
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@cache
def known_messages() -> frozenset[str]:
    """Every msgid of the catalogues: the words the product itself says."""
    with catalogue_path("fr").open("rb") as po:
        return frozenset(str(m.id) for m in read_po(po, locale="fr") if m.id)


def gettext(language: str, text: str) -> str:
    return translations(language).gettext(text)


def install(env: Environment) -> None:
    """Gives `env` gettext (`jinja2.ext.i18n`: `_()`, `{% trans %}`) and Babel's formats as
    filters (`number`, `percent`, `money(currency)`, `when`, `day`, `duration`, `state`),
    all in the language each render names: its context holds `lang` and
    `jinja_context(lang)`, and `zone` (the account's time zone; UTC when absent)."""
    env.add_extension("jinja2.ext.i18n")
    env.filters.update(
        when=_when,
        percent=_percent,
        number=_number,
        money=_money,
        day=_day,
        duration=_duration,
        state=_state,
    )


@cache
def jinja_context(language: str) -> Mapping[str, Any]:
    """What `jinja2.ext.i18n` calls in a template (`_`, `gettext`, `{% trans %}`), bound to
    one language for one render."""
    catalogue = translations(language)
    return MappingProxyType(
        {
            "gettext": catalogue.gettext,
            "ngettext": catalogue.ngettext,
            "pgettext": catalogue.pgettext,
            "npgettext": catalogue.npgettext,
        }
    )


def locale_of(language: str) -> str:
    return language if language in LANGUAGES else DEFAULT


def number(value: float | int | Decimal | None, language: str) -> str:
    """1 234 (fr) or 1,234 (en); a dash for no value."""
    if value is None:
        return "–"
    return format_decimal(value, locale=locale_of(language))


def percent(value: float | None, language: str) -> str:
    """A ratio as a percentage with one decimal (12,5 % in French, 12.5 % in English)."""
    if value is None:
        return "–"
    return f"{format_decimal(value * 100, format='#,##0.0', locale=locale_of(language))} %"


def money(value: float | Decimal | str | None, currency: str, language: str) -> str:
    """1,15 € (fr) or €1.15 (en); a dash for no value."""
    if value is None:
        return "–"
    return format_currency(value, currency, locale=locale_of(language))


def when(moment: datetime | None, language: str, zone: str = "UTC") -> str:
    """An instant as the language writes a short date and time in `zone`, the account's
    time zone (07/12/2026 09:00 in Paris; 07/12/2026 08:00 UTC when the zone is UTC)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # the database's instants are UTC
        moment = moment.replace(tzinfo=UTC)
    shown = format_datetime(moment, "short", tzinfo=ZoneInfo(zone), locale=locale_of(language))
    return f"{shown} UTC" if zone == "UTC" else shown


def day(value: date | str, language: str) -> str:
    """A day without its year as the language writes it: 25/10 in French, 10/25 in
    English (an ISO date string is read first)."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return format_skeleton("dM", value, locale=locale_of(language))


def duration(seconds: float | int | None, language: str) -> str:
    """A duration in hours, minutes and seconds (1 min 45 s; 2 h 05 min); a dash for none."""
    if seconds is None:
        return "–"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{number(hours, language)} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    return f"{secs} s"


STATE_CONTEXT = "campaign state"


def state(status: str, language: str) -> str:
    """A campaign's state (`sending`, `done`…) in the language: the API keeps the machine
    word, a person reads this."""
    return str(translations(language).pgettext(STATE_CONTEXT, status))


@pass_context
def _when(context: Context, moment: datetime | None) -> str:
    return when(moment, context["lang"], context.get("zone") or "UTC")


@pass_context
def _day(context: Context, value: date | str) -> str:
    return day(value, context["lang"])


@pass_context
def _duration(context: Context, seconds: float | int | None) -> str:
    return duration(seconds, context["lang"])


@pass_context
def _state(context: Context, status: str) -> str:
    return state(status, context["lang"])


@pass_context
def _percent(context: Context, value: float | None) -> str:
    return percent(value, context["lang"])


@pass_context
def _number(context: Context, value: float | int | Decimal | None) -> str:
    return number(value, context["lang"])


@pass_context
def _money(context: Context, value: float | Decimal | str | None, currency: str) -> str:
    return money(value, currency, context["lang"])
