"""Block types by name; each module holds one type's settings, and its template sits next
to it (`{name}.html`), its CSS and JS in `static/blocks/{name}.css|js`."""

from __future__ import annotations

from landing_templates.blocks import (
    button,
    countdown,
    coupon,
    footer,
    heading,
    image,
    scratch,
    text,
    wheel,
)
from landing_templates.blocks.base import BlockType

BLOCK_TYPES: dict[str, BlockType] = {
    module.BLOCK.name: module.BLOCK
    for module in (heading, text, image, button, footer, countdown, coupon, scratch, wheel)
}
