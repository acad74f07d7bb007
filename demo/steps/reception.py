"""Demo visits for `seed_demo`: a few cars checked in today, at different points of steps 2–3.

Idempotent: a vehicle that has any visit is left alone, so a second run adds nothing.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from dealership.models import LabourOperation, Part, User, Vehicle
from dealership.rules import rule
from reception.models import Visit
from reception.services import (
    belonging_add,
    damage_mark_add,
    visit_check_in,
    visit_walkaround_sign,
    visit_walkaround_update,
)
from workorders.services import (
    work_order_line_add,
    work_order_sign,
    work_order_start,
    work_order_update,
)

DEMO_CONCERNS = [
    ("做一万公里保养,顺便看看雨刮器,下雨时刮不干净。", "M-OIL", ["90915-YZZD4", "08880-83324"]),
    ("踩刹车的时候前面有吱吱的响声,最近一个星期越来越明显。", "R-BRPF", ["04465-02220"]),
    ("空调开了半小时还是不凉,出风口有股味道。", "R-ACGS", ["88716-47010"]),
]
# A short stroke, as a customer's finger draws it: the demo's "signature".
_SIGNATURE = (
    "iVBORw0KGgoAAAANSUhEUgAAAHgAAAAoCAYAAAA16j4lAAABBElEQVR42u2aOQLDIAwEvfn/n0mf"
    "IgYDRivNNG5hB3GZ6wIAAAAAAAAj2s8XBlFwsS7tDcvHSC6V/CA7mYilmvuzU8SQeqbkhuSu3EIJ"
    "Hl1rkTyYg4KJ7WlTZcnDfZdB1bLLnhjUMhNbrZqn+ydjuZklL+uTjMVmlLy8H0ogN8O6vG2AKmHQ"
    "TtW8va1KWkHRJb/WPiWUG1XykYyUUGy09h0daEos93TIIWYQJRd7IvBQS8OK60GnM+fO8ENu7JS8"
    "at/oS+gduwqJXS3G4rytonJnJFldi6qo2CfCLO+7e19OZP+h/m9QW//IuJuiqz2HaRN52QmuCu++"
    "ikjmDTYAAAAAQEm+Gw1JFIA9x3gAAAAASUVORK5CYII="
)


def _demo_vehicles(count: int) -> list[Vehicle]:
    # Cars with a booking are the appointments demo's: they are checked in from its board.
    return list(
        Vehicle.objects.filter(visits__isnull=True, appointments__isnull=True)
        .select_related("owner")
        .order_by("id")[:count]
    )


@transaction.atomic
def seed_visits(count: int = 3) -> int:
    """Check in `count` demo cars (when none was checked in before); returns how many."""
    if Visit.objects.exists():
        return 0
    advisor = User.objects.filter(username="advisor").first()
    if advisor is None:
        return 0
    created = 0
    for index, vehicle in enumerate(_demo_vehicles(count)):
        concern, op_code, part_numbers = DEMO_CONCERNS[index % len(DEMO_CONCERNS)]
        visit = visit_check_in(vehicle=vehicle, actor=advisor, concern_text=concern)
        created += 1
        if index == 0:
            continue  # the first car waits for its walk-around
        visit_walkaround_update(
            visit=visit,
            actor=advisor,
            odometer_km=vehicle.last_odometer_km + 1200,
            fuel_level=4 + index,
            covers="three",
            key_tag=f"D{index:02d}",
            parking_spot=f"A-{index:02d}",
            registration_received=True,
        )
        damage_mark_add(
            visit=visit, actor=advisor, kind="scratch", x=30, y=22, note="左后门轻微划痕"
        )
        belonging_add(visit=visit, actor=advisor, description="行车记录仪")
        visit_walkaround_sign(
            visit=visit,
            actor=advisor,
            signature="data:image/png;base64," + _SIGNATURE,
            signer_name=vehicle.owner.name,
        )
        order = work_order_start(visit=visit, actor=advisor)
        operation = LabourOperation.objects.filter(code=op_code).first()
        if operation:
            job = "maintenance" if operation.work_type == "maintenance" else "repair"
            work_order_line_add(order=order, actor=advisor, operation=operation, job_type=job)
        for part in Part.objects.filter(part_number__in=part_numbers):
            work_order_line_add(order=order, actor=advisor, part=part, job_type="repair")
        work_order_update(
            order=order,
            actor=advisor,
            payment_method="wechat",
            promised_at=timezone.now() + timedelta(hours=rule("workorders.workday_end_hour")),
            promised_reason="演示数据",
        )
        if index == 2:
            order.refresh_from_db()
            work_order_sign(
                order=order,
                actor=advisor,
                signature="data:image/png;base64," + _SIGNATURE,
                signer_name=vehicle.owner.name,
                confirm_items=True,
                confirm_cost=True,
                confirm_time=True,
                keep_old_parts=False,
                wash=True,
            )
    return created
