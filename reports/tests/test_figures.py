"""Every report figure on a fixed data set whose answers were worked out by hand.

The report month is January 2026 (Asia/Shanghai); the previous period is December
2025 and the same period last year January 2025. "Now" is 15 February 2026.
Edge cases: a cancelled visit, a voided bill, warranty and internal lines, a visit
checked in on 31 January and settled just after midnight on 1 February, a clock
entry across midnight into the new year, an open clock entry.
"""

from datetime import date, time
from decimal import Decimal
from itertools import count

import pytest
from django.contrib.contenttypes.models import ContentType

from appointments.models import Appointment, Holiday, OpeningHours
from appointments.models import Status as AppointmentStatus
from dealership.models import DueTask
from dealership.rules import rule_set
from dealership.tests.factories import (
    CustomerFactory,
    TechnicianFactory,
    UserFactory,
    VehicleFactory,
)
from delivery.models import Settlement, SettlementLine
from followup.models import Complaint, Survey
from reception.models import Visit
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory
from reports.figures import (
    complaints_by_category,
    monthly_trend,
    orders_by_work_type,
    period_figures,
    spending_bands,
    technician_hours,
)
from reports.periods import MONTH, Period
from reports.selectors import drill_visits
from workorders.models import JobType, LineKind, Payer, WorkOrder
from workshop.models import ClockEntry, Job

pytestmark = pytest.mark.django_db

JAN = Period.containing(MONTH, date(2026, 1, 1))
DEC = Period.containing(MONTH, date(2025, 12, 1))
JAN_LAST_YEAR = Period.containing(MONTH, date(2025, 1, 1))


def at(y, m, d, hour=10, minute=0):
    from appointments.capacity import local_datetime

    return local_datetime(date(y, m, d), time(hour, minute))


NOW = at(2026, 2, 15)
_invoice = count(1)

L, P = LineKind.LABOUR, LineKind.PART
M, R, W, INTERNAL = JobType.MAINTENANCE, JobType.REPAIR, JobType.WARRANTY, JobType.INTERNAL
PAYS = {M: Payer.CUSTOMER, R: Payer.CUSTOMER, W: Payer.MANUFACTURER, INTERNAL: Payer.STORE}


def visit(checked_in, *, vehicle=None, status=VisitStatus.DELIVERED, **fields):
    vehicle = vehicle or VehicleFactory()
    return VisitFactory(
        vehicle=vehicle, customer=vehicle.owner, checked_in_at=checked_in, status=status, **fields
    )


def bill(v, settled_at, lines, *, estimate="0", customer="0", voided=False):
    """A bill with lines [(kind, job type, hours, amount)]."""
    cashier = UserFactory(roles=["cashier"])
    order, _new = WorkOrder.objects.get_or_create(visit=v, defaults={"status": "signed"})
    settlement = Settlement.objects.create(
        visit=v,
        order=order,
        invoice_number=f"INV{next(_invoice):05d}",
        status="voided" if voided else "paid",
        labour_basis="catalogue",
        vat_rate=Decimal("0.13"),
        settled_by=cashier,
        settled_at=settled_at,
        estimate_total=Decimal(estimate),
        customer_total=Decimal(customer),
    )
    for kind, job_type, hours, amount in lines:
        SettlementLine.objects.create(
            settlement=settlement,
            kind=kind,
            job_type=job_type,
            payer=PAYS[job_type],
            name_zh="项目",
            hours=Decimal(hours),
            quantity=1,
            unit_price=Decimal(amount),
            discount_percent=0,
            gross=Decimal(amount),
            amount=Decimal(amount),
        )
    return settlement


def survey(taken_at, scores):
    customer = CustomerFactory()
    call = DueTask.objects.create(
        kind="followup.care_call",
        subject_type=ContentType.objects.get_for_model(customer),
        subject_id=customer.pk,
        due_at=taken_at,
        run_after=taken_at,
    )
    names = ("overall", "explanation", "on_time", "car_clean", "would_recommend")
    return Survey.objects.create(
        call=call, customer=customer, taken_at=taken_at, **dict(zip(names, scores, strict=True))
    )


