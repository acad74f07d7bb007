"""The customer lounge's TV (issue 19.4): the waiting customers' cars, their stage and time.

The service manager makes the lounge link on a small settings page; the TV opens it without
a log-in. The key is shown once and kept only as its digest; a new link retires the old one.
The screen shows what strangers in the lounge may see: a masked plate (苏E·***12), the model,
the stage in words, the expected time and a "ready, please come to the desk" highlight. No
names, no phone numbers, no prices.
"""

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from appointments.capacity import day_bounds
from dealership.constraints import constraint_message, domain_constraints
from dealership.models import User
from dealership.pii import mask_plate

from .models import LoungeDisplay, Visit
from .states import OPEN_STATUSES, VisitStatus, customer_stage

KEY_BYTES = 24  # 32 URL-safe characters
KEY_MAX_LENGTH = 64  # a longer key in a URL is refused before any lookup
MAX_CARS = 12  # what a 1080p screen shows at the lounge's type size

constraint_message(
    "reception_lounge_display_one_active",
    message=lambda _display: _("Someone else just made a new lounge link; reload the page."),
    code="lounge_link_race",
)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def lounge_display_current() -> LoungeDisplay | None:
    return LoungeDisplay.objects.filter(active=True).select_related("created_by").first()


def lounge_link_issue(*, actor: User, show_all_cars: bool) -> tuple[LoungeDisplay, str]:
    """Make the lounge link (retiring the one in use); returns the row and the key, once."""
    key = secrets.token_urlsafe(KEY_BYTES)
    with transaction.atomic():
        lounge_link_retire(actor=actor)
        display = LoungeDisplay(digest=_digest(key), show_all_cars=show_all_cars, created_by=actor)
        with domain_constraints(display):
            display.save()
    return display, key


def lounge_link_retire(*, actor: User) -> int:
    """Switch the lounge link off: its URL answers 404 from now on."""
    with transaction.atomic():
        retired = 0
        for display in LoungeDisplay.objects.select_for_update().filter(active=True):
            display.active = False
            display.retired_at = timezone.now()
            display._change_reason = f"retired by {actor}"
            display.save(update_fields=["active", "retired_at"])
            retired += 1
    return retired


def lounge_display_for_key(key: str) -> LoungeDisplay | None:
    """The display a TV's key opens, or None (wrong, retired or malformed key)."""
    if not key or len(key) > KEY_MAX_LENGTH:
        return None
    return LoungeDisplay.objects.filter(digest=_digest(key), active=True).first()


@dataclass
class LoungeCar:
    plate: str  # masked
    model: str
    stage_zh: str
    stage_en: str
    promised_at: object
    ready: bool
    waiting: bool


def lounge_cars(display: LoungeDisplay, *, now=None) -> list[LoungeCar]:
    """Today's cars for the lounge: ready ones first, then by the promised time (one query).

    Waiting customers' cars always; every car checked in today when the display says so.
    """
    today = timezone.localdate(now)
    start, end = day_bounds(today, today)
    visits = Visit.objects.filter(
        status__in=sorted(OPEN_STATUSES), checked_in_at__gte=start, checked_in_at__lt=end
    )
    if not display.show_all_cars:
        visits = visits.filter(customer_waits=True)
    rows = (
        visits.annotate(
            is_ready=Q(status=VisitStatus.READY_FOR_PICKUP),
        )
        .order_by("-is_ready", F("promised_at").asc(nulls_last=True), "checked_in_at", "id")
        .values(
            "status",
            "promised_at",
            "customer_waits",
            "vehicle__plate",
            "vehicle__vin",
            "vehicle__brand",
            "vehicle__model",
        )[:MAX_CARS]
    )
    cars = []
    for row in rows:
        _key, words = customer_stage(row["status"])
        with translation.override("zh-hans"):
            stage_zh = str(words)
        with translation.override("en"):
            stage_en = str(words)
        cars.append(
            LoungeCar(
                plate=mask_plate(row["vehicle__plate"] or row["vehicle__vin"]),
                model=" ".join(
                    part for part in (row["vehicle__brand"], row["vehicle__model"]) if part
                ),
                stage_zh=stage_zh,
                stage_en=stage_en,
                promised_at=row["promised_at"],
                ready=row["status"] == VisitStatus.READY_FOR_PICKUP,
                waiting=row["customer_waits"],
            )
        )
    return cars
