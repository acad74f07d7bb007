"""Steps 4-5: dispatch, clocking, additional work, QC, rework."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class WorkshopConfig(AppConfig):
    name = "workshop"
    verbose_name = _("Workshop")

    def ready(self):
        # Imported here, as Django requires: the registries and models load after the apps.
        from dealership.navigation import register_nav
        from dealership.roles import Role
        from dealership.start import register_start_page, register_start_panel
        from dealership.workload import register_readers

        from . import duties, roster, rules, start_panels  # noqa: F401 - registers the settings

        duties.register_kinds()
        register_readers(
            absences=roster.absences,
            carry_over=roster.carry_over,
            queue_hours=roster.queue_hours,
        )
        register_start_page(Role.WORKSHOP_CONTROLLER, "workshop:board", 30)
        register_start_page(Role.QC_INSPECTOR, "workshop:qc", 35)
        register_start_page(Role.TECHNICIAN, "workshop:my_jobs", 40)
        register_start_panel(
            "approvals_waiting",
            template="workshop/_start_approvals.html",
            roles=(Role.ADVISOR, Role.SERVICE_MANAGER),
            context=start_panels.approvals_waiting,
            order=30,
        )
        register_nav(
            "workshop:board",
            pgettext_lazy("menu", "Job board"),
            (Role.WORKSHOP_CONTROLLER, Role.ADVISOR, Role.QC_INSPECTOR, Role.SERVICE_MANAGER),
            40,
        )
        register_nav(
            "workshop:roster",
            pgettext_lazy("menu", "Roster"),
            (Role.WORKSHOP_CONTROLLER, Role.SERVICE_MANAGER),
            43,
        )
        register_nav("workshop:my_jobs", pgettext_lazy("menu", "My jobs"), (Role.TECHNICIAN,), 41)
        register_nav(
            "workshop:qc",
            pgettext_lazy("menu", "QC"),
            (Role.QC_INSPECTOR, Role.WORKSHOP_CONTROLLER, Role.SERVICE_MANAGER),
            42,
        )
