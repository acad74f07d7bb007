"""The report as a PDF (WeasyPrint, the charts as inline SVG)."""

from django.utils import timezone

from dealership.rules import rule
from reception.pdf import render_pdf


def report_pdf(report) -> bytes:
    return render_pdf(
        "reports/pdf.html",
        {"report": report, "store_name": rule("store.name"), "printed_at": timezone.now()},
    )
