"""French or English, as a browser asks (`Accept-Language`): one reading for every page
richsms answers (link pages, landing notices, the staff page, the UI)."""

from __future__ import annotations

from functools import lru_cache

from richsms.i18n import N_

LANGUAGES = ("fr", "en")
NAMES = {"fr": N_("French (fr)"), "en": N_("English (en)")}  # each language's name, to translate
INTO = {"fr": N_("Translate into French"), "en": N_("Translate into English")}


@lru_cache(maxsize=1024)
def preferred_language(accept_language: str) -> str:
    """"fr" when the client prefers French to English, else "en" (the default)."""
    best = {"fr": 0.0, "en": 0.0}
    for position, item in enumerate(accept_language.split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in best:
            continue
        quality = 1.0
        params = params.strip().lower()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        # Earlier entries win ties, as browsers list them in order of preference.
        score = quality - position * 1e-6
        best[primary] = max(best[primary], score)
    return "fr" if best["fr"] > best["en"] else "en"
