"""The portal's sign-in limits, editable by the service manager at /settings/."""

from django.utils.translation import gettext_lazy as _

from dealership.rules import register

register(
    "portal.codes_per_10_minutes",
    3,
    _("Portal sign-in codes one mobile may get in 10 minutes"),
    "",
    minimum=1,
    maximum=20,
)
register(
    "portal.codes_per_day",
    10,
    _("Portal sign-in codes one mobile may get in a day"),
    "",
    minimum=1,
    maximum=100,
)
register(
    "portal.sign_in_tries_per_hour",
    30,
    _("Portal sign-in tries from one address in an hour"),
    "",
    minimum=5,
    maximum=1000,
)
