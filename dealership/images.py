"""Photos people upload (damage marks at reception, technicians' findings).

Every upload is checked and re-encoded before it is stored: at most
`MAX_PHOTO_BYTES`, a real JPEG, PNG, WebP or GIF that Pillow can read, not a
decompression bomb; turned upright by its EXIF orientation, scaled to at most
`MAX_PHOTO_SIDE` pixels and saved as a fresh JPEG. Re-encoding drops whatever else the
file carried (EXIF with the phone's GPS position, scripts hidden in comments, a
polyglot's second payload), so what is served back is only pixels.
"""

import io
import warnings
from pathlib import PurePath

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DomainError

MAX_PHOTO_BYTES = 12 * 1024 * 1024
MAX_PHOTO_SIDE = 2048
MAX_PHOTO_PIXELS = 50_000_000  # a 50-megapixel phone photo; more is refused, not decoded
# Only a JPEG can be decoded at a fraction of its size (`Image.draft`); a PNG, WebP or GIF
# is decoded whole, so it gets a lower cap to keep a worker's memory in bounds.
MAX_LOSSLESS_PIXELS = 16_000_000
DRAFT_FORMATS = {"JPEG", "MPO"}
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}  # MPO: some phones' JPEGs


def photo_reencode(upload, *, field: str = "photo") -> ContentFile:
    """The upload as a clean JPEG, or a DomainError on `field` saying what is wrong."""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_PHOTO_BYTES:
        raise DomainError(
            _("A photo may be at most %(mb)s MB; this one is %(size).1f MB.")
            % {"mb": MAX_PHOTO_BYTES // (1024 * 1024), "size": size / (1024 * 1024)},
            field=field,
            code="photo_too_large",
        )
    upload.seek(0)
    raw = upload.read(MAX_PHOTO_BYTES + 1)
    if len(raw) > MAX_PHOTO_BYTES:
        raise DomainError(
            _("A photo may be at most %(mb)s MB.") % {"mb": MAX_PHOTO_BYTES // (1024 * 1024)},
            field=field,
            code="photo_too_large",
        )
    not_a_photo = DomainError(
        _("This file is not a photo (JPEG, PNG, WebP or GIF)."), field=field, code="not_a_photo"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))
            if image.format not in ACCEPTED_FORMATS:
                raise not_a_photo
            cap = MAX_PHOTO_PIXELS if image.format in DRAFT_FORMATS else MAX_LOSSLESS_PIXELS
            if image.width * image.height > cap:
                raise DomainError(
                    _("This photo has too many pixels; take it at a lower resolution."),
                    field=field,
                    code="photo_too_many_pixels",
                )
            if image.format in DRAFT_FORMATS:
                # Decode a big JPEG at 1/2, 1/4 or 1/8 scale straight away: a 49 MP
                # photo then never sits in memory at full size.
                image.draft("RGB", (MAX_PHOTO_SIDE, MAX_PHOTO_SIDE))
            image.load()
            # Scale down before turning upright, so the turn copies the small image.
            image.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE))
            image = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise not_a_photo from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DomainError(
            _("This photo has too many pixels; take it at a lower resolution."),
            field=field,
            code="photo_too_many_pixels",
        ) from exc
    if image.mode != "RGB":
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=True)
    stem = PurePath(getattr(upload, "name", "") or "photo").stem[:60] or "photo"
    return ContentFile(out.getvalue(), name=f"{stem}.jpg")
