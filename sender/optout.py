"""The opt-out mention appended to promotional messages, in the recipient's language.

The mention is part of what the recipient receives, so it is appended before the message
is measured: it counts in the length, the encoding and the segments.
"""

from __future__ import annotations

from dataclasses import dataclass

from richsms.errors import InvalidInput


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
