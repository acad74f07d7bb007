"""The report pages, exports, targets and the scheduled email delivery."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from dealership.models import DueTask
from dealership.rules import rule_set
from reports.models import ReportDelivery, ReportTarget
from reports.periods import DAY, MONTH, WEEK, Period
from reports.services import (
    DELIVERY_KIND,
    deliveries_due_on,
    report_deliveries_ensure,
    report_delivery_send,
)
from reports.tests import test_figures as data
from reports.tests.test_figures import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return data.build_store()


JANUARY = "period=month&date=2026-01-01"


@pytest.fixture
def manager_client(client, make_staff):
    client.force_login(make_staff("service_manager"))
    client.cookies["django_language"] = "en"
    return client


def test_monthly_report_shows_figures_comparisons_charts_and_drill_links(
    manager_client, store, django_assert_max_num_queries
):
    with django_assert_max_num_queries(80):
        response = manager_client.get(reverse("reports:report") + "?" + JANUARY)
    assert response.status_code == 200
    html = response.content.decode()
    assert "January 2026" in html and "December 2025" in html and "January 2025" in html
    assert "¥1,710.00" in html  # labour revenue
    assert "¥1,127.50" in html  # average ticket
    assert html.count("<svg") == 4
    assert "figure=late&amp;period=month&amp;date=2026-01-01" in html
    assert "figure=orders_warranty" in html


def test_query_count_does_not_grow_with_the_data(manager_client):
    url = reverse("reports:report") + "?" + JANUARY
    manager_client.get(url)
    with CaptureQueriesContext(connection) as empty:
        manager_client.get(url)
    for day in range(1, 20):
        v = data.visit(at(2026, 1, day), delivered_at=at(2026, 1, day, 17))
        data.bill(v, at(2026, 1, day, 16), [(data.L, data.R, "1", "100")], customer="100")
    manager_client.get(url)  # the ended months' trend is cached again (new bills, new stamp)
    with CaptureQueriesContext(connection) as full:
        manager_client.get(url)
    assert len(full.captured_queries) == len(empty.captured_queries)


def test_the_page_is_kept_until_a_row_behind_it_changes_in_each_language(manager_client, store):
    url = reverse("reports:report") + "?" + JANUARY
    first = manager_client.get(url).context["content"]
    assert "¥1,710.00" in first  # labour revenue
    again = manager_client.get(url)
    assert again.context["content"] == first
    assert "reports/_report.html" not in [template.name for template in again.templates]

    v = data.visit(at(2026, 1, 20), delivered_at=at(2026, 1, 20, 17))
    data.bill(v, at(2026, 1, 20, 16), [(data.L, data.R, "1", "100")], customer="100")
    changed = manager_client.get(url).content.decode()
    assert "¥1,810.00" in changed and "¥1,710.00" not in changed

    manager_client.cookies["django_language"] = "zh-hans"
    chinese = manager_client.get(url).content.decode()
    assert "报表" in chinese and "Labour revenue" not in chinese and "¥1,810.00" in chinese


@pytest.mark.parametrize("kind", [DAY, WEEK, MONTH])
def test_daily_weekly_and_monthly_views(manager_client, store, kind):
    response = manager_client.get(reverse("reports:report"), {"period": kind, "date": "2026-01-05"})
    assert response.status_code == 200
    assert response.context["report"].period == Period.containing(kind, date(2026, 1, 5))
    if kind == DAY:
        assert response.context["report"].rows[0].value == 1  # v1 settled on 5 January


def test_junk_period_or_date_is_404(manager_client):
    url = reverse("reports:report")
    assert manager_client.get(url, {"period": "year"}).status_code == 404
    assert manager_client.get(url, {"date": "2026-13-01"}).status_code == 404


def test_drill_down_lists_the_late_delivery(manager_client, store):
    response = manager_client.get(reverse("reports:drill") + "?figure=late&" + JANUARY)
    assert response.status_code == 200
    assert store["v2"].number in response.content.decode()
    assert store["v1"].number not in response.content.decode()
    assert manager_client.get(reverse("reports:drill") + "?figure=csi").status_code == 404


def test_targets_are_set_per_month_and_shown_against_the_figure(manager_client, store):
    url = reverse("reports:targets") + "?date=2026-01-01"
    assert manager_client.get(url).status_code == 200
    response = manager_client.post(
        url, {"date": "2026-01-01", "repair_orders": "5", "on_time_rate": "60", "csi": ""}
    )
    assert response.status_code == 302
    assert ReportTarget.objects.get(month=date(2026, 1, 1), figure="repair_orders").value == 5
    report = manager_client.get(reverse("reports:report") + "?" + JANUARY).context["report"]
    rows = {row.figure.key: row for row in report.rows}
    assert rows["repair_orders"].target == 5 and rows["repair_orders"].target_met is False
    assert rows["on_time_rate"].target_met is True  # 66.7 % ≥ 60 %
    assert rows["csi"].target is None
    other = manager_client.get(reverse("reports:report") + "?period=month&date=2026-02-01")
    assert {r.figure.key: r for r in other.context["report"].rows}["repair_orders"].target is None
    # Clearing a target removes it; junk is refused next to the field and changes nothing.
    bad = manager_client.post(url, {"date": "2026-01-01", "repair_orders": "x"})
    assert bad.status_code == 400
    assert "Enter a number." in bad.content.decode()
    manager_client.post(url, {"date": "2026-01-01", "repair_orders": ""})
    assert not ReportTarget.objects.filter(figure="repair_orders").exists()


def test_csv_export_of_each_table(manager_client, store):
    response = manager_client.get(reverse("reports:export_csv") + "?table=work_types&" + JANUARY)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Work type", "Repair orders", "Amount"]
    assert ["Warranty", "2", "1200.00"] in rows
    summary = manager_client.get(reverse("reports:export_csv") + "?" + JANUARY)
    lines = list(csv.reader(io.StringIO(summary.content.decode("utf-8-sig"))))
    assert any(line[1] == "Repair orders" and line[2] == "4" for line in lines)
    missing = manager_client.get(reverse("reports:export_csv") + "?table=nope&" + JANUARY)
    assert missing.status_code == 404


def test_xlsx_export_has_a_sheet_per_table(manager_client, store):
    from openpyxl import load_workbook

    response = manager_client.get(reverse("reports:export_xlsx") + "?" + JANUARY)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "Figures",
        "Repair orders by work type",
        "Complaints by category",
        "Technician hours",
        "Customers by spending band",
        "Trend per month",
    ]
    figures = {row[1]: row[2] for row in book["Figures"].iter_rows(min_row=2, values_only=True)}
    assert Decimal(str(figures["Labour revenue"])) == Decimal("1710")


def test_monthly_pdf(manager_client, store):
    response = manager_client.get(reverse("reports:pdf") + "?" + JANUARY)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_other_roles_are_refused(client, make_staff):
    client.force_login(make_staff("advisor"))
    assert client.get(reverse("reports:report")).status_code == 403
    assert client.get(reverse("reports:export_xlsx")).status_code == 403


# ----------------------------------------------------------------------- delivery


def test_what_is_due_on_which_day():
    # Friday 30 January 2026: the daily report (of Thursday) only.
    assert [p for p, _at in deliveries_due_on(date(2026, 1, 30))] == [
        Period.containing(DAY, date(2026, 1, 29))
    ]
    # Saturday 31 January 2026: daily, weekly (the week so far) and monthly (the last day).
    due = deliveries_due_on(date(2026, 1, 31))
    assert [p.kind for p, _at in due] == [DAY, WEEK, MONTH]
    assert due[1][0].first == date(2026, 1, 26)
    assert due[0][1] == at(2026, 1, 31, 7, 30)  # before opening (the default 07:30)
    assert due[1][1] == at(2026, 1, 31, 17)
    assert due[2][1] == at(2026, 1, 31, 18)


def test_send_times_are_settings():
    rule_set("reports.daily_time", "06:45")
    rule_set("reports.monthly_time", "not a time")  # falls back to the default
    due = deliveries_due_on(date(2026, 1, 31))
    assert due[0][1] == at(2026, 1, 31, 6, 45)
    assert due[2][1] == at(2026, 1, 31, 18)


def test_deliveries_are_scheduled_once_and_emailed_to_managers_once(make_staff, store):
    manager = make_staff("service_manager")
    manager.email = "boss@example.com"
    manager.save()
    advisor = make_staff("advisor")
    advisor.email = "advisor@example.com"
    advisor.save()
    created = report_deliveries_ensure(now=at(2026, 1, 31, 1))
    assert [d.kind for d in created] == [DAY, WEEK, MONTH]
    assert report_deliveries_ensure(now=at(2026, 1, 31, 2)) == []
    tasks = DueTask.objects.filter(kind=DELIVERY_KIND).order_by("due_at")
    assert [t.due_at for t in tasks] == [
        at(2026, 1, 31, 7, 30),
        at(2026, 1, 31, 17),
        at(2026, 1, 31, 18),
    ]

    monthly = ReportDelivery.objects.get(kind=MONTH)
    with translation.override("en"):
        result = report_delivery_send(delivery=monthly, now=at(2026, 1, 31, 18))
    assert result == {"sent_to": 1}
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["boss@example.com"]
    assert email.attachments[0][0] == "report-month-20260101.pdf"
    assert email.attachments[0][1].startswith(b"%PDF")
    assert "2026" in email.subject
    # Performed again (a crashed worker, a second dispatcher): nothing is sent twice.
    report_delivery_send(delivery=monthly)
    assert len(mail.outbox) == 1


def test_the_due_task_performs_the_delivery(make_staff):
    from dealership.due import kind_get

    manager = make_staff("service_manager")
    manager.email = "boss@example.com"
    manager.save()
    report_deliveries_ensure(now=at(2026, 1, 30, 1))
    task = DueTask.objects.get(kind=DELIVERY_KIND)
    assert kind_get(DELIVERY_KIND).perform(task) == {"sent_to": 1}
    assert ReportDelivery.objects.get().sent_at is not None
    assert mail.outbox[0].to == ["boss@example.com"]
