"""Sheets the cashier downloads for other software: the bills waiting for an official invoice."""

import io
from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from .models import Settlement, TaxInvoiceKind


def tax_invoice_workbook(settlements: Iterable[Settlement]) -> bytes:
    """One row per bill, as the tax software's import asks: buyer, tax number, kind, and the
    amount the customer paid with its VAT split (the bill's own `vat_amount`)."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("Invoices to issue")
    sheet.append(
        [
            _("Bill"),
            _("Settled on"),
            _("Order"),
            _("Invoice kind"),
            _("Buyer"),
            _("Tax number"),
            _("Address and phone"),
            _("Bank and account"),
            _("Amount incl. VAT (¥)"),
            _("Amount excl. VAT (¥)"),
            _("VAT rate"),
            _("VAT (¥)"),
        ]
    )
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for bill in settlements:
        sheet.append(
            [
                bill.invoice_number,
                timezone.localtime(bill.settled_at).date(),
                bill.visit.number,
                str(TaxInvoiceKind(bill.tax_invoice_kind).label),
                bill.buyer_name,
                bill.buyer_tax_number,
                bill.buyer_address_phone,
                bill.buyer_bank_account,
                bill.amount_due,
                bill.net_amount,
                bill.vat_rate,
                bill.vat_amount,
            ]
        )
    for column in ("A", "C", "D", "E", "F", "G", "H"):
        sheet.column_dimensions[column].width = 22
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
