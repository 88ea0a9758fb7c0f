"""Link targets: absolute http(s) URLs with a real host, sent as an ASCII `Location`, with
the link's UTM parameters merged in."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

from richsms.errors import InvalidInput

UTM_KEYS = ("source", "medium", "campaign", "term", "content")
MAX_URL_LENGTH = 4096
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
# What may stand in a Location header: printable ASCII, no space.
_LOCATION = re.compile(r"[!-~]+")


def build_target(url: str, utm: Mapping[str, str] | None = None) -> str:
    """The URL a link redirects to, fixed once at creation (never taken from a request)."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"the target URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in url):
        raise InvalidInput("the target URL contains control characters")
    if any(ch.isspace() for ch in url):
        raise InvalidInput("the target URL contains a space: write it as %20")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidInput(f"the target is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidInput("the target must be an absolute http:// or https:// URL")
    if "@" in parts.netloc:
        raise InvalidInput("the target URL must not carry credentials")
    host, port = _host_and_port(parts)
    netloc = host if port is None else f"{host}:{port}"
    parts = parts._replace(scheme=parts.scheme.lower(), netloc=netloc)
    if not url.isascii():
        parts = _ascii_rest(parts)
    url = urlunsplit(parts)
    if utm:
        unknown = set(utm) - set(UTM_KEYS)
        if unknown:
            raise InvalidInput(f"unknown UTM parameter(s): {', '.join(sorted(unknown))}")
        ours = {f"utm_{key}": value for key, value in utm.items() if value}
        # The link's own UTM parameters win over the target's.
        kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
        query = urlencode(kept + list(ours.items()))
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    if not _LOCATION.fullmatch(url):
        raise InvalidInput("the target URL cannot be sent as a redirect")
    return url


def _host_and_port(parts: SplitResult) -> tuple[str, int | None]:
    """The host as ASCII (IDNA for names) and the port, or InvalidInput saying what's wrong."""
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput("the target's port is not a number from 1 to 65535") from None
    if port == 0:
        raise InvalidInput("the target's port is not a number from 1 to 65535")
    raw = parts.hostname or ""
    if not raw:
        raise InvalidInput("the target URL has no host")
    if parts.netloc.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(raw)}]", port
        except ValueError:
            raise InvalidInput("the target's host is not a valid IPv6 address") from None
    try:
        host = raw.encode("idna").decode("ascii") if not raw.isascii() else raw
    except UnicodeError:
        raise InvalidInput("the target's host name is not a valid domain") from None
    host = host.lower()
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput(f"the target's host {raw[:80]!r} is not a valid host name")
    if labels[-1].isdigit():  # only an IPv4 address may end in a numeric label
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise InvalidInput(f"the target's host {raw[:80]!r} is not a valid address") from None
    return host, port


def _ascii_rest(parts: SplitResult) -> SplitResult:
    """A Location header is ASCII: percent-encoding for the path, query and fragment."""
    keep = "/%:@!$&'()*+,;=-._~"
    return parts._replace(
        path=quote(parts.path, safe=keep),
        query=quote(parts.query, safe=keep + "?"),
        fragment=quote(parts.fragment, safe=keep + "?"),
    )
