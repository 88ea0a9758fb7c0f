"""Short codes: a compact hashid of the link's id, then a random part.

The hashid makes codes unique without a collision check; the random part makes them
unguessable: 56^6 ≈ 3·10^10 possibilities, so a guess aimed at any live id hits with
probability under 1 in 10^9 whatever other codes the guesser holds.
"""

from __future__ import annotations

import hashlib
import secrets

from hashids import Hashids

# Letters and digits without the look-alikes 0 O o 1 l I: 56 symbols, still 6 random
# characters as with all 62, so leaving them out costs no length.
ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RANDOM_LENGTH = 6
_RANDOM_SPACE = len(ALPHABET) ** RANDOM_LENGTH

# Single path segments the app itself serves (or may): never handed out as codes.
RESERVED = frozenset(
    {
        "api",
        "p",
        "static",
        "hooks",
        "healthz",
        "admin",
        "login",
        "logout",
        "ui",
        "assets",
        "openapi",
        "docs",
        "favicon",
        "robots",
        "metrics",
        "status",
        "qr",
    }
)


class CodeMaker:
    def __init__(self, secret: str) -> None:
        salt = hashlib.sha256(b"richsms-link-codes:" + secret.encode()).hexdigest()
        self._hashids = Hashids(salt=salt, alphabet=ALPHABET)

    def make(self, link_id: int) -> str:
        while True:
            code = str(self._hashids.encode(link_id)) + random_part()
            if code.lower() not in RESERVED:
                return code


def random_part() -> str:
    n = secrets.randbelow(_RANDOM_SPACE)
    chars = []
    for _ in range(RANDOM_LENGTH):
        n, digit = divmod(n, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(chars)


def looks_like_code(segment: str) -> bool:
    """Cheap shape check before any lookup: the redirect's first filter."""
    return 0 < len(segment) <= 32 and segment.isascii() and segment.isalnum()