def complaint(
    number, opened, category, severity, respond_by, close_by, responded=None, closed=None
):
    return Complaint.objects.create(
        number=number,
        customer=CustomerFactory(),
        source="phone",
        category=category,
        severity=severity,
        description="x",
        opened_at=opened,
        respond_by=respond_by,
        close_by=close_by,
        responded_at=responded,
        closed_at=closed,
    )


@pytest.fixture
def store():
    return build_store()


def build_store() -> dict:
    """The fixed data set; returns the visits by name for the drill-down tests."""
    v = {}
    # --- January 2026 --------------------------------------------------------------------
    v["v1"] = visit(
        at(2026, 1, 5, 9),
        is_walk_in=False,
        promised_at=at(2026, 1, 5, 17),
        delivered_at=at(2026, 1, 5, 16),
    )
    bill(v["v1"], at(2026, 1, 5, 14), [(L, M, "5", "5000")], voided=True)  # voided: not counted
    bill(
        v["v1"],
        at(2026, 1, 5, 15),
        [(L, M, "2", "400"), (P, M, "0", "600")],
        estimate="1000",
        customer="1000",
    )
    v["v2"] = visit(
        at(2026, 1, 10),
        is_walk_in=False,
        status=VisitStatus.CLOSED,
        promised_at=at(2026, 1, 11, 12),
        delivered_at=at(2026, 1, 11, 15),
        rework_count=1,
    )
    bill(
        v["v2"],
        at(2026, 1, 11, 14),
        [(L, R, "3", "810"), (P, R, "0", "1500"), (L, W, "1.5", "300"), (P, W, "0", "700")],
        estimate="2000",
        customer="2310",  # 15.5 % over the estimate
    )
    # Warranty only, billed late on the month's last evening (local time).
    v["v3"] = visit(at(2026, 1, 20), delivered_at=at(2026, 1, 31, 23, 40))
    bill(v["v3"], at(2026, 1, 31, 23, 30), [(L, W, "1", "200")])
    v["v4"] = visit(at(2026, 1, 15), status=VisitStatus.CANCELLED)
    # Checked in on 31 January, settled at 00:30 on 1 February: a February repair order.
    v["v5"] = visit(at(2026, 1, 31, 16), delivered_at=at(2026, 2, 1, 8))
    bill(v["v5"], at(2026, 2, 1, 0, 30), [(L, R, "2", "500"), (P, R, "0", "300")], customer="800")
    # Internal job, a comeback, delivered on time.
    v["v6"] = visit(
        at(2026, 1, 22, 9),
        is_comeback=True,
        promised_at=at(2026, 1, 22, 18),
        delivered_at=at(2026, 1, 22, 17),
    )
    bill(v["v6"], at(2026, 1, 22, 16), [(L, INTERNAL, "1", "150")])

    # --- workshop: Sundays closed, New Year's Day a holiday ---------------------------------
    OpeningHours.objects.create(weekday=6, opens=time(8, 30), closes=time(17, 30), closed=True)
    Holiday.objects.create(day=date(2026, 1, 1), name="元旦")
    t1 = TechnicianFactory(name="王师傅", hours_per_day=Decimal("8"))
    t2 = TechnicianFactory(name="李师傅", hours_per_day=Decimal("6"))
    TechnicianFactory(name="离职", hours_per_day=Decimal("8"), active=False)
    job1 = Job.objects.create(
        visit=v["v1"], name_zh="保养", hours=Decimal("2"), status="done", technician=t1,
        finished_at=at(2026, 1, 5, 11, 30),
    )  # fmt: skip
    job2 = Job.objects.create(
        visit=v["v2"], name_zh="修理", hours=Decimal("3"), status="done", technician=t2,
        finished_at=at(2026, 1, 11, 12),
    )  # fmt: skip
    ClockEntry.objects.create(
        job=job1, technician=t1, started_at=at(2026, 1, 5, 9), ended_at=at(2026, 1, 5, 11, 30)
    )
    ClockEntry.objects.create(
        job=job2, technician=t2, started_at=at(2026, 1, 11, 9), ended_at=at(2026, 1, 11, 12)
    )
    ClockEntry.objects.create(job=job1, technician=t1, started_at=at(2026, 1, 20, 9))  # open
    ClockEntry.objects.create(  # New Year's Eve night shift: December
        job=job1, technician=t2, started_at=at(2025, 12, 31, 23), ended_at=at(2026, 1, 1, 1)
    )

    # --- appointments ------------------------------------------------------------------------
    for day, status in [
        (5, AppointmentStatus.ARRIVED),
        (10, AppointmentStatus.ARRIVED),
        (12, AppointmentStatus.NO_SHOW),
        (13, AppointmentStatus.CANCELLED),
    ]:
        vehicle = VehicleFactory()
        Appointment.objects.create(
            customer=vehicle.owner,
            vehicle=vehicle,
            start=at(2026, 1, day, 9),
            end=at(2026, 1, day, 11),
            status=status,
        )

    # --- surveys and complaints -----------------------------------------------------------
    survey(at(2026, 1, 6), (10, 10, 10, 10, 10))  # 100
    survey(at(2026, 1, 12), (8, 6, 7, 9, 5))  # 35 × 2 = 70
    survey(at(2025, 12, 20), (1, 1, 1, 1, 1))  # December
    complaint(
        "C1", at(2026, 1, 5), "quality", "normal",
        respond_by=at(2026, 1, 6), close_by=at(2026, 1, 7),
        responded=at(2026, 1, 5, 12), closed=at(2026, 1, 8),
    )  # fmt: skip
    complaint(
        "C2", at(2026, 1, 20), "price", "important",
        respond_by=at(2026, 1, 21), close_by=at(2026, 1, 23), responded=at(2026, 1, 22),
    )  # fmt: skip
    complaint(  # deadlines still ahead on 15 February: in neither rate yet
        "C3", at(2026, 1, 30), "attitude", "normal",
        respond_by=at(2026, 2, 20), close_by=at(2026, 2, 25),
    )  # fmt: skip

    # --- new cars: first service after 6 months ---------------------------------------------
    nv1 = VehicleFactory(handover_date=date(2025, 7, 10))
    visit(at(2025, 12, 10), vehicle=nv1, status=VisitStatus.IN_PROGRESS)  # came back
    nv2 = VehicleFactory(handover_date=date(2025, 7, 20))
    visit(at(2025, 9, 1), vehicle=nv2, status=VisitStatus.CANCELLED)  # only a cancelled visit
    nv3 = VehicleFactory(handover_date=date(2025, 7, 25))
    visit(at(2026, 2, 3), vehicle=nv3, status=VisitStatus.CHECKED_IN)  # after the period
    VehicleFactory(handover_date=date(2025, 8, 2))  # not in January's cohort

    # --- customers not seen lately, and their spending ---------------------------------------
    l1 = visit(at(2025, 10, 15))
    bill(l1, at(2025, 10, 15, 15), [(L, R, "10", "12000")], customer="12000")
    l2 = visit(at(2025, 6, 1))
    bill(l2, at(2025, 6, 1, 15), [(P, R, "0", "500")], customer="500")
    l3 = visit(at(2025, 1, 10))  # also last year's January
    bill(l3, at(2025, 1, 10, 15), [(L, R, "1", "300"), (P, R, "0", "500")], customer="800")
    l4 = visit(at(2025, 10, 15))
    visit(at(2025, 12, 5), vehicle=l4.vehicle, status=VisitStatus.CANCELLED)
    return v


