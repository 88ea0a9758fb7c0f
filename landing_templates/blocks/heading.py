"""`heading` {text, level}: the page's title line(s)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from landing_templates.blocks.base import BlockSettings, BlockType


class HeadingSettings(BlockSettings):
    type: Literal["heading"] = "heading"
    text: str = Field(min_length=1, max_length=300)
    level: Literal[1, 2] = 1


BLOCK = BlockType("heading", HeadingSettings, texts=("text",), style=False)
