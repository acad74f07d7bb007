"""Step 8: call lists, surveys, complaints, archive."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = _("Follow-up")

    def ready(self):
        # Imported here, as Django requires: the registries and models load after the apps.
        from dealership.navigation import register_nav
        from dealership.roles import Role
        from dealership.start import register_start_page
        from delivery.services import after_hand_back_step_register

        from . import (  # noqa: F401 - registers the rules
            duties,
            personal_data,  # noqa: F401 - its part of personal data (dealership.privacy)
            rules,
        )
        from .services import followup_schedule_after_delivery

        duties.register_kinds()
        after_hand_back_step_register(followup_schedule_after_delivery)
        register_start_page(Role.CUSTOMER_CARE, "followup:calls", 60)
        register_nav("followup:calls", pgettext_lazy("menu", "Follow-up"), duties.LIST_ROLES, 700)
        register_nav(
            "followup:complaints",
            _("Complaints"),
            (Role.ADVISOR, Role.CUSTOMER_CARE, Role.SERVICE_MANAGER),
            710,
        )
        register_nav(
            "followup:enquiries",
            _("Enquiries"),
            # The advisor logs them from the customer page; a menu entry would wrap the
            # advisor's one-row menu on a 1366 px tablet.
            (Role.CUSTOMER_CARE, Role.SERVICE_MANAGER),
            715,
            more=True,
        )
