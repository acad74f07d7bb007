"""Demo appointments for the coming days, booked through the real services (safe to run twice).

Called from `seed_demo` after the store and customers exist:

    from demo.steps.appointments import seed_appointments
    seed_appointments()
"""

import random
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from appointments.capacity import capacity_for_days
from appointments.models import Appointment, Campaign, CampaignKind, Channel, Status
from appointments.services import (
    SlotUnavailable,
    appointment_book,
    appointment_confirm,
    appointment_mark_no_show,
)
from dealership.models import LabourOperation, MaintenancePlan, User, Vehicle
from reception.services import visit_check_in

CONCERNS = [
    "",
    "",
    "仪表盘上保养灯亮了",
    "刹车的时候有吱吱的响声",
    "空调不太凉,开久了有异味",
    "起步时方向盘有点抖",
    "右前轮胎好像有点漏气",
    "冷车启动时发动机声音比较大",
]


def seed_appointments(*, days: int = 7, per_day: int = 10, seed: int = 1) -> int:
    """Book about `per_day` cars a day for the next `days` days; returns how many were booked.

    Does nothing when appointments from today on exist already.
    """
    today = timezone.localdate()
    _seed_campaigns()
    if Appointment.objects.filter(start__date__gte=today).exists():
        return 0
    advisors = list(User.objects.filter(groups__name="advisor").order_by("username"))
    vehicles = list(Vehicle.objects.select_related("owner").order_by("id")[: days * per_day * 2])
    plans = list(MaintenancePlan.objects.prefetch_related("operations").order_by("interval_km"))
    repairs = list(LabourOperation.objects.filter(active=True).exclude(work_type="maintenance"))
    if not (advisors and vehicles and (plans or repairs)):
        return 0
    rng = random.Random(seed)
    rng.shuffle(vehicles)
    capacity = capacity_for_days(today, today + timedelta(days=days - 1))
    now = timezone.now()
    booked = 0
    for day in sorted(capacity):
        slots = [s.start for s in capacity[day].slots if s.start > now + timedelta(hours=1)]
        for _ in range(per_day if slots else 0):
            if not vehicles:
                break
            vehicle = vehicles.pop()
            plan = rng.choice(plans) if plans and rng.random() < 0.6 else None
            operations = [] if plan else rng.sample(repairs, k=min(len(repairs), rng.randint(1, 2)))
            try:
                appointment = appointment_book(
                    customer=vehicle.owner,
                    vehicle=vehicle,
                    start=rng.choice(slots),
                    operations=operations,
                    plan=plan,
                    concern_text=rng.choice(CONCERNS),
                    advisor=rng.choice(advisors),
                    waiting=rng.random() < 0.4,
                    channel=rng.choice([Channel.PHONE, Channel.PHONE, Channel.WEB, Channel.DESK]),
                    actor=rng.choice(advisors),
                )
            except ValidationError:
                continue  # that slot or day is full: a realistic refusal, try the next car
            booked += 1
            if day <= today + timedelta(days=2) and rng.random() < 0.5:
                appointment_confirm(appointment=appointment, actor=appointment.advisor)
    return booked


def _seed_campaigns() -> None:
    Campaign.objects.get_or_create(
        code="RC-2026-031",
        defaults={
            "kind": CampaignKind.RECALL,
            "name_zh": "燃油泵叶轮召回",
            "name_en": "Fuel pump impeller recall",
            "models_match": "凯美瑞, 亚洲龙",
            "instructions": "免费更换燃油泵总成,约1.5小时。",
        },
    )
    Campaign.objects.get_or_create(
        code="SC-2026-007",
        defaults={
            "kind": CampaignKind.SERVICE,
            "name_zh": "混动系统软件升级",
            "name_en": "Hybrid system software update",
            "models_match": "RAV4, 汉兰达",
            "instructions": "免费升级混动控制软件,约40分钟。",
        },
    )


def _free_slots(after):
    """Slots with room for one more car within the next two weeks, in time order (the
    booking is then moved to today). The booking checks the day's hours of the work too."""
    first = timezone.localdate()
    capacity = capacity_for_days(first, first + timedelta(days=14))
    for day in sorted(capacity):
        for slot in capacity[day].slots:
            if slot.start > after and slot.free_arrivals:
                yield slot.start


def _book_first_free(slots, **booking) -> Appointment | None:
    """The booking at the first of `slots` that takes it (a day's hours of the work may be
    used up where the slot itself has room), or None."""
    for start in slots:
        try:
            with transaction.atomic():
                return appointment_book(start=start, **booking)
        except SlotUnavailable:
            continue
    return None


def seed_today_appointments(*, seed: int = 2) -> list:
    """Today's bookings as a day in progress, relative to now (safe to run twice).

    One car arrived 90 min ago and is checked in from its booking, one booking was a
    no-show this morning, one is due in a few minutes and one later today: the
    appointment board has a booking to check in from, whatever the time of day.
    """
    today = timezone.localdate()
    if Appointment.objects.filter(
        start__date=today, status__in=(Status.ARRIVED, Status.NO_SHOW)
    ).exists():
        return []
    advisors = list(User.objects.filter(groups__name="advisor").order_by("username"))
    plan = MaintenancePlan.objects.prefetch_related("operations").order_by("interval_km").first()
    vehicles = list(
        Vehicle.objects.select_related("owner")
        .filter(appointments__isnull=True, visits__isnull=True)
        .order_by("-id")[:4]
    )
    if not advisors or plan is None or len(vehicles) < 4:
        return []
    now = timezone.now()
    end_of_day = timezone.localtime(now).replace(hour=23, minute=30, second=0, microsecond=0)
    start_of_day = timezone.localtime(now).replace(hour=0, minute=30, second=0, microsecond=0)
    rng = random.Random(seed)
    plans = [
        # (minutes from now, what happens, the customer waits)
        (-90, "arrive", True),
        (-180, "no_show", False),
        (10, "due", True),
        (150, "due", False),
    ]
    made = []
    with transaction.atomic():
        for vehicle, (minutes, what, waiting) in zip(vehicles, plans, strict=True):
            advisor = rng.choice(advisors)
            appointment = _book_first_free(
                _free_slots(now + timedelta(hours=1)),
                customer=vehicle.owner,
                vehicle=vehicle,
                operations=[],
                plan=plan,
                concern_text=rng.choice(CONCERNS),
                advisor=advisor,
                waiting=waiting,
                channel=Channel.PHONE,
                actor=advisor,
            )
            if appointment is None:
                break
            start = min(max(now + timedelta(minutes=minutes), start_of_day), end_of_day)
            length = appointment.end - appointment.start
            Appointment.objects.filter(pk=appointment.pk).update(start=start, end=start + length)
            appointment.refresh_from_db()
            if what == "arrive":
                visit_check_in(
                    vehicle=vehicle,
                    actor=advisor,
                    concern_text=appointment.concern_text,
                    appointment=appointment,
                    advisor=advisor,
                )
            elif what == "no_show":
                appointment_mark_no_show(appointment=appointment, actor=None)
            else:
                appointment_confirm(appointment=appointment, actor=advisor)
            made.append(appointment)
    return made
