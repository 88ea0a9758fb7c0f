from __future__ import annotations

from shortener.anonymize import IpAnonymizer


def test_truncation_keeps_only_the_network() -> None:
    anon = IpAnonymizer("truncate", "k")
    assert anon("203.0.113.77") == "203.0.113.0/24"
    assert anon("2001:db8:abcd:12:34::1") == "2001:db8:abcd::/48"
    assert anon("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert anon("not an ip") == ""


def test_hash_mode_is_keyed_and_hides_the_address() -> None:
    a, b = IpAnonymizer("hash", "k1"), IpAnonymizer("hash", "k2")
    assert a("203.0.113.77") == a("203.0.113.77")
    assert a("203.0.113.77") != b("203.0.113.77")
    assert "203" not in a("203.0.113.77")


def test_visitor_pseudonyms_change_every_day() -> None:
    anon = IpAnonymizer("truncate", "k")
    ip = anon("203.0.113.77")
    assert anon.visitor(ip, "ua", "2026-11-24") == anon.visitor(ip, "ua", "2026-11-24")
    assert anon.visitor(ip, "ua", "2026-11-24") != anon.visitor(ip, "ua", "2026-11-25")
