"""Who is the client? The socket's peer, unless that peer is a proxy we trust: then the
address it forwarded (`Forwarded: for=`, else `X-Forwarded-For`), walking back from the
nearest hop past every trusted proxy. An untrusted peer's headers are never believed, or
any client could pick the address its clicks and its rate limit are counted under."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from richsms.settings import Network


class ClientAddress:
    """Resolves a request's client address; cheap when nothing is trusted (the default)."""

    def __init__(self, trusted: Iterable[Network] = ()) -> None:
        self._trusted = tuple(trusted)
        self._is_trusted = lru_cache(maxsize=4096)(self._check)

    @property
    def trusts_proxies(self) -> bool:
        return bool(self._trusted)

    def _check(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self._trusted)

    def resolve(self, peer: str, forwarded: str | None, x_forwarded_for: str | None) -> str:
        """The client's address given the peer and the two headers' values (None: absent)."""
        if not self._trusted or not self._is_trusted(peer):
            return peer
        if forwarded is not None:
            hops = _forwarded_for(forwarded)
        elif x_forwarded_for is not None:
            hops = [h.strip() for h in x_forwarded_for.split(",")]
        else:
            return peer
        hops = [h for h in hops if h]
        for hop in reversed(hops):
            if not _is_address(hop):
                return peer  # a garbled chain: believe nothing past our own proxy
            if not self._is_trusted(hop):
                return hop
        return hops[0] if hops else peer


def _forwarded_for(header: str) -> list[str]:
    """The `for=` of each element of an RFC 7239 `Forwarded` header, ports and brackets
    stripped (`for="[2001:db8::1]:4711"` → `2001:db8::1`)."""
    found = []
    for element in header.split(","):
        for pair in element.split(";"):
            name, _, value = pair.strip().partition("=")
            if name.strip().lower() != "for":
                continue
            value = value.strip().strip('"')
            if value.startswith("["):
                value = value[1 : value.find("]")] if "]" in value else ""
            elif value.count(":") == 1:
                value = value.split(":")[0]
            found.append(value)
    return found


@lru_cache(maxsize=4096)
def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
