"""The technicians' load bars on the board, built in Python.

The template spent about 3 ms a view on them (some 26 technicians, ten values each), as much
as the rest of the page's template; each bar prints only values `selectors.Load` has worked
out already, escaped here as the template escaped them.
"""

from html import escape

from django.utils.safestring import SafeString, mark_safe

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
    """One bar per technician: name, team, the day's hours and the car being worked on.

    Each value escaped as `format_html` escapes it (`html.escape` of its text), without
    its cost per value: the numbers need none."""
    bars = []
    for load in loads:
        technician = load.technician
        percent = load.percent
        bars.append(
            _BAR.format(
                " over" if load.over else "",
                technician.pk,
                escape(str(technician.name)),
                escape(str(technician.team)),
                percent,
                percent,
                escape(load.hours_text),
                _RUNNING.format(escape(str(load.current_plate))) if load.current_plate else "",
            )
        )
    return mark_safe("".join(bars))  # noqa: S308 - every text escaped above
