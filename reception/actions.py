"""What reception offers on a vehicle's page: its open visit, or a check-in."""

from django.urls import reverse
from django.utils.translation import gettext as _

from dealership.actions import Action

from . import selectors


def vehicle_actions(vehicle) -> list[Action]:
    visit = selectors.open_visit_for(vehicle)
    if visit is not None:
        label = _("Open visit %(number)s") % {"number": visit.number}
        return [Action("open-visit", label, visit.get_absolute_url(), primary=True)]
    url = reverse("reception:check_in") + f"?vehicle={vehicle.pk}"
    return [Action("check-in", _("Check in"), url, primary=True)]
