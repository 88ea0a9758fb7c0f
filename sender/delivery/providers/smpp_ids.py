"""Matching a receipt's message id to the id the SMSC answered our submit_sm with.

Most SMSCs write the id in a receipt as they answered it; some answer in hexadecimal and
write decimal in the receipt text, or the reverse. An id of digits only reads both ways,
so a receipt's id can spell another message's answer in the other base ("5011" is the
decimal of the answer "1393" and also, itself, a later answer): reading every id both
ways attributes receipts to the wrong message. `IdBook` therefore reads receipts one way
only, the SMSC's spelling, which it learns from the receipts themselves:

- it starts with the same spelling as the answers (case and leading zeros aside);
- a receipt that matches no answer that way, after waiting for answers still to come,
  is tried the other ways, and the spelling that keeps matching wins;
- once a spelling has matched `SETTLED` receipts, no other is tried: a receipt whose
  answer was lost stays unmatched instead of settling a stranger's message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from typing import Final, Literal

log = logging.getLogger("richsms.smpp")

Spelling = Literal["as answered", "decimal of a hex answer", "hex of a decimal answer"]
SPELLINGS: Final[tuple[Spelling, ...]] = (
    "as answered",
    "decimal of a hex answer",
    "hex of a decimal answer",
)
# Receipts matched in the SMSC's spelling before the others are no longer tried.
SETTLED: Final = 20


def _hex(value: str) -> int | None:
    try:
        return int(value, 16)
    except ValueError:
        return None


def _decimal(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() else None


class IdBook:
    """The last `size` ids the SMSC answered with, and how its receipts spell them."""

    def __init__(self, size: int = 200_000) -> None:
        self._ids: OrderedDict[str, tuple[int | None, int | None]] = OrderedDict()
        self._by_hex: dict[int, str] = {}  # each answer read as hexadecimal
        self._by_decimal: dict[int, str] = {}  # and as decimal, where it reads so
        self._size = size
        self._added: asyncio.Event | None = None
        self.spelling: Spelling = "as answered"
        self._matches: Counter[Spelling] = Counter()

    def add(self, provider_id: str) -> None:
        readings = (_hex(provider_id), _decimal(provider_id))
        self._ids[provider_id] = readings
        if readings[0] is not None:
            self._by_hex[readings[0]] = provider_id
        if readings[1] is not None:
            self._by_decimal[readings[1]] = provider_id
        if len(self._ids) > self._size:
            old, (as_hex, as_decimal) = self._ids.popitem(last=False)
            if as_hex is not None and self._by_hex.get(as_hex) == old:
                del self._by_hex[as_hex]
            if as_decimal is not None and self._by_decimal.get(as_decimal) == old:
                del self._by_decimal[as_decimal]
        if self._added is not None:
            self._added.set()
            self._added = None

    def __contains__(self, provider_id: str) -> bool:
        return provider_id in self._ids

    async def next_add(self, timeout: float) -> None:
        """Wait until another id is added (or `timeout` passes)."""
        if self._added is None:
            self._added = asyncio.Event()
        try:
            await asyncio.wait_for(self._added.wait(), timeout)
        except TimeoutError:
            pass

    def lookup(self, receipt_id: str) -> str | None:
        """The answer `receipt_id` names in the SMSC's spelling, if it came already."""
        found = self._find(receipt_id, self.spelling)
        if found is not None:
            self._matches[self.spelling] += 1
        return found

    def guess(self, receipt_id: str) -> str | None:
        """For a receipt `lookup` could not match even after waiting: the answer it names
        in another spelling, while the SMSC's is not settled (see the module docstring)."""
        if self._matches[self.spelling] >= SETTLED:
            return None
        for spelling in SPELLINGS:
            if spelling == self.spelling:
                continue
            found = self._find(receipt_id, spelling)
            if found is None:
                continue
            self._matches[spelling] += 1
            if self._matches[spelling] > self._matches[self.spelling]:
                log.info("the SMSC's receipts give message ids as the %s", spelling)
                self.spelling = spelling
            return found
        return None

    def _find(self, receipt_id: str, spelling: Spelling) -> str | None:
        if spelling == "as answered":
            if receipt_id in self._ids:
                return receipt_id
            number = _hex(receipt_id)  # another case, or leading zeros
            return None if number is None else self._by_hex.get(number)
        if spelling == "decimal of a hex answer":
            number = _decimal(receipt_id)
            return None if number is None else self._by_hex.get(number)
        number = _hex(receipt_id)
        return None if number is None else self._by_decimal.get(number)
