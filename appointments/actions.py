"""What appointments offer on a vehicle's page: book it."""

from django.urls import reverse
from django.utils.translation import gettext as _

from dealership.actions import Action


def vehicles_actions(vehicles) -> list[list[Action]]:
    new = reverse("appointments:new")
    label = _("Book an appointment")
    return [[Action("book", label, f"{new}?vehicle={vehicle.pk}")] for vehicle in vehicles]
