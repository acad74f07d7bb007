"""Reception's part of a customer's personal data (`dealership.privacy`): the visits, and the
walk-around signature."""

from django.utils.translation import gettext as _

from dealership.privacy import files_erase, personal_data_register

from .models import Visit
from .states import OPEN_STATUSES


def _visits(customer) -> list[dict]:
    return list(
        Visit.objects.filter(customer=customer)
        .order_by("checked_in_at")
        .values(
            "number",
            "status",
            "checked_in_at",
            "delivered_at",
            "vehicle__plate",
            "odometer_km",
            "concern_text",
        )
    )


def _erase(customer) -> int:
    return files_erase(
        Visit.objects.filter(customer=customer),
        "walkaround_signature",
        signer_field="walkaround_signer",
    )


def _refuse(customer) -> str | None:
    numbers = list(
        Visit.objects.filter(customer=customer, status__in=OPEN_STATUSES).values_list(
            "number", flat=True
        )[:5]
    )
    if numbers:
        return _(
            "The customer has an open visit (%(numbers)s): it must be settled and delivered "
            "(its bill paid) or cancelled first."
        ) % {"numbers": ", ".join(numbers)}
    return None


personal_data_register("visits", export=_visits, erase=_erase, refuse=_refuse)
