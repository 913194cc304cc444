"""Images of the users' websites: accepted by their bytes, then resized and re-encoded.

The type is read from the magic numbers (PNG, JPEG, GIF, WebP), never from the client's
``Content-Type`` or a name. Pillow then decodes the image under a pixel bound (a
decompression bomb is refused, not decoded), shrinks it to at most ``MAX_SIDE`` pixels a
side and writes it afresh (PNG for images with transparency, else JPEG): what is served is
what Pillow wrote, so no metadata (GPS position in a photo's EXIF), trailing payload or
polyglot survives.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from suivi_common.errors import Invalid, UnsupportedMediaType

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 1600
MAX_PIXELS = 40_000_000
MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"),
         (b"GIF89a", "gif"))


def detect(data: bytes) -> str | None:
    """``png``, ``jpeg``, ``gif``, ``webp`` from the first bytes, else None."""
    for magic, name in MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


@dataclass(frozen=True)
class Resized:
    content: bytes
    content_type: str
    width: int
    height: int


def prepare(data: bytes) -> Resized:
    """The image as the sites serve it, or 415 (not an image we take) / 400 (broken)."""
    if not data:
        raise Invalid("The image is empty", code="image_empty", fields={"file": "empty"})
    if len(data) > MAX_BYTES:
        raise Invalid(f"At most {MAX_BYTES} bytes", code="image_too_large",
                      fields={"file": f"at most {MAX_BYTES} bytes"})
    kind = detect(data)
    if kind is None:
        raise UnsupportedMediaType("Images are PNG, JPEG, GIF or WebP",
                                   code="unsupported_image_type")
    try:
        with Image.open(io.BytesIO(data), formats=[kind.upper()]) as img:
            if img.width * img.height > MAX_PIXELS:
                raise Invalid("The image has too many pixels", code="image_too_large",
                              fields={"file": f"at most {MAX_PIXELS} pixels"})
            img.load()
            alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
            frame = img.convert("RGBA" if alpha else "RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError):
        raise Invalid("The image cannot be read", code="image_unreadable",
                      fields={"file": "not a readable image"}) from None
    frame.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    if alpha:
        frame.save(out, format="PNG", optimize=True)
        content_type = "image/png"
    else:
        frame.save(out, format="JPEG", quality=85, optimize=True)
        content_type = "image/jpeg"
    return Resized(out.getvalue(), content_type, frame.width, frame.height)