def test_january_figures(store):
    f = period_figures(JAN, now=NOW)
    assert f["repair_orders"] == 4  # v1, v2, v3, v6 (v5 is February, v4 cancelled)
    assert f["checked_in"] == 5  # v1, v2, v3, v5, v6
    assert f["cancelled"] == 1
    assert f["comebacks"] == 1
    assert f["labour_revenue"] == Decimal("1710.00")  # 400 + 810 + 300 + 200 (internal out)
    assert f["parts_revenue"] == Decimal("2800.00")  # 600 + 1500 + 700
    assert f["warranty_revenue"] == Decimal("1200.00")  # 300 + 700 + 200
    assert f["average_ticket"] == Decimal("1127.50")  # 4510 / 4
    assert f["hours_sold"] == Decimal("7.50")  # 2 + 3 + 1.5 + 1
    assert f["estimate_accuracy"] == Decimal("50.0")  # v1 within, v2 15.5 % over
    assert f["estimate_missed"] == 1
    assert f["delivered"] == 4  # v1, v2, v3 (23:40 on the 31st), v6
    assert f["on_time_rate"] == Decimal("66.7")  # v1, v6 of v1, v2, v6
    assert f["late"] == 1
    assert f["rework_rate"] == Decimal("25.0")
    assert f["reworked"] == 1
    # 31 days − 4 Sundays − New Year's Day = 26 open days × (8 + 6) h of active technicians.
    assert f["hours_available"] == Decimal("364.00")
    assert f["hours_clocked"] == Decimal("5.50")  # 2.5 + 3; the open entry does not count
    assert f["productivity"] == Decimal("136.4")  # 7.5 / 5.5
    assert f["utilisation"] == Decimal("1.5")  # 5.5 / 364
    assert f["appointments"] == 3  # arrived 2 + no-show 1 (the cancelled one is not due)
    assert f["show_rate"] == Decimal("66.7")
    assert f["no_show_rate"] == Decimal("33.3")
    # Arrived 2 ÷ (2 + 4 walk-ins: v3, v4, v5, v6), as appointments.selectors defines it.
    assert f["appointment_rate"] == Decimal("33.3")
    assert f["csi"] == Decimal("85.0")
    assert f["surveys"] == 2
    assert f["complaints"] == 3
    assert f["complaints_important"] == 1
    assert f["response_in_time"] == Decimal("50.0")  # C1 in time, C2 late, C3 not yet due
    assert f["closure_in_time"] == Decimal("0.0")  # C1 closed late, C2 overdue
    assert f["new_cars_due"] == 3  # handed over in July 2025
    assert f["first_service_rate"] == Decimal("33.3")  # only nv1 came back by 31 January
    assert (f["lost_3"], f["lost_6"], f["lost_12"]) == (4, 2, 1)


