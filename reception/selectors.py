"""Reads of step 2 shared by the pages and the API, shaped so query counts stay fixed."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from appointments.capacity import day_bounds
from appointments.models import Appointment
from appointments.selectors import open_campaigns_for
from appointments.states import OPEN_STATUSES
from dealership import compiled
from dealership.daterange import local_text
from dealership.models import Vehicle
from dealership.rules import rule
from dealership.selectors import search
from dealership.staff_names import name_columns, name_in
from dealership.text import bad_character
from dealership.urltools import url_for_pk

from .models import Belonging, DamageMark, DeclinedWork, Visit
from .states import ON_SITE_STATUSES, VisitStatus

PAST_VISITS = 10


def visit_queryset() -> QuerySet[Visit]:
    return Visit.objects.select_related(
        "customer", "vehicle", "advisor", "comeback_of", "handed_over_to"
    ).prefetch_related(
        Prefetch("damage_marks", queryset=DamageMark.objects.order_by("id")),
        Prefetch("belongings", queryset=Belonging.objects.order_by("id")),
    )


def visit_detail(pk: int) -> Visit:
    return visit_queryset().get(pk=pk)


def visits_on_site() -> QuerySet[Visit]:
    """Cars at the store now: customers waiting first, then booked ones, then the oldest."""
    return (
        Visit.objects.filter(status__in=ON_SITE_STATUSES)
        .select_related("customer", "vehicle", "advisor", "handed_over_to")
        .order_by("-customer_waits", "is_walk_in", "checked_in_at", "id")
    )


def _on_site_values() -> QuerySet:
    """`visits_on_site` with the columns the cars-on-site page prints."""
    return visits_on_site().values(
        "id",
        "number",
        "status",
        "is_walk_in",
        "customer_waits",
        "is_comeback",
        "key_tag",
        "parking_spot",
        "checked_in_at",
        "promised_at",
        "handed_over_at",
        "handed_over_to_id",
        customer_name=F("customer__name"),
        plate=F("vehicle__plate"),
        **name_columns("advisor"),
        **name_columns("handed_over_to"),
    )


def on_site_rows() -> list[dict]:
    """`visits_on_site` as what the cars-on-site page shows, one dict a car (a dict key is
    read at once by the template; the page lists every car at the store)."""
    visit_url = url_for_pk("reception:visit")
    status_labels = {value: str(label) for value, label in VisitStatus.choices}
    tz = timezone.get_current_timezone()  # once, not three times a car
    # SQL kept per process: every advisor's screen polls the page.
    rows = compiled.value_rows(_on_site_values)
    result = []
    for row in rows:
        plate = row["plate"] or ""
        result.append(
            {
                "pk": row["id"],
                "number": row["number"],
                "status": row["status"],
                "status_label": status_labels.get(row["status"], row["status"]),
                "is_walk_in": row["is_walk_in"],
                "customer_waits": row["customer_waits"],
                "is_comeback": row["is_comeback"],
                "key_tag": row["key_tag"],
                "parking_spot": row["parking_spot"],
                "url": visit_url(row["id"]),
                "plate": plate,
                "nev": len(plate) == 8,
                "customer_name": row["customer_name"],
                "advisor_name": name_in(row, "advisor"),
                "checked_in_text": local_text(row["checked_in_at"], tz=tz),
                "promised_text": local_text(row["promised_at"], tz=tz),
                "handed_over_text": local_text(row["handed_over_at"], "%H:%M", tz=tz),
                "receiver_name": name_in(row, "handed_over_to"),
            }
        )
    return result


def _on_site_panel_values() -> QuerySet:
    """`visits_on_site` with only what the start page's panel prints (no staff joined)."""
    return visits_on_site().values(
        "id",
        "number",
        "status",
        "promised_at",
        customer_name=F("customer__name"),
        plate=F("vehicle__plate"),
    )


def on_site_panel_rows() -> list[dict]:
    """The cars on site as the start page's panel prints them (`on_site_rows` less what the
    panel does not show): plate, order, customer, status and promised time."""
    visit_url = url_for_pk("reception:visit")
    status_labels = {value: str(label) for value, label in VisitStatus.choices}
    tz = timezone.get_current_timezone()
    result = []
    for row in compiled.value_rows(_on_site_panel_values):
        plate = row["plate"] or ""
        result.append(
            {
                "url": visit_url(row["id"]),
                "number": row["number"],
                "plate": plate,
                "nev": len(plate) == 8,
                "customer_name": row["customer_name"],
                "status_label": status_labels.get(row["status"], row["status"]),
                "promised_text": local_text(row["promised_at"], tz=tz),
            }
        )
    return result


def open_visit_for(vehicle: Vehicle) -> Visit | None:
    return Visit.objects.filter(vehicle=vehicle, status__in=ON_SITE_STATUSES).first()


def open_visits_of(vehicles: list[Vehicle]) -> dict[int, Visit]:
    """Each vehicle's open visit by vehicle id, as `open_visit_for` picks it (one query)."""
    visits = Visit.objects.filter(vehicle__in=vehicles, status__in=ON_SITE_STATUSES).only(
        "number", "vehicle_id"
    )
    # A car has one open visit, rarely two: the newest wins (no DISTINCT ON: not on SQLite).
    oldest_first = visits.order_by("checked_in_at", "id")
    return {visit.vehicle_id: visit for visit in oldest_first}


def _bookings_of_the_day(day=None):
    day = day or timezone.localdate()
    lower, upper = day_bounds(day, day)
    return Appointment.objects.filter(
        status__in=OPEN_STATUSES, start__gte=lower, start__lt=upper
    ).order_by("start", "id")


