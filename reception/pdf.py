"""Images for the PDFs as data URLs, and the key tag label (rendering: `dealership.pdf`)."""

import base64
import logging

from dealership.pdf import render_pdf

from .models import Visit

logger = logging.getLogger(__name__)


def file_data_url(field_file, mime: str = "image/png") -> str:
    """An image file as a data URL, so the PDF carries it without a web request.

    "" when there is no file, and when the stored file is missing: the PDF is printed
    without the image (its template says the image is missing) rather than not at all.
    """
    if not field_file:
        return ""
    try:
        with field_file.open("rb") as handle:
            encoded = base64.b64encode(handle.read()).decode()
    except FileNotFoundError:
        logger.warning("stored file %s is missing: the PDF is printed without it", field_file.name)
        return ""
    return f"data:{mime};base64,{encoded}"


def key_tag_pdf(visit: Visit) -> bytes:
    """The small key tag label (钥匙卡): tag, plate, order number, advisor, model, colour, spot."""
    return render_pdf("reception/pdf/key_tag.html", {"visit": visit})
