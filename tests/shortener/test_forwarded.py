"""The client address behind proxies: only a trusted peer's forwarded headers count, and
the chain is read from the nearest hop back past every trusted proxy."""

from __future__ import annotations

import pytest

from richsms.settings import ConfigError, Settings, parse_networks
from shortener.forwarded import ClientAddress

TRUSTED = ClientAddress(parse_networks("10.0.0.0/8, 192.168.1.7, fd00::/8"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "xff", "client"),
    [
        ("10.0.0.2", None, "203.0.113.7", "203.0.113.7"),
        ("10.0.0.2", None, "203.0.113.7, 10.1.2.3", "203.0.113.7"),
        # A client can prepend anything; the nearest untrusted hop is the one we believe.
        ("10.0.0.2", None, "1.1.1.1, 203.0.113.7, 10.1.2.3", "203.0.113.7"),
        ("10.0.0.2", 'for="[2001:db8::1]:4711";proto=https', None, "2001:db8::1"),
        ("10.0.0.2", "for=198.51.100.4:8080, for=10.9.9.9", None, "198.51.100.4"),
        ("10.0.0.2", "for=198.51.100.4", "203.0.113.7", "198.51.100.4"),
        ("10.0.0.2", None, None, "10.0.0.2"),
        ("10.0.0.2", None, "10.1.1.1, 10.2.2.2", "10.1.1.1"),
        ("10.0.0.2", None, "not-an-ip", "10.0.0.2"),
        ("10.0.0.2", "for=_hidden", None, "10.0.0.2"),
        ("192.168.1.7", None, "203.0.113.9", "203.0.113.9"),
        ("192.168.1.8", None, "203.0.113.9", "192.168.1.8"),
        ("fd00::5", None, "203.0.113.9", "203.0.113.9"),
        ("203.0.113.50", None, "1.2.3.4", "203.0.113.50"),
    ],
)
def test_forwarded_addresses_are_believed_from_trusted_peers_only(
    peer: str, forwarded: str | None, xff: str | None, client: str
) -> None:
    assert TRUSTED.resolve(peer, forwarded, xff) == client


def test_nothing_trusted_by_default() -> None:
    default = ClientAddress()
    assert not default.trusts_proxies
    assert default.resolve("10.0.0.2", "for=1.2.3.4", "1.2.3.4") == "10.0.0.2"


def test_a_bad_trusted_proxies_setting_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="RICHSMS_TRUSTED_PROXIES"):
        Settings.from_mapping({"RICHSMS_TRUSTED_PROXIES": "10.0.0.0/8, load-balancer"})
    with pytest.raises(ConfigError, match="RICHSMS_REDIS_URL"):
        Settings.from_mapping({"RICHSMS_REDIS_URL": "127.0.0.1:6379"})
    ok = Settings.from_mapping({"RICHSMS_TRUSTED_PROXIES": "10.0.0.0/8; ::1"})
    assert len(ok.trusted_networks) == 2
