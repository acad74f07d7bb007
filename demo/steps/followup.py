"""Follow-up work for the demo store, made through the real services. Idempotent.

    from demo.steps.followup import seed_followup_demo
    seed_followup_demo()          # or: python manage.py shell -c "..."

Three cars are settled and handed back through the delivery services, so their
24 h care calls and 7-day advisor calls are planned as in real life; the demo
then moves each delivery back in time so its calls fall due today: two care calls
due later today, one advisor call due now (that car left a week ago). A fourth customer was
already called: a low score on the survey opened a complaint; and an important
(safety) complaint came in by phone. Each car is found again by its VIN, so a
second run adds nothing.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from dealership.models import DueTask, User
from delivery import services as delivery_services
from delivery.models import Delivery
from delivery.selectors import bill_for
from demo.steps import delivery as delivery_demo
from demo.steps.signing import signature
from demo.store import seed_store
from followup import duties as K
from followup.complaints import complaint_open
from followup.services import call_record
from reception.models import Visit

# name, model, colour, operation codes, part numbers; indexes after the delivery demo's cars.
CARS = [
    ("钱国栋", "雷凌 Levin", "极地白", ["M-OIL", "M-INSP"], ["90915-YZZD4", "08880-83324"]),
    ("孙美玲", "威兰达 Wildlander", "星耀黑", ["R-BRPF"], ["04465-02220"]),
    ("李振华", "亚洲龙 Avalon", "琥珀棕", ["M-OIL"], ["90915-YZZD4"]),
    ("周婷婷", "C-HR", "赤焰红", ["M-OIL", "M-BRFL"], ["90915-YZZD4", "08823-80010"]),
]
FIRST_INDEX = 20
GOOD_SCORES = {
    "overall": 10,
    "explanation": 9,
    "on_time": 10,
    "car_clean": 9,
    "would_recommend": 10,
}
LOW_SCORES = {"overall": 5, "explanation": 8, "on_time": 4, "car_clean": 9, "would_recommend": 6}


def _deliver(vehicle, advisor: User, cashier: User, codes, numbers):
    visit = delivery_demo._make_visit(vehicle, advisor, codes, numbers, False, False)
    delivery_services.visit_mark_ready(visit=visit, actor=advisor)
    delivery_demo._final_check(visit, advisor, False)
    due = bill_for(visit).customer_total
    delivery_services.settlement_create(
        visit=visit, actor=cashier, payments=[{"method": "alipay", "amount": due}]
    )
    delivery_services.gate_pass_issue(visit=visit, actor=cashier)
    return delivery_services.visit_hand_back(
        visit=visit,
        actor=advisor,
        signature=signature(),
        signer_name=vehicle.owner.name,
        belongings_returned=True,
        keys_returned=True,
        covers_removed=True,
    )


def _call(kind: str, visit) -> DueTask:
    return DueTask.objects.get(kind=kind, subject_id=visit.pk, state="pending")


def _delivered_earlier(visit, delivered_at) -> None:
    """Move a car delivered just now back to `delivered_at`, calls and all (demo only).

    The visit's times and its follow-up calls move together, so a 24 h care call is due
    24 h after the car left, never before it.
    """
    shift = delivered_at - visit.delivered_at
    for field in ("checked_in_at", "promised_at", "ready_at", "delivered_at", "status_changed_at"):
        value = getattr(visit, field, None)
        if value is not None:
            setattr(visit, field, value + shift)
    Visit.objects.filter(pk=visit.pk).update(
        checked_in_at=visit.checked_in_at,
        promised_at=visit.promised_at,
        ready_at=visit.ready_at,
        delivered_at=visit.delivered_at,
        status_changed_at=visit.status_changed_at,
    )
    Delivery.objects.filter(visit=visit, handed_back_at__isnull=False).update(
        handed_back_at=visit.delivered_at
    )
    for task in DueTask.objects.filter(
        subject_type__model="visit", subject_id=visit.pk, state="pending"
    ):
        DueTask.objects.filter(pk=task.pk).update(
            due_at=task.due_at + shift, run_after=task.due_at + shift
        )


def _today_at_latest(moment):
    """`moment`, or a little before midnight when it would fall on tomorrow."""
    end = timezone.localtime(timezone.now()).replace(hour=23, minute=50, second=0, microsecond=0)
    return min(moment, end)


@transaction.atomic
def seed_followup_demo() -> list:
    """Four delivered cars with calls on today's lists, a survey and two complaints."""
    if not User.objects.filter(username="advisor").exists():
        seed_store()
    advisor = User.objects.get(username="advisor")
    cashier = User.objects.get(username="cashier")
    care = User.objects.get(username="care")
    now = timezone.now()
    visits = []
    for offset, (name, model, colour, codes, numbers) in enumerate(CARS):
        vehicle = delivery_demo._car(FIRST_INDEX + offset, name, model, colour)
        existing = vehicle.visits.order_by("-checked_in_at").first()
        if existing is not None:
            visits.append(existing)
            continue
        visits.append(_deliver(vehicle, advisor, cashier, codes, numbers))
        visit = visits[-1]
        # Each car left the store when its call falls due today: a call list with work,
        # nothing overdue and no call due before its car was delivered.
        if offset == 0:
            care_due = _today_at_latest(now + timedelta(minutes=30))
            _delivered_earlier(visit, care_due - timedelta(hours=24))
        elif offset == 1:
            care_due = _today_at_latest(now + timedelta(hours=2))
            _delivered_earlier(visit, care_due - timedelta(hours=24))
        elif offset == 2:
            # Delivered a week ago: the care call was made the next day; the advisor's is due.
            call_record(
                task=_call(K.CARE_CALL, visit),
                actor=care,
                outcome="surveyed",
                survey={**GOOD_SCORES, "customer_words": "服务很好"},
            )
            _delivered_earlier(visit, now - timedelta(days=7))
        else:
            call_record(
                task=_call(K.CARE_CALL, visit),
                actor=care,
                outcome="surveyed",
                survey={**LOW_SCORES, "customer_words": "说好下午四点取车，六点才好"},
            )
            complaint_open(
                customer=visit.customer,
                actor=care,
                source="phone",
                category="quality",
                description="刹车踩下去有异响，交车第二天就出现了",
                visit=visit,
                safety_related=True,
            )
            _delivered_earlier(visit, now - timedelta(days=1, hours=2))
    return visits
