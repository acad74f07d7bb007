"""Demo appointments for the coming days, booked through the real services (safe to run twice).

Called from `seed_demo` after the store and customers exist:

    from appointments.demo import seed_appointments
    seed_appointments()
"""

import random
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from dealership.models import LabourOperation, MaintenancePlan, User, Vehicle

from .capacity import capacity_for_days
from .models import Appointment, Campaign, CampaignKind, Channel
from .services import appointment_book, appointment_confirm

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
