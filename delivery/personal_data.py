"""Delivery's part of a customer's personal data (`dealership.privacy`): the hand-back
signature. Settlements, invoices and receipts stay as they are (accounting records)."""

from dealership.privacy import files_erase, personal_data_register

from .models import Delivery


def _erase(customer) -> int:
    return files_erase(
        Delivery.objects.filter(visit__customer=customer),
        "handback_signature",
        signer_field="handback_signer",
    )


personal_data_register("delivery_signatures", erase=_erase)
