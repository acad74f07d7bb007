"""Manager reports on top of every step: figures, targets, scheduled report emails."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        # Imported here, as Django requires: the registries and models load after the apps.
        from dealership.due import register_kind
        from dealership.navigation import register_nav
        from dealership.roles import Role
        from dealership.start import register_start_panel

        from . import cache, daily, rules, start_panels, tasks  # noqa: F401 - registers settings
        from .services import DELIVERY_KIND

        register_nav("reports:report", _("Reports"), (Role.SERVICE_MANAGER,), 880, more=True)
        register_start_panel(
            "day_figures",
            template="reports/_start_day.html",
            roles=(Role.SERVICE_MANAGER,),
            context=start_panels.day_figures,
            order=1,
        )
        register_start_panel(
            "alerts",
            template="reports/_start_alerts.html",
            roles=(Role.SERVICE_MANAGER,),
            context=start_panels.alerts,
            order=2,
        )
        register_kind(
            DELIVERY_KIND,
            label=_("Report emailed to the managers"),
            handler="reports.services.report_delivery_send_task",
        )
        cache.connect()  # a saved visit, bill, call… makes the next report compute afresh
        daily.connect()  # … and marks the days it touched for the day rows
