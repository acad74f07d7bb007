"""The deposit receipt (定金收据, WeasyPrint), in the look of the bills' receipts."""

from django.utils import timezone, translation

from dealership.pdf import render_pdf
from dealership.rules import rule
from dealership.visibility import printed_view

from .models import Deposit


def deposit_receipt_pdf(deposit: Deposit, *, viewer=None) -> bytes:
    """The customer's receipt of a deposit: its number, amount, method, what it is for."""
    appointment = deposit.appointment
    language = appointment.customer.language
    with translation.override(language):
        context = {
            "store_name": rule("store.name"),
            "printed_at": timezone.now(),
            "deposit": deposit,
            "appointment": appointment,
            "contact": printed_view(appointment.customer, viewer),
        }
        return render_pdf("appointments/pdf/deposit_receipt.html", context, language=language)
