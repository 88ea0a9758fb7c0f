"""`countdown` {deadline, expired_text}: seconds left, counted from the server's clock."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from landing_templates.blocks.base import BlockSettings, BlockType, Recipient


class CountdownSettings(BlockSettings):
    type: Literal["countdown"] = "countdown"
    deadline: AwareDatetime
    expired_text: str = Field(min_length=1, max_length=300)
    label: str = Field("", max_length=200)


def remaining(settings: BlockSettings, recipient: Recipient) -> int:
    """Whole seconds left: everyone viewing in the same second sees the same block."""
    assert isinstance(settings, CountdownSettings)
    # The phone's clock may be wrong: the page counts down from what the server says.
    return max(0, math.ceil((settings.deadline - recipient.now).total_seconds()))


def data(settings: BlockSettings, recipient: Recipient) -> dict[str, Any]:
    left = remaining(settings, recipient)
    days, rest = divmod(left, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    return {"remaining": left, "parts": (days, hours, minutes, seconds)}


BLOCK = BlockType(
    "countdown",
    CountdownSettings,
    texts=("expired_text", "label"),
    script=True,
    personal=True,
    data=data,
    key=remaining,
)
