"""Courtesy cars (代步车, issue 20.11): the store's loan fleet, lent with a visit."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoancarsConfig(AppConfig):
    name = "loancars"
    verbose_name = _("Courtesy cars")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from dealership.navigation import register_nav
        from dealership.roles import Role

        from . import states  # noqa: F401 - registers the car's and the loan's state tables

        # The advisor lends a car from the visit or appointment page; the menu entry is the
        # manager's (under "More"), so the advisor's menu stays one row on a tablet.
        register_nav("loancars:loans", _("Courtesy cars"), (Role.SERVICE_MANAGER,), 895, more=True)
