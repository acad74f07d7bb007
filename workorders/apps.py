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

        from . import rules, selectors, services  # noqa: F401 - registers the step's store settings

        visit_reads_register(maintenance_visits=selectors.last_maintenance_visits)
        booked_check_in_step_register(services.work_order_from_booking)
