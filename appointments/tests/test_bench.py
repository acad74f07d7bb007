"""Appointment pages at a busy store's scale. Run: make bench, or
pytest -m bench appointments/tests/test_bench.py -s -p no:cacheprovider

A year of appointments (≈ 55 a day, 360 days) on top of the 50 000-customer demo store.
"""

import os
import random
import time as clock
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from appointments.capacity import local_datetime
from appointments.models import Appointment, AppointmentLine, Status
from appointments.selectors import maintenance_due
from dealership.models import LabourOperation, User, Vehicle
from tests.bench.conftest import scale_data  # noqa: F401 - the shared large store
from tests.bench.timing import measure, print_table

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

PER_DAY = 55


@pytest.fixture
def year_of_appointments(scale_data):  # noqa: F811
    rng = random.Random(7)
    today = timezone.localdate()
    vehicles = list(Vehicle.objects.values_list("id", "owner_id")[:60_000])
    operations = list(LabourOperation.objects.all())
    advisors = list(User.objects.filter(groups__name="advisor"))
    appointments = []
    for offset in range(-300, 60):
        day = today + timedelta(days=offset)
        for _ in range(PER_DAY):
            vehicle_id, owner_id = rng.choice(vehicles)
            start = local_datetime(day, time(8, 30))
            start += timedelta(minutes=30 * rng.randrange(18))
            status = Status.ARRIVED if offset < 0 else Status.BOOKED
            if offset < 0 and rng.random() < 0.08:
                status = Status.NO_SHOW
            appointments.append(
                Appointment(
                    customer_id=owner_id,
                    vehicle_id=vehicle_id,
                    advisor=rng.choice(advisors),
                    start=start,
                    end=start + timedelta(hours=1),
                    status=status,
                )
            )
    Appointment.objects.bulk_create(appointments, batch_size=5000)
    lines = []
    for appointment in Appointment.objects.only("id"):
        for op in rng.sample(operations, 2):
            lines.append(
                AppointmentLine(
                    appointment_id=appointment.pk,
                    operation=op,
                    work_type=op.work_type,
                    hours=op.standard_hours,
                    price=op.price,
                    quantity=Decimal(1),
                )
            )
    AppointmentLine.objects.bulk_create(lines, batch_size=10000)
    return Appointment.objects.count()


def test_board_and_booking_pages_at_scale(year_of_appointments, client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    advisor = User.objects.get(username="advisor")
    client.force_login(advisor)
    day = (timezone.localdate() + timedelta(days=3)).isoformat()
    vehicle = Vehicle.objects.order_by("id").first()
    baseline = measure(client, "/healthz/", name="bare Django page (/healthz/)")
    rows = [
        measure(client, "/appointments/", name="board, one day", params={"day": day}),
        measure(client, "/appointments/", name="board, week", params={"day": day, "view": "week"}),
        measure(
            client,
            "/appointments/",
            name="board, one advisor",
            params={"day": day, "advisor": advisor.pk},
        ),
        measure(
            client,
            "/appointments/new/preview/",
            name="slot picker + estimate",
            params={"day": day, "operations": [1, 2]},
        ),
        measure(
            client,
            "/appointments/new/",
            name="booking page for a car",
            params={"vehicle": vehicle.pk},
        ),
    ]
    print_table(
        f"Appointments: {year_of_appointments} bookings ({connection.vendor})", rows, baseline
    )
    # Wall time on a shared machine is noisy: the 100 ms target is asserted only when the
    # machine is not busy with other work (make bench prints the load with its table).
    if os.getloadavg()[0] < (os.cpu_count() or 1):
        for row in rows:
            assert row.median_ms < 100, row


def test_maintenance_due_sweep_at_scale(year_of_appointments):
    started = clock.perf_counter()
    due = maintenance_due()
    seconds = clock.perf_counter() - started
    print(
        f"\nmaintenance_due over {Vehicle.objects.count()} vehicles: "
        f"{len(due)} due, {seconds:.2f} s"
    )
    assert seconds < 30