def test_previous_period_and_last_year(store):
    dec = period_figures(DEC, now=NOW)
    assert dec["repair_orders"] == 0
    assert dec["checked_in"] == 1  # nv1's return
    assert dec["cancelled"] == 1  # l4's second visit
    assert dec["hours_clocked"] == Decimal("2.00")  # the New Year's Eve shift
    assert dec["csi"] == Decimal("10.0")  # five answers of 1 → 1 × 10
    assert dec["average_ticket"] is None
    last_year = period_figures(JAN_LAST_YEAR, now=NOW)
    assert last_year["repair_orders"] == 1
    assert last_year["labour_revenue"] == Decimal("300.00")
    assert last_year["parts_revenue"] == Decimal("500.00")
    feb = period_figures(JAN.next(), now=NOW)
    assert feb["repair_orders"] == 1  # v5
    assert feb["labour_revenue"] == Decimal("500.00")


def test_tables(store):
    types = {row["job_type"]: (row["orders"], row["amount"]) for row in orders_by_work_type(JAN)}
    assert types == {
        "warranty": (2, Decimal("1200.00")),
        "maintenance": (1, Decimal("1000.00")),
        "repair": (1, Decimal("2310.00")),
        "insurance": (0, Decimal("0.00")),
        "internal": (1, Decimal("150.00")),
    }
    complaints = {r["category"]: (r["normal"], r["important"]) for r in complaints_by_category(JAN)}
    assert complaints["quality"] == (1, 0)
    assert complaints["price"] == (0, 1)
    assert complaints["attitude"] == (1, 0)
    assert complaints["time"] == (0, 0)
    techs = {row["name"]: row for row in technician_hours(JAN)}
    assert techs["王师傅"]["standard"] == Decimal("2.00")
    assert techs["王师傅"]["clocked"] == Decimal("2.50")
    assert techs["王师傅"]["productivity"] == Decimal("80.0")
    assert techs["李师傅"]["productivity"] == Decimal("100.0")
    assert "离职" not in techs
    # 12 months to 31 January: l2 500, v1 1000, v2 2310, l1 12000 (l3 is older, v5 later).
    assert [row["customers"] for row in spending_bands(JAN)] == [1, 2, 0, 1]
    trend = monthly_trend(JAN)
    assert [row["month"] for row in trend][0] == date(2025, 2, 1)
    assert trend[-1] == {
        "month": date(2026, 1, 1),
        "orders": 4,
        "labour": Decimal("1710.00"),
        "parts": Decimal("2800.00"),
    }
    assert trend[8]["orders"] == 1 and trend[8]["labour"] == Decimal("12000.00")  # October


