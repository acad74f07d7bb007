"""Signatures drawn on the tablet's canvas arrive as PNG data URLs; this checks and stores them."""

import base64
import binascii
import io
import uuid

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from dealership.errors import DomainError

MAX_SIGNATURE_BYTES = 600_000
_PREFIX = "data:image/png;base64,"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def signature_png(data: str | bytes, *, field: str = "signature") -> ContentFile:
    """A ContentFile holding the PNG, or DomainError when it is missing, not a PNG or blank."""
    if isinstance(data, str):
        data = data.strip()
        if not data:
            raise DomainError(_("The customer has not signed yet."), field=field)
        if not data.startswith(_PREFIX):
            raise DomainError(_("The signature is not a PNG image."), field=field)
        try:
            raw = base64.b64decode(data[len(_PREFIX) :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DomainError(_("The signature is not a PNG image."), field=field) from exc
    else:
        raw = data
    if not raw:
        raise DomainError(_("The customer has not signed yet."), field=field)
    if len(raw) > MAX_SIGNATURE_BYTES or not raw.startswith(_PNG_MAGIC):
        raise DomainError(_("The signature is not a PNG image."), field=field)
    try:
        image = Image.open(io.BytesIO(raw))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise DomainError(_("The signature is not a PNG image."), field=field) from exc
    box = _ink_box(image)
    if box is None:
        raise DomainError(_("The signature is empty: please sign with your finger."), field=field)
    # Keep only the signed area (plus a margin): the canvas is as wide as the tablet.
    margin = 8
    left, top, right, bottom = box
    cropped = image.convert("RGBA").crop(
        (
            max(left - margin, 0),
            max(top - margin, 0),
            min(right + margin, image.width),
            min(bottom + margin, image.height),
        )
    )
    buffer = io.BytesIO()
    cropped.save(buffer, format="PNG", optimize=True)
    return ContentFile(buffer.getvalue(), name=f"{uuid.uuid4().hex}.png")


def _ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """Where something was drawn: dark pixels once the image is laid on white paper."""
    rgba = image.convert("RGBA")
    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(paper, rgba).convert("L")
    return flat.point(lambda value: 255 if value < 200 else 0).getbbox()
