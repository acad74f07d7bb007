"""Imported from DealershipConfig.ready(): the reports' menu entry, settings and due kinds."""

from django.utils.translation import gettext_lazy as _

from dealership.due import register_kind
from dealership.navigation import register_nav
from dealership.roles import Role

from . import cache, rules, tasks  # noqa: F401 - registers the settings and the Celery task
from .services import DELIVERY_KIND

register_nav("reports:report", _("Reports"), (Role.SERVICE_MANAGER,), 880)
register_kind(
    DELIVERY_KIND,
    label=_("Report emailed to the managers"),
    handler="dealership.reports.services.report_delivery_send_task",
)

cache.connect()  # a saved visit, bill, call… makes the next report compute afresh
