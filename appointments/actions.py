"""What appointments offer on a vehicle's page: book it."""

from django.urls import reverse
from django.utils.translation import gettext as _

from dealership.actions import Action


def vehicle_actions(vehicle) -> list[Action]:
    url = reverse("appointments:new") + f"?vehicle={vehicle.pk}"
    return [Action("book", _("Book an appointment"), url)]
