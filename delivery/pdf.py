"""The PDFs of steps 6–7 (WeasyPrint): delivery sheet, receipt, gate pass."""

from django.utils import timezone, translation

from dealership.rules import rule
from dealership.visibility import printed_view
from reception.models import Visit
from reception.pdf import render_pdf

from . import selectors
from .models import Delivery, Settlement


def _common() -> dict:
    return {"store_name": rule("store.name"), "printed_at": timezone.now()}


def delivery_sheet_pdf(visit: Visit, *, language: str | None = None, viewer=None) -> bytes:
    """交车说明单: the work done with its care notes; next service; declined work."""
    language = language or visit.customer.language
    with translation.override(language):
        sheet = selectors.delivery_sheet(visit, language=language)
        context = {
            **_common(),
            "sheet": sheet,
            "visit": visit,
            "contact": printed_view(visit.customer, viewer),
        }
        return render_pdf("delivery/pdf/sheet.html", context, language=language)


def receipt_pdf(settlement: Settlement, *, language: str | None = None, viewer=None) -> bytes:
    """The customer's receipt of a settlement: lines by payer, VAT, payments, refunds."""
    visit = settlement.visit
    language = language or visit.customer.language
    context = {
        **_common(),
        "settlement": settlement,
        "visit": visit,
        "contact": printed_view(visit.customer, viewer),
        "refunded": selectors.refunded_total(settlement),
        "deposits": selectors.deposits_credited(settlement),
    }
    return render_pdf("delivery/pdf/receipt.html", context, language=language)


def gate_pass_pdf(visit: Visit, delivery: Delivery, settlement: Settlement) -> bytes:
    """出门证 for the guard at the gate."""
    context = {**_common(), "visit": visit, "delivery": delivery, "settlement": settlement}
    return render_pdf("delivery/pdf/gate_pass.html", context)
