"""`image` {image_id, alt}: an uploaded image, served in several widths (`srcset`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from landing_templates.blocks.base import BlockSettings, BlockType


class ImageSettings(BlockSettings):
    type: Literal["image"] = "image"
    image_id: int = Field(ge=1)
    alt: str = Field("", max_length=300)


BLOCK = BlockType("image", ImageSettings, texts=("alt",))
