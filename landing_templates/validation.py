"""Checking a page's content on save: each block against its type's schema, merge fields
against the known fields; every error names the block (position, type, id) and the field."""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from landing_templates.blocks import BLOCK_TYPES
from landing_templates.blocks.base import BlockSettings
from landing_templates.merge import check_text
from richsms.errors import InvalidInput, described

MAX_BLOCKS = 60
_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


class Theme(BaseModel):
    model_config = ConfigDict(extra="forbid")
    primary: str = "#1d4ed8"
    background: str = "#ffffff"
    text: str = "#111827"
    logo_image_id: int | None = Field(None, ge=1)

    @field_validator("primary", "background", "text")
    @classmethod
    def _colour(cls, value: str) -> str:
        if not _COLOUR.match(value):
            raise ValueError("a colour is #rgb or #rrggbb")
        return value


def check_theme(theme: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return Theme.model_validate(theme or {}).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise InvalidInput("theme: " + described(exc, "settings")) from None


def check_blocks(
    blocks: Sequence[Any], *, custom_fields: Collection[str], previous_ids: Collection[str] = ()
) -> list[dict[str, Any]]:
    """The blocks as stored: validated, each with a stable id (kept, or new)."""
    if not isinstance(blocks, Sequence) or isinstance(blocks, (str, bytes)):
        raise InvalidInput("blocks must be a list")
    if len(blocks) > MAX_BLOCKS:
        raise InvalidInput(f"a page has at most {MAX_BLOCKS} blocks")
    seen: set[str] = set()
    stored = []
    for index, raw in enumerate(blocks):
        settings = parse_block(index, raw)
        where = f"blocks[{index}] ({settings.type}{', id ' + settings.id if settings.id else ''})"
        block_id = settings.id or _new_id(seen | set(previous_ids))
        if block_id in seen:
            raise InvalidInput(f"{where}: id {block_id!r} is used by another block")
        seen.add(block_id)
        for name in BLOCK_TYPES[settings.type].texts:
            source = getattr(settings, name)
            check_text(source, custom_fields=custom_fields, where=f"{where}.{name}")
        data = settings.model_dump(mode="json", by_alias=True, exclude_none=True)
        data["id"] = block_id
        stored.append(data)
    return stored


def parse_block(index: int, raw: Any) -> BlockSettings:
    if not isinstance(raw, dict):
        raise InvalidInput(f"blocks[{index}]: a block is an object with a type")
    kind = raw.get("type")
    block_type = BLOCK_TYPES.get(kind) if isinstance(kind, str) else None
    if block_type is None:
        raise InvalidInput(
            f"blocks[{index}].type: {kind!r} is not a block type "
            f"(one of {', '.join(BLOCK_TYPES)})"
        )
    try:
        return block_type.settings.model_validate(raw)
    except ValidationError as exc:
        block_id = raw.get("id")
        name = f"blocks[{index}] ({kind}{', id ' + str(block_id) if block_id else ''})"
        raise InvalidInput(f"{name}: {described(exc, 'settings')}") from None


def _new_id(taken: Collection[str]) -> str:
    while True:
        candidate = "b" + secrets.token_hex(4)
        if candidate not in taken:
            return candidate
