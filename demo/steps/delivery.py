"""Demo cars at each delivery step, made through the real services. Idempotent.

    from demo.steps.delivery import seed_delivery_demo
    seed_delivery_demo()          # or: python manage.py shell -c "..."

Needs the store's staff and catalogue (`demo.store.seed_store`, run here
when missing). Each demo car is found again by its VIN, so a second run adds
nothing. The cars: one just past QC (to mark ready), one ready with its final
check done (to settle), one above the estimate's +10 % (needs the customer's
approval), one settled with its gate pass (to hand back, customer signs).
"""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from dealership.models import Customer, LabourOperation, Part, Technician, User, Vehicle
from delivery import services
from delivery.models import OldPartsHandling
from delivery.selectors import bill_for, order_in_force
from demo.steps.signing import order_promise_and_sign, signature
from demo.store import make_mobile, make_plate, make_vin, seed_store
from reception.models import DeclinedWork, Visit
from reception.services import (
    visit_check_in,
    visit_walkaround_sign,
    visit_walkaround_update,
)
from workorders.services import (
    work_order_line_update,
    work_order_revise,
    work_order_sign,
    work_order_start,
)
from workshop import services as workshop
from workshop.models import ClockEntry, Job
from workshop.states import QC_ITEMS, SELF_CHECK_ITEMS

# name, model, colour, operation codes, part numbers, stage, keep old parts, wash
CARS = [
    (
        "周晓梅",
        "卡罗拉 Corolla",
        "珍珠白",
        ["M-OIL", "M-INSP"],
        ["90915-YZZD4", "08880-83324"],
        "qc",
        False,
        True,
    ),
    ("吴建华", "凯美瑞 Camry", "曜石黑", ["R-BRPF"], ["04465-02220"], "checked", True, False),
    (
        "郑丽娟",
        "RAV4 荣放",
        "铂金银",
        ["R-BRPF", "R-BRDF"],
        ["04465-02220", "43512-02330"],
        "over",
        False,
        False,
    ),
    (
        "冯志强",
        "汉兰达 Highlander",
        "天际蓝",
        ["M-OIL", "M-BRFL"],
        ["90915-YZZD4", "08823-80010"],
        "gate",
        False,
        False,
    ),
]


def _car(index: int, name: str, model: str, colour: str) -> Vehicle:
    vin = make_vin(random.Random(70_000 + index))
    vehicle = Vehicle.objects.filter(vin=vin).first()
    if vehicle is not None:
        return vehicle
    customer, _ = Customer.objects.get_or_create(
        mobile=make_mobile(7_000_000 + index), defaults={"name": name}
    )
    return Vehicle.objects.create(
        vin=vin,
        plate=make_plate(880_000 + index * 13),
        owner=customer,
        brand="丰田",
        model=model,
        colour=colour,
        last_odometer_km=30_000 + index * 7_300,
    )


def _lines(codes, numbers):
    lines = [
        {"operation": op, "job_type": "maintenance" if op.code.startswith("M-") else "repair"}
        for op in LabourOperation.objects.filter(code__in=codes)
    ]
    lines += [
        {"part": part, "job_type": "maintenance" if index == 0 else "repair"}
        for index, part in enumerate(Part.objects.filter(part_number__in=numbers))
    ]
    return lines


def _make_visit(vehicle, advisor, codes, numbers, keep, wash) -> Visit:

    visit = visit_check_in(
        vehicle=vehicle, actor=advisor, concern_text="到保养里程了，顺便检查刹车"
    )
    visit_walkaround_update(
        visit=visit,
        actor=advisor,
        odometer_km=vehicle.last_odometer_km + 120,
        fuel_level=4,
        covers="three",
        key_tag=f"D{vehicle.pk % 1000:03d}",
        exterior_notes="右后门轻微划痕",
    )
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature(), signer_name=vehicle.owner.name
    )
    order = work_order_start(visit=visit, actor=advisor, lines=_lines(codes, numbers))
    order_promise_and_sign(
        order,
        advisor=advisor,
        signer_name=vehicle.owner.name,
        promised_at=timezone.now() + timedelta(hours=2),
        promised_reason="客户下午取车",
        keep_old_parts=keep,
        wash=wash,
    )
    _workshop(visit)
    return visit


