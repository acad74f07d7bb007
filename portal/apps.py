"""The customer portal on the phone (issue 19 item 3): one signed-in place for the customer's
cars, visits, approvals, documents, survey and complaints."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Customer portal")

    def ready(self):
        from . import (  # noqa: F401 - registers the portal's rules
            personal_data,  # its part of personal data (dealership.privacy)
            rules,
        )
