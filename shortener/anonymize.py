"""Client addresses are never stored whole (truncated to a network, or a keyed hash), and
referrers keep their origin only."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from functools import lru_cache
from urllib.parse import urlsplit


class IpAnonymizer:
    def __init__(self, mode: str, key: str) -> None:
        if mode not in ("truncate", "hash"):
            raise ValueError(f"unknown IP anonymization mode {mode!r}")
        self._mode = mode
        self._key = hashlib.sha256(b"richsms-ip:" + key.encode()).digest()
        # The same phones come back: parsing and hashing once per address saves the hot
        # writer thread most of its work.
        self._anonymize = lru_cache(maxsize=65_536)(self._compute)
        self._visitor = lru_cache(maxsize=65_536)(self._compute_visitor)

    def __call__(self, address: str) -> str:
        return self._anonymize(address)

    def _compute(self, address: str) -> str:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return ""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if self._mode == "hash":
            return hmac.new(self._key, ip.packed, hashlib.sha256).hexdigest()[:32]
        prefix = 24 if ip.version == 4 else 48
        return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))

    def visitor(self, anonymized_ip: str, user_agent: str, day: str) -> str:
        """A daily pseudonym for unique-visitor counts; it cannot be linked across days."""
        return self._visitor(anonymized_ip, user_agent, day)

    def _compute_visitor(self, anonymized_ip: str, user_agent: str, day: str) -> str:
        material = f"{day}\x00{anonymized_ip}\x00{user_agent}".encode()
        return hmac.new(self._key, material, hashlib.sha256).hexdigest()[:32]


@lru_cache(maxsize=16_384)
def referrer_origin(referrer: str) -> str:
    """Only the origin of a referrer (`https://mail.example`): its path and query may carry
    a session, an address or a search, which are the visitor's business, not ours."""
    try:
        parts = urlsplit(referrer.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not host or not parts.scheme.isascii():
        return ""
    if ":" in host:
        host = f"[{host}]"
    origin = f"{parts.scheme.lower()}://{host}"
    return origin if port is None else f"{origin}:{port}"
