"""The opt-out mention appended to promotional messages, in the recipient's language.

The mention is part of what the recipient receives, so it is appended before the message
is measured: it counts in the length, the encoding and the segments. It names the number
the message is really sent from: a French-Canadian recipient of a campaign sent from a
Canadian long code must not be told to text a French short code. A configured mention
either says where with `{sender}`, or names a number that is replaced by the sender's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from richsms.errors import InvalidInput

SENDER_PLACEHOLDER: Final = "{sender}"
# A short code or a phone number written in a mention: "36180", "+1 514 555 0100".
_NUMBER: Final = re.compile(r"\+?\d[\d .-]*\d")


@dataclass(frozen=True, slots=True)
class OptOutTexts:
    """The mention in each supported language, e.g. "STOP au 36111" / "Reply STOP to opt out"."""

    en: str
    fr: str

    def __post_init__(self) -> None:
        if not self.en.strip() or not self.fr.strip():
            raise InvalidInput("The opt-out mention cannot be empty", code="opt_out_empty")

    def for_language(self, language: object) -> str:
        """French for any French locale ("fr", "fr-FR", "FR"), English for everything else."""
        if isinstance(language, str) and language[:2].lower() == "fr":
            if len(language) == 2 or language[2] in "-_":
                return self.fr
        return self.en

    def naming(self, sender: str | None) -> OptOutTexts:
        """The mentions naming `sender`, the number the message is sent from (None: the
        provider's default number, which the configured mentions already name)."""
        return OptOutTexts(en=name_sender(self.en, sender), fr=name_sender(self.fr, sender))


# The mention a sender number of these countries carries when it has none of its own:
# North American carriers expect the words; a French short code is named.
COUNTRY_MENTIONS: Final = {
    "CA": OptOutTexts(en="Reply STOP to opt out", fr="Répondez STOP pour vous désabonner"),
    "US": OptOutTexts(en="Reply STOP to opt out", fr="Répondez STOP pour vous désabonner"),
    "FR": OptOutTexts(en="STOP au {sender}", fr="STOP au {sender}"),
}


def sender_mentions(
    *, country: str | None, own: Mapping[str, str], defaults: OptOutTexts
) -> OptOutTexts:
    """The mentions a sender number's messages carry: its own for a language, else its
    country's (COUNTRY_MENTIONS), else `defaults` (the configured ones); not yet naming
    the number (see `OptOutTexts.naming`)."""
    base = COUNTRY_MENTIONS.get(country or "", defaults)
    return OptOutTexts(en=own.get("en") or base.en, fr=own.get("fr") or base.fr)


def name_sender(mention: str, sender: str | None) -> str:
    """`mention` telling the recipient to reply to `sender`.

    An alphanumeric sender cannot receive a reply: the mention is kept as configured (its
    placeholder dropped). A mention without a placeholder has its first number replaced.
    """
    replyable = sender if sender and not any(c.isalpha() for c in sender) else None
    if SENDER_PLACEHOLDER in mention:
        named = mention.replace(SENDER_PLACEHOLDER, replyable or "")
        return " ".join(named.split()) if replyable is None else named
    if replyable is None:
        return mention
    found = _NUMBER.search(mention)
    if found is None or sum(c.isdigit() for c in found.group()) < 3:
        return mention
    return mention[: found.start()] + replyable + mention[found.end() :]


def with_opt_out(body: str, *, language: object, texts: OptOutTexts) -> str:
    """`body` followed by the mention on its own line, unless it already ends with it."""
    return append_mention(body, texts.for_language(language))


def append_mention(body: str, mention: str) -> str:
    """`body` followed by `mention` (already in the right language) on its own line."""
    if body.endswith(mention):
        return body
    # A body that already ends a line (or is empty) needs no extra line break: an empty
    # line would cost a character in every message for nothing.
    if not body or body.endswith("\n"):
        return body + mention
    return body + "\n" + mention
