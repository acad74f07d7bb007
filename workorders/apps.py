"""Step 3: the work order, estimate, five confirmations, signature."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = _("Work orders")

    def ready(self):
        # Imported here, as Django requires: the registries and models load after the apps.
        from appointments.visits import visit_reads_register
        from reception.services import booked_check_in_step_register

        from . import (  # noqa: F401 - registers the step's store settings
            personal_data,  # noqa: F401 - its part of personal data (dealership.privacy)
            rules,
            selectors,
            services,
        )

        visit_reads_register(maintenance_visits=selectors.last_maintenance_visits)
        booked_check_in_step_register(services.work_order_from_booking)

        # Warranty claims (issue 16.3): the claims clerk starts on the claims list.
        from dealership.navigation import register_nav
        from dealership.roles import Role
        from dealership.start import register_start_page

        from .claims import CLAIM_ROLES

        register_start_page(Role.CLAIMS_CLERK, "claims:list", 55)
        register_nav(
            "claims:list",
            _("Warranty claims"),
            CLAIM_ROLES,
            650,
            more_for=(Role.SERVICE_MANAGER,),
        )
