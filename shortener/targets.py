"""Link targets: http(s) only, with the link's UTM parameters merged in."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

from richsms.errors import InvalidInput

UTM_KEYS = ("source", "medium", "campaign", "term", "content")
MAX_URL_LENGTH = 4096


def build_target(url: str, utm: Mapping[str, str] | None = None) -> str:
    """The URL a link redirects to, fixed once at creation (never taken from a request)."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"the target URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidInput(f"the target is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the target must be an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("the target URL must not carry credentials")
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in url):
        raise InvalidInput("the target URL contains control characters")
    if not url.isascii():
        parts = _ascii_parts(parts)
        url = urlunsplit(parts)
    if not utm:
        return url
    unknown = set(utm) - set(UTM_KEYS)
    if unknown:
        raise InvalidInput(f"unknown UTM parameter(s): {', '.join(sorted(unknown))}")
    ours = {f"utm_{key}": value for key, value in utm.items() if value}
    # The link's own UTM parameters win over the target's.
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
    query = urlencode(kept + list(ours.items()))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _ascii_parts(parts: SplitResult) -> SplitResult:
    """A Location header is ASCII: IDNA for the host, percent-encoding for the rest."""
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput("the target's host name is not a valid domain") from None
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    keep = "/%:@!$&'()*+,;=-._~"
    return parts._replace(
        netloc=netloc,
        path=quote(parts.path, safe=keep),
        query=quote(parts.query, safe=keep + "?"),
        fragment=quote(parts.fragment, safe=keep + "?"),
    )
