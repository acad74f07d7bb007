"""Signatures drawn on the tablet's canvas arrive as PNG data URLs; this checks and stores them.

A PNG compresses a blank canvas almost to nothing, so a 36 KB file can declare
13 000 x 13 000 pixels and cost gigabytes to decode. Bytes and the size the PNG
header declares are therefore checked before anything is decoded, and the
services call `signature_refuse_oversized` before they take the visit's row lock.
"""

import base64
import binascii
import io
import uuid
import warnings

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from dealership.errors import DomainError

MAX_SIGNATURE_DATA_URL = 512 * 1024  # characters of the data URL the pad sends
MAX_SIGNATURE_BYTES = 384 * 1024  # the PNG inside it
# A pad is about 1 000 CSS pixels wide; at a device pixel ratio of 3 that is 3 000.
MAX_SIGNATURE_SIDE = 4096
MAX_SIGNATURE_PIXELS = 8_000_000
_PREFIX = "data:image/png;base64,"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _too_large(field: str) -> DomainError:
    return DomainError(
        _("The signature image is too large; clear the pad and sign again."),
        field=field,
        code="signature_too_large",
    )


def signature_refuse_oversized(data: str | bytes | None, *, field: str = "signature") -> None:
    """Refuse a signature whose bytes or declared pixels are too many, without decoding it.

    Anything else wrong with it (blank, not a PNG) is left to `signature_png`, so
    the walk-around's own checks still speak first.
    """
    if isinstance(data, str):
        if len(data) > MAX_SIGNATURE_DATA_URL:
            raise _too_large(field)
        data = data.strip()
        if not data.startswith(_PREFIX):
            return
        try:
            data = base64.b64decode(data[len(_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            return
    if not data:
        return
    if len(data) > MAX_SIGNATURE_BYTES:
        raise _too_large(field)
    try:
        # Image.open reads the header only; the pixels stay compressed.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            width, height = Image.open(io.BytesIO(data)).size
    except Image.DecompressionBombError as exc:
        raise _too_large(field) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return
    if max(width, height) > MAX_SIGNATURE_SIDE or width * height > MAX_SIGNATURE_PIXELS:
        raise _too_large(field)


def signature_png(data: str | bytes, *, field: str = "signature") -> ContentFile:
    """A ContentFile holding the PNG, or DomainError: missing, too large, not a PNG or blank."""
    signature_refuse_oversized(data, field=field)
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
    if not raw.startswith(_PNG_MAGIC):
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
