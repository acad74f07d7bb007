"""Work orders' part of a customer's personal data (`dealership.privacy`): the signature.

The order itself, its lines and amounts stay (an accounting record)."""

from dealership.privacy import files_erase, personal_data_register

from .models import WorkOrder


def _erase(customer) -> int:
    return files_erase(
        WorkOrder.objects.filter(visit__customer=customer), "signature", signer_field="signer_name"
    )


personal_data_register("work_order_signatures", erase=_erase)
