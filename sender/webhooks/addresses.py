"""Where a webhook may be sent: only to the public internet.

A webhook URL is a marketer's input that the service later requests from inside its own
network: pointed at `127.0.0.1`, a private range or `169.254.169.254` (a cloud's metadata
service), it would make richsms a blind proxy into that network. The host is resolved at
registration and again at each delivery, every address it resolves to must be public, and
the delivery connects to the very address that was checked (pinned), so a name that
resolves elsewhere between the check and the connection (DNS rebinding) gains nothing.
`allow_private` (RICHSMS_WEBHOOKS_ALLOW_PRIVATE) lifts the rule for development.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from richsms.errors import InvalidInput


class Unresolvable(InvalidInput):
    """The host resolves to no address (yet): nothing to connect to, nothing to refuse."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A webhook URL with its host resolved and checked: connect to `url` (the address),
    name `host` in the Host header and in TLS (SNI and the certificate check)."""

    url: str
    host: str


def destination(url: str, *, allow_private: bool) -> Destination:
    """The checked address of `url`, or InvalidInput saying why it may not be reached."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Unresolvable(
            "the webhook's host {host} cannot be resolved", params={"host": host}
        ) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    if not addresses:
        raise Unresolvable(
            "the webhook's host {host} cannot be resolved", params={"host": host}
        ) from None
    if not allow_private:
        for address in addresses:
            if not _public(address):
                raise InvalidInput(
                    "the webhook's host {host} resolves to {address}, a loopback, private, "
                    "link-local or multicast address: webhooks reach the public internet only",
                    params={"host": host, "address": str(address)},
                )
    first = addresses[0]
    literal = f"[{first}]" if first.version == 6 else str(first)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    return Destination(urlunsplit(parts._replace(netloc=netloc)), parts.netloc)


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast
