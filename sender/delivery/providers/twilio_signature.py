"""Twilio's request signature (`X-Twilio-Signature`).

HMAC-SHA1, keyed with the account's auth token, over the full public URL of the webhook
followed by every POST parameter's name and value, sorted by name; base64. The URL is
the one Twilio called, so it is built from RICHSMS_BASE_URL, not from the request as a
proxy rewrote it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence


def signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    # Sorted by name, then value; a repeated (name, value) pair counts once, as Twilio does.
    payload = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_valid(auth_token: str, url: str, params: Sequence[tuple[str, str]], given: str) -> bool:
    """Whether `given` signs this request; compared in constant time."""
    if not auth_token or not given:
        return False
    expected = signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), given.encode())
