"""Coupon code patterns: `#` a random digit, `?` a random capital letter, anything else kept.

`NOEL-######` gives codes such as `NOEL-048213`. Letters that a cashier could read as
another character (I and 1, O and 0, S and 5, Z and 2, B and 8) are never drawn.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from functools import cached_property

from landing_templates.coupons.models import CODE_MAX_LENGTH
from richsms.errors import InvalidInput

DIGITS = "0123456789"
LETTERS = "ACDEFGHJKLMNPQRTUVWXY"
# A code travels in a URL path (`/r/{code}`), a Code128 barcode and a cashier's keyboard.
LITERAL = re.compile(r"[A-Za-z0-9._~-]")
CODE = re.compile(rf"[A-Za-z0-9._~-]{{1,{CODE_MAX_LENGTH}}}")
# Fewer possible codes than this and a code is guessed too easily, and a campaign of any
# size spends its time on collisions. `NOEL-######` (a million codes) is the smallest.
MIN_COMBINATIONS = 1_000_000
# A batch may use at most this share of a pattern's codes: past it, drawing a free code
# turns into a search.
MAX_SHARE = 0.1


@dataclass(frozen=True)
class Pattern:
    text: str
    slots: tuple[str | None, ...]  # the alphabet of each position, None for a literal

    @cached_property
    def combinations(self) -> int:
        return math.prod(len(a) for a in self.slots if a is not None)

    def code(self, number: int) -> str:
        """The code numbered `number` (0 <= number < combinations), in mixed radix."""
        chars = []
        for literal, alphabet in zip(self.text, self.slots, strict=True):
            if alphabet is None:
                chars.append(literal)
            else:
                number, index = divmod(number, len(alphabet))
                chars.append(alphabet[index])
        return "".join(chars)

    def make(self) -> str:
        """One random code (the system's CSPRNG: codes must not be predictable)."""
        return self.code(secrets.randbelow(self.combinations))

    def many(self, count: int) -> list[str]:
        """`count` random codes from one read of the system's CSPRNG. Each code takes 64
        bits more than the pattern needs, so reducing them modulo the number of codes
        leaves a bias below 2**-64."""
        width = (self.combinations.bit_length() + 64 + 7) // 8
        entropy = secrets.token_bytes(width * count)
        return [
            self.code(int.from_bytes(entropy[i : i + width], "big") % self.combinations)
            for i in range(0, width * count, width)
        ]


def validate_pattern(pattern: str) -> Pattern:
    """The parsed pattern, or InvalidInput saying what is wrong with it."""
    if not isinstance(pattern, str) or not pattern:
        raise InvalidInput("a coupon pattern is required, e.g. NOEL-######")
    if len(pattern) > CODE_MAX_LENGTH:
        raise InvalidInput(f"a coupon pattern has at most {CODE_MAX_LENGTH} characters")
    slots: list[str | None] = []
    for position, char in enumerate(pattern, start=1):
        if char == "#":
            slots.append(DIGITS)
        elif char == "?":
            slots.append(LETTERS)
        elif LITERAL.fullmatch(char):
            slots.append(None)
        else:
            raise InvalidInput(
                f"coupon pattern {pattern!r}: character {position} ({char!r}) is not allowed; "
                "use # for a digit, ? for a letter, and letters, digits, - . _ ~ as they are"
            )
    parsed = Pattern(pattern, tuple(slots))
    if parsed.combinations < MIN_COMBINATIONS:
        raise InvalidInput(
            f"coupon pattern {pattern!r} allows only {parsed.combinations:,} different codes; "
            f"it needs at least {MIN_COMBINATIONS:,} (e.g. six # or five ?) so that codes "
            "cannot be guessed"
        )
    return parsed


def check_code(code: str) -> str | None:
    """Why `code` cannot be a coupon code, or None when it can."""
    if not code:
        return "empty code"
    if len(code) > CODE_MAX_LENGTH:
        return f"longer than {CODE_MAX_LENGTH} characters"
    if not CODE.fullmatch(code):
        return "only letters, digits and - . _ ~ are allowed"
    return None
