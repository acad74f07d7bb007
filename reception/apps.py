"""Step 2: check-in, walk-around, concern, diagnosis."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ReceptionConfig(AppConfig):
    name = "reception"
    verbose_name = _("Reception")

    def ready(self):
        # Imported here, as Django requires: the registries and models load after the apps.
        from appointments.visits import visit_reads_register
        from dealership.actions import register_vehicle_actions
        from dealership.navigation import register_nav
        from dealership.roles import Role
        from dealership.start import register_start_panel

        from . import (  # noqa: F401 - registers the step's store settings
            actions,
            personal_data,  # noqa: F401 - its part of personal data (dealership.privacy)
            progress_push,
            rules,
            selectors,
            start_panels,
        )

        progress_push.register_kinds()

        register_vehicle_actions(actions.vehicles_actions, 10)
        visit_reads_register(walk_ins=selectors.walk_in_visits)

        register_start_panel(
            "on_site",
            template="reception/_start_on_site.html",
            roles=(Role.ADVISOR, Role.SERVICE_MANAGER),
            context=start_panels.on_site,
            order=20,
        )

        register_nav("reception:check_in", _("Check-in"), (Role.ADVISOR, Role.SERVICE_MANAGER), 30)
        register_nav(
            "reception:on_site",
            pgettext_lazy("menu", "On site"),
            (Role.ADVISOR, Role.WORKSHOP_CONTROLLER, Role.CASHIER, Role.SERVICE_MANAGER),
            35,
        )
        register_nav(
            "reception:lounge_settings",
            _("Lounge display"),
            (Role.SERVICE_MANAGER,),
            897,
            more=True,
        )
