"""The report's tables as CSV (one table) and Excel (every table, one sheet each)."""

import csv
import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

# A text cell starting with one of these is run as a formula by Excel, WPS or LibreOffice
# (`=HYPERLINK(...)` leaking data, `@SUM(...)`, `+cmd|...`); OWASP's rule is to prefix a quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """The value as a spreadsheet shows it: text that would start a formula gets a `'` first.

    Numbers stay numbers (a negative amount is not a formula).
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _row(values) -> list:
    return [spreadsheet_cell(value) for value in values]


def _display(value):
    return "" if value is None else value


def report_tables(report) -> dict[str, tuple[str, list[str], list[list]]]:
    """{key: (title, headers, rows)} in the order the page shows them."""
    p = report.period
    summary_headers = [
        _("Section"),
        _("Figure"),
        p.label,
        _("Previous: %(label)s") % {"label": report.previous.label},
        _("Last year: %(label)s") % {"label": report.last_year.label},
        _("Target"),
    ]
    summary = [
        [
            str(section),
            str(row.figure.label),
            _display(row.value),
            _display(row.previous),
            _display(row.last_year),
            _display(row.target),
        ]
        for section, rows in report.sections
        for row in rows
    ]
    return {
        "summary": (_("Figures"), summary_headers, summary),
        "work_types": (
            _("Repair orders by work type"),
            [_("Work type"), _("Repair orders"), _("Amount")],
            [[str(r["label"]), r["orders"], r["amount"]] for r in report.work_types],
        ),
        "complaints": (
            _("Complaints by category"),
            [_("Category"), _("Normal"), _("Important")],
            [[str(r["label"]), r["normal"], r["important"]] for r in report.complaints],
        ),
        "technicians": (
            _("Technician hours"),
            [_("Technician"), _("Team"), _("Standard hours done"), _("Hours clocked"), "%"],
            [
                [r["name"], r["team"], r["standard"], r["clocked"], _display(r["productivity"])]
                for r in report.technicians
            ],
        ),
        "spending": (
            _("Customers by spending band"),
            [_("Band"), _("Customers")],
            [[str(r["label"]), r["customers"]] for r in report.spending],
        ),
        "trend": (
            _("Trend per month"),
            [_("Month"), _("Repair orders"), _("Labour revenue"), _("Parts revenue")],
            [[f"{r['month']:%Y-%m}", r["orders"], r["labour"], r["parts"]] for r in report.trend],
        ),
    }


def table_csv(report, key: str) -> str:
    _title, headers, rows = report_tables(report)[key]
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese text only with the BOM
    writer = csv.writer(out)
    writer.writerow(_row(headers))
    writer.writerows(_row(row) for row in rows)
    return out.getvalue()


def report_xlsx(report) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, headers, rows in report_tables(report).values():
        sheet = book.create_sheet(title=title[:31])
        sheet.append(_row(headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(_row(row))
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 4, 10), 50)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
