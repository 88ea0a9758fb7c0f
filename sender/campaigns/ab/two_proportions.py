"""The two-proportion z-test: is one rate (clickers over recipients) different from
another, at 95%? With the p-value (two-sided, from the pooled proportion) and the 95%
interval of the difference (unpooled), by the normal distribution (`math.erf`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

LEVEL = 0.95
Z_95 = 1.959963984540054  # the normal quantile of 0.975


@dataclass(frozen=True, slots=True)
class Comparison:
    """`first` rate minus `second` rate, its 95% interval and the test's p-value."""

    difference: float
    low: float
    high: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < 1 - LEVEL


def normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def compare(successes_1: int, total_1: int, successes_2: int, total_2: int) -> Comparison:
    """Rate 1 against rate 2. A group without anyone in it, or rates that cannot differ
    (nobody, or everybody, succeeded in both) is no evidence: p-value 1."""
    if total_1 <= 0 or total_2 <= 0:
        return Comparison(0.0, 0.0, 0.0, 1.0)
    p1, p2 = successes_1 / total_1, successes_2 / total_2
    difference = p1 - p2
    pooled = (successes_1 + successes_2) / (total_1 + total_2)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / total_1 + 1 / total_2))
    if pooled_se == 0:
        p_value = 1.0
    else:
        z = difference / pooled_se
        p_value = max(0.0, min(1.0, 2 * (1 - normal_cdf(abs(z)))))
    se = math.sqrt(p1 * (1 - p1) / total_1 + p2 * (1 - p2) / total_2)
    return Comparison(difference, difference - Z_95 * se, difference + Z_95 * se, p_value)
