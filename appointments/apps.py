"""Step 1: capacity, booking, reminders, no-shows."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments")

    def ready(self):
        from dealership.navigation import register_nav
        from dealership.roles import Role
        from dealership.start import register_start_panel

        from . import duties, rules, start_panels  # noqa: F401 - registers the rules

        duties.register_kinds()
        register_start_panel(
            "arrivals",
            template="appointments/_start_arrivals.html",
            roles=(Role.ADVISOR, Role.SERVICE_MANAGER),
            context=start_panels.arrivals,
            order=10,
        )
        register_nav(
            "appointments:board",
            _("Appointment board"),
            (Role.ADVISOR, Role.SERVICE_MANAGER, Role.WORKSHOP_CONTROLLER, Role.CUSTOMER_CARE),
            20,
        )
        register_nav(
            "appointments:new",
            _("New appointment"),
            (Role.ADVISOR, Role.SERVICE_MANAGER, Role.CUSTOMER_CARE),
            21,
        )
