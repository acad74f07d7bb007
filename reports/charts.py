"""Small inline SVG charts drawn on the server (the page and the PDF show the same markup)."""

from html import escape

from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

COLOURS = ["#1f6feb", "#f08c00", "#2f9e44", "#c92a2a", "#7048e8", "#0b7285"]
FONT = "font-family=\"'WenQuanYi Micro Hei', sans-serif\""


def _num(value) -> float:
    return float(value or 0)


def _short(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.1f}"


def bar_chart(labels, series, *, title: str, width: int = 640, height: int = 220) -> str:
    """Grouped vertical bars: `series` is [(name, [values...]), ...] aligned with `labels`."""
    top, bottom, left, right = 28, 36, 44, 8
    plot_h, plot_w = height - top - bottom, width - left - right
    peak = max([_num(v) for _name, values in series for v in values] + [1])
    group_w = plot_w / max(len(labels), 1)
    bar_w = max(group_w * 0.8 / max(len(series), 1), 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" {FONT} font-size="11">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" fill="#555">{_short(peak)}</text>',
    ]
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for s, (_name, values) in enumerate(series):
            value = _num(values[i])
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x0 + s * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w - 1:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[s % len(COLOURS)]}"><title>{escape(str(label))}: '
                f"{_short(value)}</title></rect>"
            )
        parts.append(
            f'<text x="{left + (i + 0.5) * group_w:.1f}" y="{height - bottom + 14}" '
            f'text-anchor="middle" fill="#333">{escape(str(label))}</text>'
        )
    x = width - right
    for s, (name, _values) in reversed(list(enumerate(series))):
        text = escape(str(name))
        x -= 14 + 12 * len(text)
        parts.append(
            f'<rect x="{x}" y="7" width="10" height="10" fill="{COLOURS[s % len(COLOURS)]}"/>'
            f'<text x="{x + 13}" y="16">{text}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def hbar_chart(rows, *, title: str, width: int = 640, unit: str = "") -> str:
    """Horizontal bars: rows is [(label, value), ...]."""
    row_h, top, left = 22, 26, 150
    height = top + row_h * max(len(rows), 1) + 6
    peak = max([_num(v) for _label, v in rows] + [1])
    plot_w = width - left - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" {FONT} font-size="11">',
        f'<text x="4" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * _num(value) / peak
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(str(label))}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{COLOURS[i % len(COLOURS)]}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 14}">{_short(_num(value))}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def report_charts(report) -> dict:
    months = [f"{row['month']:%y/%m}" for row in report.trend]
    trend = bar_chart(
        months,
        [
            (_("Labour"), [row["labour"] for row in report.trend]),
            (_("Parts"), [row["parts"] for row in report.trend]),
        ],
        title=_("Revenue per month (¥)"),
    )
    orders = bar_chart(
        months,
        [(_("Repair orders"), [row["orders"] for row in report.trend])],
        title=_("Repair orders per month"),
        height=180,
    )
    mix = hbar_chart(
        [(row["label"], row["orders"]) for row in report.work_types],
        title=_("Repair orders by work type"),
    )
    technicians = bar_chart(
        [row["name"] for row in report.technicians],
        [
            (_("Standard hours done"), [row["standard"] for row in report.technicians]),
            (_("Hours clocked"), [row["clocked"] for row in report.technicians]),
        ],
        title=_("Technician hours"),
    )
    return {"trend": trend, "orders": orders, "mix": mix, "technicians": technicians}
