"""The technicians' load bars on the board, built in Python.

The template spent about 3 ms a view on them (some 26 technicians, ten values each), as much
as the rest of the page's template; each bar prints only values `selectors.Load` has worked
out already, escaped here as the template escaped them.
"""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

_BAR = (
    '\n        <div class="load{}" id="load-{}">'
    '\n          <strong>{}</strong> <span class="muted">{}</span>'
    '\n          <div class="bar" title="{}%"><span style="width:{}%"></span></div>'
    '\n          <span class="hours">{} h</span>'
    "\n          {}"
    "\n        </div>\n      "
)
_RUNNING = '<span class="muted">\n          ▶ {}</span>'


def load_bars(loads) -> SafeString:
    """One bar per technician: name, team, the day's hours and the car being worked on."""
    return format_html_join(
        "",
        _BAR,
        (
            (
                " over" if load.over else "",
                load.technician.pk,
                load.technician.name,
                load.technician.team,
                load.percent,
                load.percent,
                load.hours_text,
                format_html(_RUNNING, load.current_plate) if load.current_plate else "",
            )
            for load in loads
        ),
    )
