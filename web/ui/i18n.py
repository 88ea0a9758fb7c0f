"""The UI's language: the switch (a cookie) or else the browser's. Its words are the
catalogues' (`richsms.i18n`); a missing French word shows the English one, never a key."""

from __future__ import annotations

from starlette.requests import Request

from richsms.i18n import LANGUAGES
from web.languages import preferred_language

LANG_COOKIE = "richsms_lang"


def choose_language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return preferred_language(request.headers.get("accept-language", ""))
