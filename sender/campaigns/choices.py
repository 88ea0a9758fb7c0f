"""The reply choices a campaign or an automation offers, checked when saved.

`{"1": {"reply": "Merci, c'est noté."}, "2": {"reply": "...", "follow_up": {"template":
"...", "after_minutes": 0}}}` with an `unmatched` text: keys are digits or a word (OUI,
NON, YES, C...), stored as replies are compared (sender/delivery/choice_replies.py:
upper case, no accents); a key may not be a keyword that keeps its meaning whatever the
choices (STOP, ARRET, HELP, AIDE, START...). Only informational messages offer choices.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender.compose.composition import Composer
from sender.compose.templates import compile_template
from sender.delivery.inbound import OPT_IN_WORDS, keyword_of
from sender.delivery.models import choice_key

MAX_CHOICES: Final = 10
MAX_KEY: Final = 20
MAX_REPLY: Final = 480
MAX_FOLLOW_UP_MINUTES: Final = 30 * 24 * 60
CHOICE_TYPES: Final = frozenset({"informational"})


def checked_choices(
    *,
    choices: Mapping[str, Any],
    unmatched: str | None,
    type: str,
    settings: Settings | None,
    custom_fields: Collection[str],
) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The choices and unmatched text as stored, or InvalidInput naming what is wrong
    (`choices.<key>...`). A follow-up's template is checked as any saved template."""
    unmatched = (unmatched or "").strip() or None
    if not choices:
        if unmatched is not None:
            raise InvalidInput("unmatched: give choices for it to answer")
        return {}, None
    if type not in CHOICE_TYPES:
        raise InvalidInput("choices: only informational messages offer reply choices")
    if len(choices) > MAX_CHOICES:
        raise InvalidInput(f"choices: at most {MAX_CHOICES}")
    check = _Check(type, settings, custom_fields)
    stored: dict[str, dict[str, Any]] = {}
    for given, spec in choices.items():
        key = choice_key(given)
        where = f"choices.{given.strip()[:30]}"
        if not key or len(key) > MAX_KEY or len(given.split()) != 1:
            raise InvalidInput(f"{where}: a choice is digits or a word of up to {MAX_KEY} letters")
        if key in stored:
            raise InvalidInput(f"{where}: the same choice as {key} (case and accents ignored)")
        if keyword_of(key) is not None and key not in OPT_IN_WORDS - {"START", "UNSTOP"}:
            raise InvalidInput(f"{where}: {key} is a keyword (STOP, HELP, START...), not a choice")
        stored[key] = check.choice(where, spec)
    if unmatched is not None and len(unmatched) > MAX_REPLY:
        raise InvalidInput(f"unmatched: at most {MAX_REPLY} characters")
    return stored, unmatched


@dataclass(frozen=True, slots=True)
class _Check:
    """What a choice is checked against: the message's type, the settings (None: no
    length check) and the custom fields a follow-up's template may name."""

    type: str
    settings: Settings | None
    custom_fields: Collection[str]

    def choice(self, where: str, spec: object) -> dict[str, Any]:
        if spec is None:
            return {}
        if not isinstance(spec, Mapping):
            raise InvalidInput(f'{where}: a choice is {{"reply": ..., "follow_up": ...}}')
        extra = set(spec) - {"reply", "follow_up"}
        if extra:
            raise InvalidInput(f"{where}: unexpected {sorted(extra)[0]!r}")
        stored: dict[str, Any] = {}
        reply = spec.get("reply")
        if reply is not None:
            if not isinstance(reply, str) or len(reply) > MAX_REPLY:
                raise InvalidInput(f"{where}.reply: a text of at most {MAX_REPLY} characters")
            if reply.strip():
                stored["reply"] = reply.strip()
        follow_up = spec.get("follow_up")
        if follow_up is not None:
            stored["follow_up"] = self.follow_up(f"{where}.follow_up", follow_up)
        return stored

    def follow_up(self, where: str, spec: object) -> dict[str, Any]:
        if not isinstance(spec, Mapping) or set(spec) - {"template", "after_minutes"}:
            raise InvalidInput(f'{where}: {{"template": ..., "after_minutes": ...}}')
        template, minutes = spec.get("template"), spec.get("after_minutes", 0)
        if not isinstance(template, str) or not template.strip() or len(template) > 5_000:
            raise InvalidInput(f"{where}.template: a template of 1 to 5000 characters")
        if not isinstance(minutes, int) or isinstance(minutes, bool):
            raise InvalidInput(f"{where}.after_minutes: a whole number of minutes")
        if not 0 <= minutes <= MAX_FOLLOW_UP_MINUTES:
            raise InvalidInput(f"{where}.after_minutes: from 0 to {MAX_FOLLOW_UP_MINUTES}")
        try:
            if compile_template(template, custom_fields=self.custom_fields).uses_link:
                raise InvalidInput("a follow-up carries no {{ link }}")
            if self.settings is not None:  # too long, or a runaway template: refused when saved
                Composer(
                    source=template, is_template=True, type=self.type, sender=None,
                    settings=self.settings, custom_fields=self.custom_fields,
                ).check_at_save()  # fmt: skip
        except InvalidInput as exc:
            raise InvalidInput(f"{where}.template: {exc.message}") from None
        return {"template": template, "after_minutes": minutes}
