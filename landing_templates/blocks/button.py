"""`button` {label, href}: a call to action to an https page, a phone call or an SMS; a tap
is a page event (its script reports it)."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from landing_templates.blocks.base import BlockSettings, BlockType

_TEL = re.compile(r"^(tel|sms):\+?[0-9][0-9 ().-]{1,30}(\?body=[^<>\"']{0,300})?$")


class ButtonSettings(BlockSettings):
    type: Literal["button"] = "button"
    label: str = Field(min_length=1, max_length=100)
    href: str = Field(min_length=5, max_length=2000)

    @field_validator("href")
    @classmethod
    def _safe_href(cls, href: str) -> str:
        href = href.strip()
        if _TEL.match(href):
            return href
        parts = urlsplit(href)
        if parts.scheme != "https" or not parts.hostname or any(c in href for c in "<>\"' "):
            raise ValueError("must be an https:// URL, a tel: number or an sms: number")
        return href


BLOCK = BlockType("button", ButtonSettings, texts=("label",), script=True, style=False)
