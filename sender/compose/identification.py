"""Identification: a promotional message names its sender. Canada's anti-spam law (CASL)
requires the sender to be identified in every commercial message; the account's brand
name (`richsms.accounts.profile`) is what the text must contain.

The check reads the text as written (a template's words, merge fields and all), case,
accents and spacing aside ("Café Rouge" is found in "CAFE  ROUGE : -20 %"). Informational
and administrative messages, and an account without a brand name, are not checked.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from richsms.errors import fill
from richsms.i18n import N_

BRAND_MISSING: Final = "brand_missing"


@dataclass(frozen=True, slots=True)
class AnalysisWarning:
    """Something the marketer should fix before sending: `template` is English, filled
    with `params` (`message`), or translated first (`told`)."""

    code: str
    template: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template.format_map(self.params)

    def told(self, translate: Callable[[str], str]) -> str:
        return fill(translate(self.template), self.params, translate)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def identification_warning(text: str, *, type: str, brand: str | None) -> AnalysisWarning | None:
    """A warning when a promotional `text` does not contain the `brand` name, else None."""
    if type != "promotional" or not brand or not brand.strip():
        return None
    if _folded(brand) in _folded(text):
        return None
    return AnalysisWarning(
        BRAND_MISSING,
        N_(
            "The text does not name your brand ({brand}): Canada's anti-spam law requires "
            "the sender to be identified in every commercial message."
        ),
        {"brand": brand},
    )


def _folded(text: str) -> str:
    """Lower case, without accents, spaces collapsed: how the brand is looked for."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())
