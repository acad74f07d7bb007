"""A small workshop floor for the demo: six cars, one in each lane of the job board.

    from demo.steps.workshop import seed_workshop_demo
    seed_workshop_demo()        # after `manage.py seed_demo`; safe to run twice

Every car goes through the real services (check-in, walk-around, signed order,
dispatch, clocking, finding, additional work, QC), so the demo shows what the
product does, not rows written around it.
"""

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from dealership.models import Bay, LabourOperation, Part, Technician, User, Vehicle
from demo.steps.signing import order_promise_and_sign, signature
from reception.models import Covers, Visit
from reception.services import visit_check_in, visit_walkaround_sign, visit_walkaround_update
from reception.states import ON_SITE_STATUSES
from workorders.services import (
    work_order_line_add,
    work_order_start,
)
from workshop import additions, services
from workshop.models import ClockEntry, Job
from workshop.states import QC_ITEMS, SELF_CHECK_ITEMS, PauseReason

DEMO_NOTE = "workshop demo"

# (stage, operation codes, hours until the promise, technician username, bay, concern)
CARS = [
    ("waiting", ["M-OIL", "M-INSP"], 5, None, None, "到保养里程了，顺便检查一下"),
    ("dispatched", ["M-OIL"], 4, "tech1", "Q1", "机油灯偶尔闪一下"),
    ("in_progress", ["R-BRPF", "M-INSP"], 2, "tech3", "M1", "刹车时有吱吱的异响"),
    ("on_hold", ["M-ROT"], 3, "tech2", "Q2", "保养，顺便看看轮胎"),
    ("work_done", ["M-OIL"], 3, "tech4", "M2", "换机油"),
    ("qc_passed", ["M-OIL"], 2, "tech1", "Q1", "常规保养"),
]


def _photo():
    image = Image.new("RGB", (320, 240), (60, 60, 60))
    ImageDraw.Draw(image).rectangle([60, 90, 260, 150], fill=(150, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return SimpleUploadedFile("finding.jpg", buffer.getvalue(), content_type="image/jpeg")


def _operations(codes):
    found = {op.code: op for op in LabourOperation.objects.filter(code__in=codes)}
    return [found[code] for code in codes if code in found] or list(
        LabourOperation.objects.filter(active=True).order_by("code")[:1]
    )


def _signed_visit(vehicle, advisor, index, codes, promise_hours, concern):
    visit = visit_check_in(
        vehicle=vehicle, actor=advisor, concern_text=concern, advisor_notes=DEMO_NOTE
    )
    visit_walkaround_update(
        visit=visit,
        actor=advisor,
        odometer_km=vehicle.last_odometer_km + 1200,
        fuel_level=4,
        covers=Covers.THREE,
        key_tag=f"WSD{index}",
    )
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature(), signer_name=vehicle.owner.name
    )
    order = work_order_start(visit=visit, actor=advisor)
    for operation in _operations(codes):
        work_order_line_add(order=order, actor=advisor, operation=operation)
    order_promise_and_sign(
        order,
        advisor=advisor,
        signer_name=vehicle.owner.name,
        promised_at=timezone.now() + timedelta(hours=promise_hours),
        promised_reason="演示数据",
        keep_old_parts=False,
        wash=True,
    )
    return Visit.objects.get(pk=visit.pk)


def _work(visit, stage, tech, bay, controller, inspector):
    services.jobs_materialise(visit_ids=[visit.pk])
    jobs = services.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=bay,
        actor=controller,
    )
    if stage == "dispatched":
        return
    services.job_clock_on(job=jobs[0], actor=tech.user)
    if stage == "in_progress":
        return
    if stage == "on_hold":
        finding = services.finding_report(
            job=jobs[0],
            actor=tech.user,
            note="轮胎换位时发现前制动片剩余约2mm",
            photos=[_photo()],
        )
        additions.addition_propose(
            visit=visit,
            actor=tech.user,
            finding=finding,
            title="更换前制动片",
            explanation="制动片过薄，继续使用会损伤制动盘，影响制动距离",
            operations=LabourOperation.objects.filter(code="R-BRPF", active=True),
            parts=Part.objects.filter(part_number="04465-02220", active=True),
            extra_minutes=40,
            safety_related=True,
        )
        services.job_pause(job=jobs[0], actor=tech.user, reason=PauseReason.AWAITING_APPROVAL)
        return
    checks = [key for key, _label in SELF_CHECK_ITEMS]
    for index, job in enumerate(jobs):
        if index:
            services.job_clock_on(job=job, actor=tech.user)
        # Worked for its standard hours, not for a second (the board flags that).
        began = timezone.now() - timedelta(hours=float(job.hours or 1))
        ClockEntry.objects.filter(job=job, ended_at__isnull=True).update(started_at=began)
        Job.objects.filter(pk=job.pk).update(clocked_on_at=began, started_at=began)
        services.job_clock_off(job=job, actor=tech.user, self_check=checks)
    if stage == "qc_passed":
        services.qc_pass(visit=visit, actor=inspector, checked=[k for k, _l in QC_ITEMS])


def seed_workshop_demo() -> int:
    """Put six demo cars on the board (one per lane). Does nothing when they exist already.

    Needs the demo store (`manage.py seed_demo`). Returns the number of cars created.
    """
    if Visit.objects.filter(advisor_notes=DEMO_NOTE).exists():
        return 0
    advisor = User.objects.get(username="advisor")
    controller = User.objects.get(username="controller")
    inspector = User.objects.get(username="qc")
    busy = Visit.objects.filter(status__in=ON_SITE_STATUSES).values("vehicle")
    vehicles = list(
        Vehicle.objects.exclude(pk__in=busy).select_related("owner").order_by("id")[: len(CARS)]
    )
    if len(vehicles) < len(CARS):
        raise RuntimeError("Run `manage.py seed_demo` first: the demo needs its customers' cars.")
    with transaction.atomic():
        for index, (stage, codes, hours, username, bay_code, concern) in enumerate(CARS, 1):
            visit = _signed_visit(vehicles[index - 1], advisor, index, codes, hours, concern)
            if username is None:
                continue
            tech = Technician.objects.get(user__username=username)
            bay = Bay.objects.filter(code=bay_code).first()
            _work(visit, stage, tech, bay, controller, inspector)
    return len(CARS)
