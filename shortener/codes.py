"""Short codes: a compact hashid of the link's id, then a random part.

The hashid makes codes unique without a collision check; the random part makes them
unguessable: 56^6 ≈ 3·10^10 possibilities, so a guess aimed at any live id hits with
probability under 1 in 10^9 whatever other codes the guesser holds.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from hashids import Hashids, _reorder

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
        self._shuffles: dict[str, str] = {}

    def make(self, link_id: int) -> str:
        while True:
            code = str(self._hashids.encode(link_id)) + random_part()
            if code.lower() not in RESERVED:
                return code


    def make_many(self, link_ids: Sequence[int]) -> list[str]:
        """`make` for a batch (planning): the same codes' guarantees, a fraction of the
        time. The hashid of one id is its lottery symbol then the id in an alphabet
        shuffled by that symbol, computed here with the shuffles cached (at most one per
        symbol); the random parts come from one read of the CSPRNG per batch."""
        randoms = random_parts(len(link_ids))
        codes = []
        for link_id, random in zip(link_ids, randoms, strict=True):
            code = self._hashid(link_id) + random
            if len(code) <= _RESERVED_LENGTH and code.lower() in RESERVED:
                code = self.make(link_id)
            codes.append(code)
        return codes

    def _hashid(self, link_id: int) -> str:
        # hashids' encode of a single non-negative int with no minimum length, without
        # its checks and separators (tests/shortener/test_codes.py compares the two).
        shuffles = self._shuffles
        alphabet: str = self._hashids._alphabet
        lottery = alphabet[(link_id % 100) % len(alphabet)]
        shuffled = shuffles.get(lottery)
        if shuffled is None:
            salt = (lottery + self._hashids._salt + alphabet)[: len(alphabet)]
            shuffled = shuffles[lottery] = str(_reorder(alphabet, salt))
        base = len(shuffled)
        digits = []
        while True:
            link_id, digit = divmod(link_id, base)
            digits.append(shuffled[digit])
            if not link_id:
                return lottery + "".join(reversed(digits))


# 224 = 4 × 56: a random byte below it maps to a symbol without bias; the rest are dropped.
_TO_SYMBOL = bytes((ALPHABET * 5).encode()[:256])
_DROPPED = bytes(range(4 * len(ALPHABET), 256))
_RESERVED_LENGTH = max(len(word) for word in RESERVED)


def random_parts(count: int) -> list[str]:
    """`count` random parts like `random_part`'s, from one CSPRNG read for the lot."""
    need = count * RANDOM_LENGTH
    symbols = b""
    while len(symbols) < need:
        wanted = need - len(symbols)
        raw = secrets.token_bytes(wanted + wanted // 6 + 16)  # ~12.5% are dropped
        symbols += raw.translate(_TO_SYMBOL, _DROPPED)
    text = symbols[:need].decode()
    return [text[i : i + RANDOM_LENGTH] for i in range(0, need, RANDOM_LENGTH)]


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
