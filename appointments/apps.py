"""Step 1: capacity, booking, reminders, no-shows."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments")

    def ready(self):
        # Imported here, as Django requires: the registries and models load after the apps.
        from dealership.actions import register_vehicle_actions
        from dealership.navigation import register_nav
        from dealership.roles import Role
        from dealership.start import register_start_panel

        from . import actions, duties, rules, start_panels  # noqa: F401 - registers the rules

        duties.register_kinds()
        register_vehicle_actions(actions.vehicles_actions, 20)
        register_start_panel(
            "arrivals",
            template="appointments/_start_arrivals.html",
            roles=(Role.ADVISOR, Role.SERVICE_MANAGER),
            context=start_panels.arrivals,
            order=10,
        )
        register_nav(
            "appointments:board",
            pgettext_lazy("menu", "Bookings"),
            (Role.ADVISOR, Role.SERVICE_MANAGER, Role.WORKSHOP_CONTROLLER, Role.CUSTOMER_CARE),
            20,
        )
        register_nav(
            "appointments:new",
            pgettext_lazy("menu", "Book"),
            (Role.ADVISOR, Role.SERVICE_MANAGER, Role.CUSTOMER_CARE),
            21,
            more_for=(Role.SERVICE_MANAGER,),
        )
