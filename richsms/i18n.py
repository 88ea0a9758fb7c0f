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
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from babel.dates import format_datetime
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


def gettext(language: str, text: str) -> str:
    return translations(language).gettext(text)


def install(env: Environment) -> None:
    """Gives `env` gettext (`jinja2.ext.i18n`: `_()`, `{% trans %}`) and Babel's formats as
    filters (`number`, `percent`, `money(currency)`, `when`), both in the language each
    render names: its context holds `lang` and `jinja_context(lang)`."""
    env.add_extension("jinja2.ext.i18n")
    env.filters.update(when=_when, percent=_percent, number=_number, money=_money)


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


def when(moment: datetime | None, language: str) -> str:
    """An instant in UTC, as the language writes a short date and time (07/12/2026 08:00
    UTC in French)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # the database's instants are UTC
        moment = moment.replace(tzinfo=UTC)
    return f"{format_datetime(moment, 'short', tzinfo=UTC, locale=locale_of(language))} UTC"


@pass_context
def _when(context: Context, moment: datetime | None) -> str:
    return when(moment, context["lang"])


@pass_context
def _percent(context: Context, value: float | None) -> str:
    return percent(value, context["lang"])


@pass_context
def _number(context: Context, value: float | int | Decimal | None) -> str:
    return number(value, context["lang"])


@pass_context
def _money(context: Context, value: float | Decimal | str | None, currency: str) -> str:
    return money(value, currency, context["lang"])
