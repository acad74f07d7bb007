"""The numbered rules of steps 4-5 (DOMAIN.md), editable by the service manager at /settings/."""

from django.utils.translation import gettext_lazy as _

from dealership.rules import register

register(
    "workshop.progress_check_percent",
    80,
    _("The advisor checks progress when this share of the planned time has passed"),
    "%",
)
register(
    "workshop.promise_alert_minutes",
    30,
    _("Alert the advisor at least this long before a same-day promise that will be missed"),
    _("minutes"),
)
register(
    "workshop.promise_alert_day_before_hour",
    16,
    _("For a promise on a later day, check it the day before at"),
    _("o'clock"),
)
register(
    "workshop.board_refresh_seconds",
    15,
    _("The job board refreshes itself every"),
    _("seconds"),
)
register(
    "workshop.addition_link_days",
    3,
    _("The customer's additional-work approval link is valid for"),
    _("days"),
)
register(
    "workshop.clock_min_minutes",
    1,
    _("A job clocked off after less than this is flagged to the controller"),
    _("minutes"),
)
register(
    "workshop.clock_low_percent",
    10,
    _("A job clocked below this share of its standard hours is flagged to the controller"),
    "%",
)
register(
    "workshop.clock_high_percent",
    300,
    _("A job clocked above this share of its standard hours is flagged to the controller"),
    "%",
)
register(
    "workshop.express_target_minutes",
    60,
    _("Express lane (快修): a car should be ready this long after check-in"),
    _("minutes"),
    minimum=1,
    maximum=24 * 60,
)
register(
    "workshop.express_max_minutes",
    60,
    _("Express lane (快修): maintenance orders whose catalogue time is under"),
    _("minutes"),
    minimum=1,
    maximum=8 * 60,
)