def test_drill_down_lists_the_visits_behind_each_figure(store):
    def numbers(key):
        return sorted(drill_visits(key, JAN).values_list("pk", flat=True))

    def pks(*names):
        return sorted(store[n].pk for n in names)

    assert numbers("repair_orders") == pks("v1", "v2", "v3", "v6")
    assert numbers("orders_warranty") == pks("v2", "v3")
    assert numbers("checked_in") == pks("v1", "v2", "v3", "v5", "v6")
    assert numbers("cancelled") == pks("v4")
    assert numbers("late") == pks("v2")
    assert numbers("reworked") == pks("v2")
    assert numbers("comebacks") == pks("v6")
    assert numbers("estimate_missed") == pks("v2")
    assert numbers("delivered") == pks("v1", "v2", "v3", "v6")


def test_a_figure_without_visits_behind_it_has_no_drill_down(store):
    from django.http import Http404

    with pytest.raises(Http404):
        drill_visits("csi", JAN)


def test_figures_of_an_empty_store_are_zero_or_blank():
    f = period_figures(JAN, now=NOW)
    assert f["repair_orders"] == 0
    assert f["average_ticket"] is None
    assert f["on_time_rate"] is None
    assert f["csi"] is None
    assert f["lost_3"] == 0
    assert Visit.objects.count() == 0


def test_the_trend_of_ended_months_is_cached_until_a_bill_changes(store):
    from django.utils import timezone

    october = 8  # index of October 2025 in the 12 months to January 2026
    assert monthly_trend(JAN, now=NOW)[october]["labour"] == Decimal("12000.00")
    october_bill = Settlement.objects.get(settled_at=at(2025, 10, 15, 15))
    Settlement.objects.filter(pk=october_bill.pk).update(status="voided", voided_at=timezone.now())
    assert monthly_trend(JAN, now=NOW)[october]["labour"] == Decimal("0.00")
    # A new bill of the current month is counted live, the ended months still from the cache.
    late = visit(at(2026, 2, 10))
    bill(late, at(2026, 2, 10, 15), [(L, R, "1", "90")], customer="90")
    february = monthly_trend(JAN.next(), now=NOW)
    assert february[-1]["labour"] == Decimal("590.00") and february[-1]["orders"] == 2
    assert february[-2]["orders"] == 4  # January, unchanged


def test_lost_customers_of_three_periods_in_one_query_match_each_period_alone(store):
    from reports.figures import lost_customers

    periods = [JAN, DEC, JAN_LAST_YEAR]
    together = lost_customers(periods)
    assert together == [lost_customers([period])[0] for period in periods]
    assert together[0] == {"lost_3": 4, "lost_6": 2, "lost_12": 1}


def test_the_report_is_reused_until_a_row_behind_it_changes(store, django_assert_max_num_queries):
    from reports.selectors import report_build

    def checked_in(report):
        return next(row.value for row in report.rows if row.figure.key == "checked_in")

    first = report_build(JAN)
    assert checked_in(first) == 5
    with django_assert_max_num_queries(0):  # from the cache: no query at all
        assert checked_in(report_build(JAN)) == 5

    extra = visit(at(2026, 1, 20, 9))  # one more car in January
    with django_assert_max_num_queries(60):
        assert checked_in(report_build(JAN)) == 6

    extra.delete()
    assert checked_in(report_build(JAN)) == 5


