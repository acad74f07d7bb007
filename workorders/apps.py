"""Step 3: the work order, estimate, five confirmations, signature."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = _("Work orders")

    def ready(self):
        # Imported here, as Django requires: the registries and models load after the apps.
        from . import rules  # noqa: F401 - registers the step's store settings
