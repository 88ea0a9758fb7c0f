"""`text` {text}: paragraphs; a blank line starts a new one."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from landing_templates.blocks.base import BlockSettings, BlockType


class TextSettings(BlockSettings):
    type: Literal["text"] = "text"
    text: str = Field(min_length=1, max_length=5000)


BLOCK = BlockType("text", TextSettings, texts=("text",), style=False)
