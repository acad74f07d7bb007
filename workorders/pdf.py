"""The work order as a PDF contract (WeasyPrint), in the customer's language."""

import base64
import io
from functools import lru_cache

import qrcode
from qrcode.image.pil import PilImage

from dealership.rules import rule
from dealership.visibility import printed_view
from reception.pdf import file_data_url, render_pdf
from reception.states import VisitStatus

from . import selectors
from .models import WorkOrder
from .repair_warranty import order_terms


@lru_cache(maxsize=256)
def qr_data_url(text: str) -> str:
    """A QR code of `text` as a PNG data URL, one pixel a module.

    The template scales it up without smoothing (`image-rendering: pixelated`). A PNG of a
    few hundred bytes is placed in the PDF as it is; the same code as an SVG path of a
    square per module cost WeasyPrint about 20 ms to draw on every print. Cached: a visit's
    progress link does not change, and encoding it costs several ms.
    """
    if not text:
        return ""
    image = qrcode.make(text, image_factory=PilImage, box_size=1, border=1)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def work_order_pdf(order: WorkOrder, *, progress_url: str = "", viewer=None) -> bytes:
    """One revision of the work order: header, parties, walk-around, jobs, terms, signature."""
    visit = order.visit
    context = {
        "order": order,
        "visit": visit,
        "contact": printed_view(visit.customer, viewer),
        "store_name": rule("store.name"),
        "groups": selectors.grouped_lines(order),
        "payers": selectors.totals_by_payer(order),
        "needs_disclaimer": any(line.needs_disclaimer for line in order.lines.all()),
        "tolerance": rule("workorders.estimate_tolerance_percent"),
        "marks": list(visit.damage_marks.all()),
        "belongings": list(visit.belongings.all()),
        "signature": file_data_url(order.signature),
        "walkaround_signature": file_data_url(visit.walkaround_signature),
        "qr": qr_data_url(progress_url),
        "progress_url": progress_url,
        "draft": order.is_draft,
        "cancelled": visit.status == VisitStatus.CANCELLED,
        "repair_warranty_terms": order_terms(order),
    }
    return render_pdf(
        "workorders/pdf/work_order.html",
        context,
        language=visit.customer.language,
        compact_if_longer_than=1,
    )
