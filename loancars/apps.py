"""Courtesy cars (代步车, issue 20.11): the store's loan fleet, lent with a visit."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoancarsConfig(AppConfig):
    name = "loancars"
    verbose_name = _("Courtesy cars")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from dealership.navigation import register_nav
        from dealership.roles import Role

        register_nav("loancars:loans", _("Courtesy cars"), (Role.ADVISOR, Role.SERVICE_MANAGER), 37)
