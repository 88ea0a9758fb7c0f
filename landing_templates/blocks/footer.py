"""`footer` {text}: who sends this and how to stop receiving messages."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from landing_templates.blocks.base import BlockSettings, BlockType


class FooterSettings(BlockSettings):
    type: Literal["footer"] = "footer"
    text: str = Field(min_length=1, max_length=1000)


BLOCK = BlockType("footer", FooterSettings, texts=("text",))