def _workshop(visit: Visit) -> None:
    """The car's jobs go through the workshop (dispatch, clocking, self-check, QC pass):
    the final check only passes labour that a finished job stands behind."""
    busy = ClockEntry.objects.filter(ended_at__isnull=True).values("technician")
    technician = (
        Technician.objects.filter(active=True, user__isnull=False)
        .exclude(pk__in=busy)
        .order_by("id")
        .first()
    )
    workshop.jobs_materialise(visit_ids=[visit.pk])
    jobs = workshop.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=technician,
        bay=None,
        actor=User.objects.get(username="controller"),
    )
    for job in jobs:
        workshop.job_clock_on(job=job, actor=technician.user)
        # The demo car was worked on for its standard hours, not for a second (which the
        # controller's board would rightly flag).
        began = timezone.now() - timedelta(hours=float(job.hours or 1))
        ClockEntry.objects.filter(job=job, ended_at__isnull=True).update(started_at=began)
        Job.objects.filter(pk=job.pk).update(clocked_on_at=began, started_at=began)
        workshop.job_clock_off(
            job=job, actor=technician.user, self_check=[k for k, _l in SELF_CHECK_ITEMS]
        )
    workshop.qc_pass(
        visit=visit, actor=User.objects.get(username="qc"), checked=[k for k, _l in QC_ITEMS]
    )


def _final_check(visit: Visit, advisor: User, keep: bool) -> None:

    order = order_in_force(visit)
    services.final_check_record(
        visit=visit,
        actor=advisor,
        checked_line_ids=[line.pk for line in order.lines.all()],
        odometer_km=visit.odometer_km + 3,
        exterior_matches=True,
        no_tools_left=True,
        settings_restored=True,
        belongings_present=True,
        old_parts_handling=OldPartsHandling.HANDED_OVER
        if keep
        else OldPartsHandling.SHOWN_DISPOSED,
    )


def _raise_labour(visit: Visit, advisor: User) -> None:
    """The brake disc took longer: a revision the customer signs, 20 % above the estimate."""

    order = order_in_force(visit)
    revision = work_order_revise(order=order, actor=advisor, reason="制动盘拆卸困难，工时增加")
    line = revision.lines.filter(kind="labour").order_by("position").first()
    work_order_line_update(
        line=line, actor=advisor, unit_price=line.unit_price + order.estimate_total / 4
    )
    work_order_sign(
        order=revision,
        actor=advisor,
        signature=signature(),
        signer_name=visit.customer.name,
        confirm_items=True,
        confirm_cost=True,
        confirm_time=True,
        keep_old_parts=False,
        wash=False,
    )


@transaction.atomic
def seed_delivery_demo() -> list[Visit]:
    """Four cars at the delivery steps (see the module's docstring). Returns their visits."""
    if not User.objects.filter(username="advisor").exists():
        seed_store()
    advisor = User.objects.get(username="advisor")
    cashier = User.objects.get(username="cashier")
    visits = []
    for index, (name, model, colour, codes, numbers, stage, keep, wash) in enumerate(CARS):
        vehicle = _car(index, name, model, colour)
        existing = vehicle.visits.order_by("-checked_in_at").first()
        if existing is not None:
            visits.append(existing)
            continue
        visit = _make_visit(vehicle, advisor, codes, numbers, keep, wash)
        if stage == "over":
            _raise_labour(visit, advisor)
        visits.append(visit)
        if stage == "qc":
            continue
        services.visit_mark_ready(visit=visit, actor=advisor, wash_done=wash)
        _final_check(visit, advisor, keep)
        DeclinedWork.objects.create(
            vehicle=vehicle,
            visit=visit,
            description="更换雨刮片（刮不干净）",
            estimated_amount=168,
            recorded_by=advisor,
        )
        if stage == "gate":
            due = bill_for(visit).customer_total
            services.settlement_create(
                visit=visit, actor=cashier, payments=[{"method": "wechat", "amount": due}]
            )
            services.gate_pass_issue(visit=visit, actor=cashier)
    return visits
