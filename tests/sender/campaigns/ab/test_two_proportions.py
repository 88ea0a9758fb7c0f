"""The two-proportion z-test against figures worked by hand, and the decision it leads
to for each metric and setting."""

from __future__ import annotations

from typing import Any

import pytest

from sender.campaigns.ab.decision import verdict
from sender.campaigns.ab.spec import AbTestSpec
from sender.campaigns.ab.two_proportions import compare


def test_a_textbook_comparison() -> None:
    # 45 of 100 against 30 of 100: pooled 0.375, z = 0.15 / 0.06847 = 2.191.
    found = compare(45, 100, 30, 100)
    assert found.difference == pytest.approx(0.15)
    assert found.p_value == pytest.approx(0.0285, abs=0.0005)
    assert found.low == pytest.approx(0.0174, abs=5e-4)
    assert found.high == pytest.approx(0.2826, abs=5e-4)
    assert found.significant


def test_no_evidence_is_never_significant() -> None:
    assert compare(0, 100, 0, 100).p_value == 1.0  # nobody tapped in either
    assert compare(100, 100, 100, 100).p_value == 1.0  # everybody did
    assert compare(3, 0, 0, 10).p_value == 1.0  # an empty group
    assert not compare(12, 100, 10, 100).significant


def figures(*rates: tuple[int, int, int, int]) -> list[dict[str, Any]]:
    return [
        {"human_clickers": c, "sent": s, "redemptions": r, "coupons_issued": i}
        for c, s, r, i in rates
    ]


def spec(**settings: Any) -> AbTestSpec:
    return AbTestSpec.model_validate(
        {"variants": [{"template": "A"}, {"template": "B"}, {"template": "C"}], **settings}
    )


def test_the_best_against_the_next_best_by_the_metric() -> None:
    shown = figures((5, 100, 40, 100), (40, 100, 10, 100), (15, 100, 12, 100))
    by_clicks = verdict(spec(), shown)
    assert (by_clicks.decision, by_clicks.winner, by_clicks.runner_up) == ("winner", 1, 2)
    by_redemptions = verdict(spec(metric="redemption_rate"), shown)
    assert (by_redemptions.decision, by_redemptions.winner) == ("winner", 0)


def test_a_difference_too_small_for_the_sample_is_no_winner() -> None:
    # 30% against 20% of 100 each: p = 0.10, the interval holds zero.
    found = verdict(spec(fallback=2), figures((30, 100, 0, 0), (20, 100, 0, 0), (1, 100, 0, 0)))
    assert (found.decision, found.winner, found.best) == ("fallback", 2, 0)
    assert found.comparison.low < 0 < found.comparison.high


def test_no_winner_falls_back_or_waits() -> None:
    close = figures((10, 100, 0, 0), (11, 100, 0, 0), (9, 100, 0, 0))
    assert verdict(spec(fallback=2), close).winner == 2
    waiting = verdict(spec(if_no_winner="wait"), close)
    assert (waiting.decision, waiting.winner, waiting.best) == ("waiting", None, 1)