def test_a_report_computed_before_the_commit_is_not_reused_after_it(
    store, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reports.selectors import report_build

    with django_capture_on_commit_callbacks(execute=True):
        visit(at(2026, 1, 21, 9))
        report_build(JAN)  # another request between the save and the commit
    with CaptureQueriesContext(connection) as queries:
        report_build(JAN)
    assert len(queries) > 0  # computed afresh after the commit, not taken from the cache


def test_the_report_counts_accuracy_by_the_cashiers_tolerance(store):
    """One setting (`workorders.estimate_tolerance_percent`) for the cashier and the report:
    at 20 % v2's 15.5 % overrun is within the estimate too (the cashier's side: delivery's
    test_settlement)."""
    rule_set("workorders.estimate_tolerance_percent", Decimal("20"))
    f = period_figures(JAN, now=NOW)
    assert f["estimate_accuracy"] == Decimal("100.0")
    assert f["estimate_missed"] == 0


def _kept_equal_recomputed(now=NOW) -> dict:
    """The report as the pages build it (the parts outside the day rows kept under the
    versions of their rows) against a full recomputation; the kept report's values."""
    from reports.selectors import report_build
    from reports.tests.test_day_figures import report_values

    kept = report_values(report_build(JAN, now=now))
    assert kept == report_values(report_build(JAN, now=now, recompute=True))
    return {key: value for key, *value in kept["rows"]}


def test_the_kept_parts_follow_every_change_of_the_rows_they_read(store):
    """QC checks, the technicians, opening days, complaints, targets, new cars and who
    came when are kept apart from the report (`reports.selectors._kept_parts`): each
    change below shows at once, as a full recomputation shows it."""
    from reports.services import report_target_set
    from workshop.models import QualityCheck

    before = _kept_equal_recomputed()
    QualityCheck.objects.create(visit=store["v1"], at=at(2026, 1, 5, 13), passed=False)
    assert _kept_equal_recomputed()["qc_failed"][0] == before["qc_failed"][0] + 1

    technician = TechnicianFactory._meta.model.objects.get(name="李师傅")
    technician.hours_per_day = Decimal("7")
    technician.save()
    changed = _kept_equal_recomputed()
    assert changed["hours_available"][0] > before["hours_available"][0]

    Holiday.objects.create(day=date(2026, 1, 2), name="调休")
    OpeningHours.objects.create(weekday=5, opens=time(8, 30), closes=time(12), closed=True)
    assert _kept_equal_recomputed()["hours_available"][0] < changed["hours_available"][0]

    late = Complaint.objects.get(number="C3")
    late.responded_at = at(2026, 1, 31)
    late.save()
    assert _kept_equal_recomputed()["response_in_time"] != before["response_in_time"]

    report_target_set(month=JAN.first, figure="repair_orders", value=Decimal("9"), actor=None)
    assert _kept_equal_recomputed() == _kept_equal_recomputed()  # read again from the cache

    due = VehicleFactory(handover_date=date(2025, 8, 2))
    due.handover_date = date(2025, 7, 5)
    due.save()
    cohort = _kept_equal_recomputed()
    assert cohort["new_cars_due"][0] == before["new_cars_due"][0] + 1

    returned = Visit.objects.get(pk=store["v6"].pk)
    returned.vehicle = due
    returned.save(update_fields=["vehicle"])
    assert _kept_equal_recomputed()["first_service_rate"] != cohort["first_service_rate"]


def test_kept_complaints_are_counted_against_the_clock_when_read(store):
    """C3's deadline to answer passes on 20 February with no row changed: the kept
    complaints count it as due then, as a recomputation at that time does."""
    on_time = _kept_equal_recomputed()
    later = _kept_equal_recomputed(now=at(2026, 2, 21))
    assert later["response_in_time"] != on_time["response_in_time"]


def test_a_bill_paid_reads_again_only_what_a_bill_changes(store):
    """The first report after a bill is paid reads no complaint, QC check, technician,
    opening day, target or car again: a bill changes none of them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reports.selectors import report_build

    waiting = visit(at(2026, 1, 26))
    report_build(JAN, now=NOW)
    bill(waiting, at(2026, 1, 26, 15), [(L, R, "1", "300")], customer="300")
    with CaptureQueriesContext(connection) as queries:
        orders = {row.figure.key: row.value for row in report_build(JAN, now=NOW).rows}
    read = " ".join(query["sql"] for query in queries.captured_queries)
    for table in (
        "followup_complaint",
        "workshop_qualitycheck",
        "dealership_technician",
        "appointments_holiday",
        "appointments_openinghours",
        "dealership_vehicle",
        "reports_reporttarget",
    ):
        assert f'"{table}"' not in read, table
    assert orders["repair_orders"] == _kept_equal_recomputed()["repair_orders"][0]
