"""Demo data on top of every step: `manage.py seed_demo` (a store, a day in progress, a year)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = _("Demo data")
