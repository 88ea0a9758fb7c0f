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
class ImageInfo:
    """A stored image as pages show it: its size and the widths of its renditions."""

    id: int
    width: int
    height: int
    widths: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """An upload checked and re-encoded, ready to be stored: the work is done before any
    transaction opens (see `prepare_image`)."""

    width: int
    height: int
    renditions: tuple[tuple[int, int, bytes], ...]
    """(width, height, WebP bytes) of each width served, smallest first."""


def prepare_image(data: bytes) -> PreparedImage:
    """Check and resize an upload, no database involved; InvalidInput when it is not a
    JPEG, PNG or WebP."""
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
    renditions = []
    for target in sorted(set(widths)):
        scaled = image
        if target != width:
            size = (target, max(1, round(height * target / width)))
            scaled = image.resize(size, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        scaled.save(out, "WEBP", quality=80, method=4)  # no exif= argument: nothing kept
        renditions.append((target, scaled.size[1], out.getvalue()))
    largest = renditions[-1][0]
    return PreparedImage(largest, round(height * largest / width), tuple(renditions))


def store_image(*, session: Session, clock: Clock, image: PreparedImage) -> ImageInfo:
    """Store a prepared image: its row and its renditions, nothing computed here."""
    row = PageImage(width=image.width, height=image.height, created_at=clock.now())
    session.add(row)
    session.flush()
    assert row.id is not None
    session.add_all(
        PageImageRendition(image_id=row.id, width=width, height=height, data=data)
        for width, height, data in image.renditions
    )
    session.flush()
    return ImageInfo(row.id, row.width, row.height, tuple(w for w, _, _ in image.renditions))
