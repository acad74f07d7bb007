"""Follow-up at a busy store's scale. Run: pytest -m bench followup -s (or make bench)."""

import time
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from dealership.models import Customer, DueTask, Message, TimelineEvent, Vehicle
from demo.store import make_mobile, make_plate
from followup import duties as K
from followup.models import DailyScan
from followup.services import followup_daily_scan
from reception.models import Visit
from reception.states import VisitStatus
from tests.bench.timing import measure, print_table

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

VEHICLES = 20_000
CALLS = 5_000
HISTORY = 3_000


def _vin(n: int) -> str:
    return f"LBV{n:014d}"


def _fleet(advisor):
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        Customer(name=f"客户{n}", mobile=make_mobile(70_000_000 + n)) for n in range(VEHICLES)
    )
    vehicles = Vehicle.objects.bulk_create(
        Vehicle(vin=_vin(n), plate=make_plate(900_000 + n * 7), owner=c, model="卡罗拉")
        for n, c in enumerate(customers)
    )
    # Every vehicle came once; half of them more than 4 months ago (lost), half last month.
    visits = Visit.objects.bulk_create(
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
    )
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
    started = time.perf_counter()
    first = followup_daily_scan(scan=scan)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    again = followup_daily_scan(scan=scan)
    again_s = time.perf_counter() - started
    print(f"\nDaily scan over {VEHICLES} vehicles: first run {first_s:.1f} s {first}")
    print(f"Daily scan again (nothing new):       {again_s:.1f} s {again}")
    # The large store (when the bench session seeded it) has lost customers of its own.
    assert first["lost_calls"] >= VEHICLES // 2
    assert again["lost_calls"] == 0
