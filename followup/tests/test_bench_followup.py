"""Follow-up at a busy store's scale. Run: pytest -m bench followup -s (or make bench).

The daily scan's first run over 60 000 vehicles (issue 21.5: at most 5 s, set-based) and a
second run that finds nothing new; its row goes to the `make bench` table (section "batch").
"""

import os
import time
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealership.daterange import add_months
from dealership.models import (
    ConsentPurpose,
    ConsentRecord,
    Customer,
    DueTask,
    Message,
    TimelineEvent,
    Vehicle,
)
from demo.store import make_mobile, make_plate
from followup import duties as K
from followup.models import DailyScan
from followup.services import followup_daily_scan
from reception.models import Visit
from reception.states import VisitStatus
from tests.bench.timing import Measurement, measure, print_table, record

pytestmark = [pytest.mark.bench, pytest.mark.django_db, pytest.mark.timeout(1800)]

VEHICLES = 60_000
CALLS = 5_000
HISTORY = 3_000


def _vin(n: int) -> str:
    return f"LBV{n:014d}"


def _fleet(advisor):
    """60 000 customers with a car each, all of them agreed to win-back calls. Half came
    130 days ago (lost: the 3-month call), half 30 days ago; every 10th car was handed over
    new in the last 40 days (the N+15 call); every 20th of the lost ones never came back
    after its handover 7 months ago (the first-service call)."""
    now = timezone.now()
    today = timezone.localdate(now)
    customers = Customer.objects.bulk_create(
        (Customer(name=f"客户{n}", mobile=make_mobile(70_000_000 + n)) for n in range(VEHICLES)),
        batch_size=5000,
    )
    ConsentRecord.objects.bulk_create(
        (
            ConsentRecord(
                customer=c,
                purpose=ConsentPurpose.MARKETING,
                granted=True,
                source="import",
                text_code="consent.marketing.grant.v1",
                text="bench",
                language="zh-hans",
            )
            for c in customers
        ),
        batch_size=5000,
    )

    def handover(n):
        if n % 20 == 1:
            return add_months(today, -7)
        return today - timedelta(days=n % 40) if n % 10 == 0 else None

    vehicles = Vehicle.objects.bulk_create(
        (
            Vehicle(
                vin=_vin(n),
                plate=make_plate(900_000 + n * 7),
                owner=c,
                model="卡罗拉",
                handover_date=handover(n),
            )
            for n, c in enumerate(customers)
        ),
        batch_size=5000,
    )
    visits = Visit.objects.bulk_create(
        (
            Visit(
                number=f"RB{n:07d}",
                customer=v.owner,
                vehicle=v,
                advisor=advisor,
                status=VisitStatus.CLOSED,
                checked_in_at=now - timedelta(days=130 if n % 2 else 30),
                delivered_at=now - timedelta(days=130 if n % 2 else 30),
            )
            for n, v in enumerate(vehicles)
            if n % 20 != 1
        ),
        batch_size=5000,
    )
    if connection.vendor == "postgresql":
        # What autovacuum does for a real store after such an import: the planner's figures.
        with connection.cursor() as cursor:
            for model in (Customer, ConsentRecord, Vehicle, Visit):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return customers, vehicles, visits


def test_followup_pages_and_scan_at_scale(client, make_staff):
    care = make_staff("customer_care")
    advisor = make_staff("advisor")
    customers, vehicles, visits = _fleet(advisor)
    now = timezone.now()
    visit_type = ContentType.objects.get_for_model(Visit)
    # 5 000 open care calls, 200 of them due today: the list shows at most 200.
    DueTask.objects.bulk_create(
        DueTask(
            kind=K.CARE_CALL,
            subject_type=visit_type,
            subject_id=visit.pk,
            for_person=True,
            role="customer_care",
            customer=visit.customer,
            due_at=now - timedelta(hours=1) if n < 200 else now + timedelta(days=2),
            run_after=now,
            payload={"visit": visit.pk, "vehicle": visit.vehicle_id},
        )
        for n, visit in enumerate(visits[:CALLS])
    )
    # One customer with a long history.
    busy = customers[0]
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            kind="visit.delivered",
            summary=f"RO{n} 交车",
            customer=busy,
            vehicle=vehicles[0],
            at=now - timedelta(hours=n),
        )
        for n in range(HISTORY)
    )
    Message.objects.bulk_create(
        Message(
            to=busy.mobile,
            channel="sms",
            template="reminder",
            language="zh-hans",
            body=f"提醒 {n}",
            status="sent",
            customer=busy,
            vehicle=vehicles[0],
            sent_at=now - timedelta(hours=n),
        )
        for n in range(500)
    )
    client.force_login(care)
    baseline = measure(client, "/healthz/", name="bare Django page (/healthz/)", runs=10)
    rows = [
        measure(
            client,
            "/followup/calls/care/",
            name="24 h list (50 shown of 200 due, 5 000 open)",
            runs=10,
        ),
        measure(
            client, f"/followup/archive/customer/{busy.pk}/", name="archive, 3 500 lines", runs=10
        ),
        measure(
            client, f"/followup/archive/vehicle/{vehicles[0].pk}/", name="vehicle archive", runs=10
        ),
        measure(client, "/followup/complaints/", name="complaints", runs=10),
    ]
    print_table(f"Follow-up pages ({connection.vendor})", rows, baseline)
    for row in rows:
        assert row.queries <= 25, row

    scan = DailyScan.objects.create(day=timezone.localdate())
    vehicles_there = Vehicle.objects.count()
    load_before = os.getloadavg()[0]
    with CaptureQueriesContext(connection) as queries:
        started, started_cpu = time.perf_counter(), time.process_time()
        first = followup_daily_scan(scan=scan)
        first_s, first_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    started, started_cpu = time.perf_counter(), time.process_time()
    again = followup_daily_scan(scan=scan)
    again_s, again_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    print(
        f"\nDaily scan over {vehicles_there} vehicles: first run {first_s:.1f} s "
        f"(this process's CPU {first_cpu:.1f} s) {first}"
    )
    print(f"Daily scan again: {again_s:.1f} s (CPU {again_cpu:.1f} s) {again}")
    added = first["new_car_calls"] + first["lost_calls"] + first["first_service_calls"]
    record(
        "batch",
        Measurement(
            f"daily scan, first run ({vehicles_there} vehicles)",
            first_s * 1000,
            float("nan"),
            len(queries.captured_queries),
            cpu_ms=first_cpu * 1000,
            note=f"{added} calls added; the second run {again_s:.1f} s, nothing new; "
            f"load average {load_before:.1f} before",
        ),
    )
    # The large store (when the bench session seeded it) has lost customers of its own.
    assert first["lost_calls"] >= VEHICLES // 2 - VEHICLES // 20
    assert first["first_service_calls"] >= VEHICLES // 20
    assert first["new_car_calls"] >= VEHICLES // 10
    assert again["new_car_calls"] == again["lost_calls"] == again["first_service_calls"] == 0
    # Issue 21.5: set-based, a fixed number of statements whatever the number of vehicles.
    assert len(queries.captured_queries) < 200
    if load_before < (os.cpu_count() or 1):
        assert first_s <= 5
