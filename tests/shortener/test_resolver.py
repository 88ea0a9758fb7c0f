"""A link's target as every way in reads it, and the one rule of a link that serves nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shortener.resolver import Target

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_a_disabled_link_or_one_past_its_expiry_is_gone() -> None:
    def target(expires_at: datetime | None, disabled: bool = False) -> Target:
        return Target(1, None, "https://ex.example/", expires_at, disabled)

    assert not target(None).gone(NOW)
    assert not target(NOW + timedelta(seconds=1)).gone(NOW)
    assert target(NOW).gone(NOW)  # its expiry is the first instant it no longer serves
    assert target(NOW - timedelta(days=1)).gone(NOW)
    assert target(None, disabled=True).gone(NOW)