def _walk_in_rows(
    lower: datetime, upper: datetime, advisor_id: int | None, brief: bool
) -> QuerySet[Visit]:
    visits = Visit.objects.filter(
        is_walk_in=True, checked_in_at__gte=lower, checked_in_at__lt=upper
    )
    if advisor_id is not None:
        visits = visits.filter(advisor_id=advisor_id)
    visits = visits.order_by("checked_in_at", "id")
    if brief:
        return visits.values("id", "checked_in_at")
    return visits.values(
        "id",
        "checked_in_at",
        "status",
        plate=F("vehicle__plate"),
        customer_name=F("customer__name"),
        **name_columns("advisor"),
    )


def walk_in_visits(first: date, last: date, *, advisor=None, brief: bool = False) -> list:
    """The walk-in visits checked in on the local days first..last, by time (one query).

    Dicts: "id" and "checked_in_at", and unless `brief` (the week only counts them) what the
    day's board shows: "status", "status_label", "plate", "customer_name", "advisor_name".
    The booking board shows them beside the appointments (`appointments.visits`).
    """
    lower, upper = day_bounds(first, last)
    # SQL kept per process: the appointment board, polled all day, shows them.
    rows = compiled.value_rows(_walk_in_rows, fixed=(lower, upper, advisor and advisor.pk, brief))
    if brief:
        return rows
    status_labels = {value: str(label) for value, label in VisitStatus.choices}
    for row in rows:
        row["status_label"] = status_labels.get(row["status"], row["status"])
        row["advisor_name"] = name_in(row, "advisor")
    return rows


def booking_of_the_day(vehicle: Vehicle, *, day=None):
    """The car's open appointment (booked or confirmed) of the local day, earliest first.

    Every check-in path takes it over, so a booked car found by plate is not a walk-in.
    """
    return (
        _bookings_of_the_day(day)
        .filter(vehicle=vehicle)
        .select_related("customer", "vehicle", "advisor")
        .first()
    )


def bookings_of_the_day_for(vehicles: list[Vehicle]) -> dict[int, object]:
    """Per vehicle id, its booking of the day (one query), for the plate lookup's hints."""
    found: dict[int, object] = {}
    for appointment in _bookings_of_the_day().filter(vehicle__in=[v.pk for v in vehicles]):
        found.setdefault(appointment.vehicle_id, appointment)
    return found


@dataclass
class VehicleHistory:
    vehicle: Vehicle
    past_visits: list[Visit] = field(default_factory=list)
    declined: list[DeclinedWork] = field(default_factory=list)
    campaigns: list = field(default_factory=list)
    open_visit: Visit | None = None
    comeback_candidate: Visit | None = None


def vehicle_history(vehicle: Vehicle, *, exclude_visit: Visit | None = None) -> VehicleHistory:
    """What the advisor must see at check-in: past visits, declined work, recalls, odometer."""
    visits = Visit.objects.filter(vehicle=vehicle).select_related("advisor")
    if exclude_visit is not None:
        visits = visits.exclude(pk=exclude_visit.pk)
    past = list(visits.order_by("-checked_in_at", "-id")[:PAST_VISITS])
    window = timezone.now() - timedelta(days=rule("reception.comeback_window_days"))
    candidate = next(
        (
            v
            for v in past
            if v.status in (VisitStatus.DELIVERED, VisitStatus.CLOSED)
            and v.delivered_at
            and v.delivered_at >= window
        ),
        None,
    )
    return VehicleHistory(
        vehicle=vehicle,
        past_visits=past,
        declined=list(
            DeclinedWork.objects.filter(vehicle=vehicle, done_at__isnull=True).order_by(
                "-declined_at"
            )[:20]
        ),
        campaigns=open_campaigns_for(vehicle),
        open_visit=next((v for v in past if v.status in ON_SITE_STATUSES), None),
        comeback_candidate=candidate,
    )


def vehicles_by_plate(query: str, *, limit: int = 10) -> list[Vehicle]:
    """Vehicles whose plate or VIN contains the typed fragment (plate lookup at check-in)."""
    result = search(query, limit=limit)
    return result.vehicles


def _can_be_on_file(text: str, max_length: int) -> bool:
    """Short enough and no character the database cannot hold (NUL, lone surrogate)."""
    return len(text) <= max_length and bad_character(text) is None


def vehicle_known(*, plate: str = "", vin: str = "") -> Vehicle | None:
    """The vehicle on file with exactly this plate (else this VIN), for the walk-in form.

    A plate or VIN longer than any real one (or holding a NUL) cannot be on file.
    """
    plate = plate if _can_be_on_file(plate, 20) else ""
    vin = vin if _can_be_on_file(vin, 17) else ""
    if plate:
        found = Vehicle.objects.filter(plate=plate).select_related("owner").first()
        if found is not None:
            return found
    if vin:
        return Vehicle.objects.filter(vin=vin).select_related("owner").first()
    return None


@dataclass
class Consultation:
    minutes: int
    required: int
    missed: bool


def consultation(visit: Visit) -> Consultation:
    """How long the advisor spent with the customer before the order was signed (rule: 6 min)."""
    end = visit.order_signed_at or timezone.now()
    minutes = int((end - visit.checked_in_at).total_seconds() // 60)
    required = rule("reception.consultation_minutes")
    missed = bool(visit.order_signed_at) and not visit.is_quick_service and minutes < required
    return Consultation(minutes=minutes, required=required, missed=missed)
