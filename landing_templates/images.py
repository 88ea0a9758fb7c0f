"""Uploaded images: type checked by content, re-encoded as WebP at a few widths (which
also drops EXIF and any other metadata), stored in the database for every process."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session

from landing_templates.models import PageImage, PageImageRendition
from richsms.clock import Clock
from richsms.errors import InvalidInput

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb stops here
MAX_SIDE = 16_383  # WebP cannot encode a longer side (a taller image stays taller resized)
WIDTHS = (360, 720, 1080)
FORMATS = {"JPEG", "PNG", "WEBP"}


@dataclass(frozen=True, slots=True)
class StoredImage:
    id: int
    width: int
    height: int
    widths: tuple[int, ...]


def store_image(*, session: Session, clock: Clock, data: bytes) -> StoredImage:
    """Check, resize and store an upload; InvalidInput when it is not a JPEG, PNG or WebP."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"an image is at most {MAX_BYTES // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            size = probe.size
        if kind not in FORMATS:
            raise InvalidInput("send a JPEG, PNG or WebP image")
        if size[0] * size[1] > MAX_PIXELS:
            raise InvalidInput("the image has too many pixels")
        if max(size) > MAX_SIDE:
            raise InvalidInput(f"an image's sides are at most {MAX_SIDE} pixels")
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            image = ImageOps.exif_transpose(source)  # upright, whatever the camera said
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InvalidInput("the file is not a readable JPEG, PNG or WebP image") from None
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    width, height = image.size
    widths = tuple(w for w in WIDTHS if w < width) + (min(width, WIDTHS[-1]),)
    widths = tuple(sorted(set(widths)))
    largest = widths[-1]
    row = PageImage(width=largest, height=round(height * largest / width), created_at=clock.now())
    session.add(row)
    session.flush()
    assert row.id is not None
    for target in widths:
        scaled = image
        if target != width:
            size = (target, max(1, round(height * target / width)))
            scaled = image.resize(size, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        scaled.save(out, "WEBP", quality=80, method=4)  # no exif= argument: nothing kept
        session.add(
            PageImageRendition(
                image_id=row.id,
                width=target,
                height=scaled.size[1],
                data=out.getvalue(),
            )
        )
    session.flush()
    return StoredImage(row.id, row.width, row.height, widths)
