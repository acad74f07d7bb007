"""Steps 6-7: ready notice, final check, settlement, delivery sheet, gate pass."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = _("Delivery")

    def ready(self):
        # Imported here, as Django requires: the registries and models load after the apps.
        from appointments.services import closed_day_guard_register
        from dealership.navigation import register_nav
        from dealership.roles import Role
        from dealership.start import register_start_page

        from . import (  # noqa: F401 - registers the step's store settings
            duties,
            personal_data,  # noqa: F401 - its part of personal data (dealership.privacy)
            rules,
        )
        from .access import CASHIERS, DELIVERERS
        from .day_close import refuse_closed_day

        duties.register_kinds()
        # Deposits (appointments, below delivery) are refused on a closed day too.
        closed_day_guard_register(refuse_closed_day)
        register_start_page(Role.CASHIER, "delivery:cashier", 50)
        # A context of their own: "Cashier" is also the role's name (结算员) elsewhere.
        register_nav("delivery:board", pgettext_lazy("main menu", "Delivery"), DELIVERERS, 60)
        register_nav(
            "delivery:cashier",
            pgettext_lazy("main menu", "Cashier"),
            CASHIERS,
            65,
            more_for=(Role.SERVICE_MANAGER,),
        )
