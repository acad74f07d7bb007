"""Reads of steps 4-5 shared by the pages, shaped so each page's query count is fixed."""

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from dealership import compiled
from dealership.models import Bay, DueTask, Technician, User
from dealership.rules import rule
from dealership.staff_names import name_columns, name_in
from dealership.urltools import url_for_pk
from reception.models import Visit
from reception.states import CUSTOMER_STAGES as STAGES
from reception.states import HoldReason, VisitStatus
from workorders.models import LineKind

from . import dispatch, express
from .models import Addition, ClockEntry, DeskCall, Finding, Job, PromiseWatch, QualityCheck
from .roster import carry_over_visit_ids, with_day_roster
from .states import (
    ASSIGNED_JOB_STATUSES,
    BOARD_STATUSES,
    DISPATCHABLE_VISIT,
    AdditionStatus,
    ClockFlag,
    JobStatus,
)

V = VisitStatus
J = JobStatus
ZERO = Decimal("0")

LANES = (
    ("express", pgettext_lazy("board lane", "Express"), ()),
    ("waiting", pgettext_lazy("board lane", "Waiting"), (V.ORDER_SIGNED,)),
    ("dispatched", pgettext_lazy("board lane", "Dispatched"), (V.DISPATCHED,)),
    ("in_progress", pgettext_lazy("board lane", "In progress"), (V.IN_PROGRESS,)),
    ("on_hold", pgettext_lazy("board lane", "On hold"), (V.ON_HOLD,)),
    ("work_done", pgettext_lazy("board lane", "Work done"), (V.WORK_DONE,)),
    ("qc", pgettext_lazy("board lane", "QC"), (V.QC_FAILED, V.REWORK, V.QC_PASSED)),
    ("ready", pgettext_lazy("board lane", "Ready"), (V.READY_FOR_PICKUP,)),
)
LANE_OF = {status: key for key, _label, statuses in LANES for status in statuses}


def day_start(now: datetime | None = None) -> datetime:
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def projected_finish(visit: Visit, jobs=None, *, now: datetime | None = None) -> datetime:
    """When the work will be done at this pace: now plus the standard hours still open."""
    now = now or timezone.now()
    if jobs is None:
        jobs = list(visit.jobs.exclude(status=J.CANCELLED))
    remaining = sum((job.remaining_hours(now) for job in jobs), ZERO)
    return now + timedelta(hours=float(remaining))


def promise_risk(visit: Visit, projected: datetime, *, now: datetime) -> str:
    """ "missed" when the promised time has passed, "at_risk" when the work will not make it."""
    if visit.promised_at is None or visit.status == V.READY_FOR_PICKUP:
        return ""
    if now > visit.promised_at:
        return "missed"
    if visit.status != V.QC_PASSED and projected > visit.promised_at:
        return "at_risk"
    return ""


def _delivery_urls():
    """The delivery page of a car by its pk, the URL reversed once: `_delivery_urls()(pk)`;
    "" for every car when the delivery app's pages are not installed."""
    try:
        return url_for_pk("delivery:visit")
    except NoReverseMatch:
        return lambda pk: ""


def _local_texts(*, day: bool = True):
    """`dealership.daterange.local_text` (month-day hour:minute in the store's time, or the
    hour and minute alone without `day`; "" for none) for many moments, the time zone read
    once: a board prints one per card."""
    zone = timezone.get_current_timezone()

    def text(moment) -> str:
        if not moment:
            return ""
        local = moment.astimezone(zone)
        if day:
            return f"{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"
        return f"{local.hour:02d}:{local.minute:02d}"

    return text


@dataclass
class Card:
    visit: Visit
    jobs: list
    pending_additions: list
    hours: Decimal
    remaining: Decimal
    projected: datetime
    risk: str
    lane: str
    delivery_url: str = ""
    hours_text: str = ""
    remaining_text: str = ""
    express: bool = False
    express_overdue: bool = False
    # How long the car has been in its current status, and since check-in (express).
    in_status_text: str = ""
    since_check_in_text: str = ""
    status_label: str = ""
    # What the card's template shows, worked out once here (see `_card_texts`): the board
    # renders 60-100 cards, and each lookup, filter or `if` in a card costs every card.
    pk_text: str = ""
    classes: str = ""
    plate: str = ""
    promised_text: str = ""
    left_text: str = ""
    rework_reason_short: str = ""
    inspect_url: str = ""

    @property
    def express_classes(self) -> str:
        """The card's express classes (" express", " express express-late" or "")."""
        if not self.express:
            return ""
        return " express express-late" if self.express_overdue else " express"

    @cached_property
    def dispatchable(self) -> list:
        """Jobs the controller may (re)dispatch: not started, not done, not awaiting approval.

        None once the car is past the workshop (QC passed, ready): the service would refuse.
        """
        if self.visit.status not in DISPATCHABLE_VISIT:
            return []
        return [j for j in self.jobs if j.status in (J.WAITING, J.DISPATCHED, J.PAUSED)]

    @cached_property
    def waiting(self) -> list:
        return [j for j in self.jobs if j.status == J.WAITING]


@dataclass
class Load:
    technician: Technician
    assigned: Decimal
    current_plate: str = ""  # the car of the job running now: plate, else VIN
    # Working hours today: the shift (or `dispatch.hours_available`'s provider) less the
    # roster's hours off (workshop.roster); 0 when away the whole day.
    available: Decimal = ZERO
    hours_off: Decimal | None = ZERO  # the roster's today: None when away the whole day

    @property
    def remaining(self) -> Decimal:
        return self.available - self.assigned

    @property
    def percent(self) -> int:
        if not self.available:
            return 100 if self.assigned else 0
        return min(int(self.assigned * 100 / self.available), 100)

    @property
    def over(self) -> bool:
        return self.assigned > self.available

    @property
    def hours_text(self) -> str:
        """ "assigned / available" as the load bar shows them (one decimal)."""
        return f"{_one_decimal(self.assigned)} / {_one_decimal(self.available)}"


@dataclass
class Lane:
    key: str
    label: str
    cards: list = field(default_factory=list)
    html: str = ""  # its cards' HTML (`board_cards.cards_attach`)


@dataclass
class Board:
    lanes: list
    loads: list
    bays: list
    teams: list
    now: datetime
    team: str = ""
    technician_id: int | None = None
    express_overdue: int = 0
    desk_calls: list = field(default_factory=list)
    carry_over: int = 0  # cars held over from the last close

    @property
    def away(self) -> int:
        return sum(1 for load in self.loads if load.hours_off is None)

    @property
    def card_count(self) -> int:
        return sum(len(lane.cards) for lane in self.lanes)


# What a card shows and the promise watch reads, as value rows: ~70 cars and ~120 jobs
# built as model instances cost the board more than its queries.
BOARD_VISIT_FIELDS = (
    "id",
    "number",
    "status",
    "hold_reason",
    "is_walk_in",
    "customer_waits",
    "promised_at",
    "rework_count",
    "checked_in_at",
    "status_changed_at",
)
BOARD_VEHICLE_FIELDS = {"plate": "vehicle__plate", "vin": "vehicle__vin", "model": "vehicle__model"}
BOARD_JOB_FIELDS = (
    "id",
    "visit_id",
    "status",
    "hours",
    "actual_hours",
    "clocked_on_at",
    "name_zh",
    "name_en",
    "technician_id",
    "bay_id",
    "clock_flag",
    "work_type",
    "rework_count",
)


class BoardRow:
    """One value row read as attributes, as the board's code and templates read a model."""

    def __init__(self, **values):
        self.__dict__.update(values)

    @classmethod
    def of(cls, values: dict):
        """The row of a dict of values, the dict itself as its attributes (not copied)."""
        row = cls.__new__(cls)
        row.__dict__ = values
        return row

    @property
    def pk(self) -> int:
        return self.id


class BoardVisit(BoardRow):
    """A car on the board: its row, `vehicle`, `board_jobs` and `pending_additions`."""


class BoardJob(BoardRow):
    """A job on a card. Its hours so far and left are the model's own rules."""

    hours_worked = Job.hours_worked
    remaining_hours = Job.remaining_hours


def _board_visit_set(team: str, technician_id: int | None) -> QuerySet[Visit]:
    visits = Visit.objects.filter(status__in=BOARD_STATUSES)
    if team:
        visits = visits.filter(
            Q(status=V.ORDER_SIGNED)
            | Exists(Job.objects.filter(visit=OuterRef("pk"), technician__team=team))
        )
    if technician_id:
        visits = visits.filter(
            Q(status=V.ORDER_SIGNED)
            | Exists(Job.objects.filter(visit=OuterRef("pk"), technician_id=technician_id))
        )
    return visits


def _board_visit_rows(team: str, technician_id: int | None) -> QuerySet[Visit]:
    # Customers waiting at the store first, then booked before walk-ins, then by promise.
    return (
        _board_visit_set(team, technician_id)
        .order_by("-customer_waits", "is_walk_in", "promised_at", "id")
        .values(
            *BOARD_VISIT_FIELDS,
            **{name: F(path) for name, path in BOARD_VEHICLE_FIELDS.items()},
        )
    )


def _board_job_rows(team: str, technician_id: int | None) -> QuerySet[Job]:
    # The cars chosen again inside the query rather than by their ids: the SQL then depends
    # on the filters only and is compiled once per process.
    return (
        Job.objects.filter(visit__in=_board_visit_set(team, technician_id).values("pk"))
        .exclude(status=J.CANCELLED)
        .order_by("position", "id")
        # Dispatch and the express lane read the catalogue operation: joined, no query.
        .values(
            *BOARD_JOB_FIELDS,
            required_skill=F("order_line__operation__required_skill"),
            catalogue_hours=F("order_line__operation__standard_hours"),
        )
    )


def _board_addition_rows(team: str, technician_id: int | None) -> QuerySet[Addition]:
    return (
        Addition.objects.filter(
            visit__in=_board_visit_set(team, technician_id).values("pk"),
            status=AdditionStatus.PROPOSED,
        )
        .order_by("id")
        .values("id", "visit_id", "title")
    )


def _board_visits(team: str, technician_id: int | None) -> list[BoardVisit]:
    """The board's cars with their jobs (not cancelled) and additions waiting for the
    customer: three queries, whatever the number of cars."""
    visits = []
    for row in compiled.value_rows(_board_visit_rows, fixed=(team, technician_id)):
        row["vehicle"] = BoardRow.of({name: row.pop(name) for name in BOARD_VEHICLE_FIELDS})
        row["board_jobs"], row["pending_additions"] = [], []
        visits.append(BoardVisit.of(row))
    if not visits:
        return visits
    by_pk = {visit.id: visit for visit in visits}
    # A car that joined the board between the reads has no card yet: its rows wait for the
    # next poll.
    for row in compiled.value_rows(_board_job_rows, fixed=(team, technician_id)):
        visit = by_pk.get(row["visit_id"])
        if visit is not None:
            visit.board_jobs.append(BoardJob.of(row))
    for row in compiled.value_rows(_board_addition_rows, fixed=(team, technician_id)):
        visit = by_pk.get(row["visit_id"])
        if visit is not None:
            visit.pending_additions.append(BoardRow.of(row))
    return visits


def _bays() -> QuerySet[Bay]:
    return Bay.objects.order_by("code")


def _day_technicians(now: datetime | None = None) -> list[Technician]:
    """Every technician, active or not (a job may name one who left), with the day's roster,
    their hours for the day and the car they are working on, in one query."""
    return compiled.instances(_day_technician_rows, fixed=(day_start(now),))


def _day_technician_rows(since: datetime) -> QuerySet[Technician]:
    jobs = Job.objects.filter(technician=OuterRef("pk"))
    # Open jobs plus jobs finished today (index on technician, status): not every job each
    # technician ever did, a year of a busy store is ~70 000 jobs.
    today = jobs.filter(
        Q(status__in=ASSIGNED_JOB_STATUSES) | Q(status=J.DONE, finished_at__gte=since)
    )
    running = jobs.filter(status=J.IN_PROGRESS).order_by("id")
    return (
        with_day_roster(Technician.objects.all(), since.date())
        .annotate(
            day_assigned=Subquery(
                today.values("technician").annotate(total=Sum("hours")).values("total")
            ),
            running_plate=Subquery(running.values("visit__vehicle__plate")[:1]),
            running_vin=Subquery(running.values("visit__vehicle__vin")[:1]),
        )
        .order_by("team", "name")
    )


def technician_loads(
    *, now: datetime | None = None, technicians: list[Technician] | None = None
) -> list[Load]:
    """Each active technician's hours for the day: open jobs plus jobs finished today.

    `technicians`: `_day_technicians(now)` when the caller has it already."""
    if technicians is None:
        technicians = _day_technicians(now)
    technicians = [technician for technician in technicians if technician.active]
    available = dispatch.hours_available(technicians, timezone.localdate(now))
    return [
        Load(
            technician=t,
            assigned=t.day_assigned or ZERO,
            current_plate=t.running_plate or t.running_vin or "",
            hours_off=None if t.roster_away else (t.roster_hours_off or ZERO),
            available=(
                ZERO
                if t.roster_away
                else max(available.get(t.pk, ZERO) - (t.roster_hours_off or ZERO), ZERO)
            ),
        )
        for t in technicians
    ]


_TENTH = Decimal("0.1")


def _one_decimal(value: Decimal) -> str:
    """As `floatformat:1` shows it (half up), without the template filter's cost."""
    return str(Decimal(value).quantize(_TENTH, ROUND_HALF_UP))


def rework_reasons_attach(jobs) -> None:
    """Set `job.rework_check` on each job: the failed QC check that sent it back, while
    that rework has not passed QC yet (else None). Two queries, whatever the number of jobs.

    The technician redoing the job and the controller's board see what must be redone.
    """
    reworked = [job for job in jobs if job.rework_count]
    for job in jobs:
        job.rework_check = None
    if not reworked:
        return
    through = QualityCheck.rework_jobs.through
    latest: dict[int, QualityCheck] = {}
    rows = (
        through.objects.filter(job_id__in=[job.pk for job in reworked])
        .select_related("qualitycheck__inspector")
        .order_by("qualitycheck__at", "qualitycheck_id")
    )
    for row in rows:
        latest[row.job_id] = row.qualitycheck
    passed = dict(
        QualityCheck.objects.filter(visit_id__in={job.visit_id for job in reworked}, passed=True)
        .values("visit_id")
        .annotate(last=Max("at"))
        .values_list("visit_id", "last")
    )
    for job in reworked:
        check = latest.get(job.pk)
        last_pass = passed.get(job.visit_id)
        if check is not None and (last_pass is None or last_pass < check.at):
            job.rework_check = check


def _people_attach(jobs, technicians: dict, bays: dict) -> None:
    """Set each job's technician and bay from the lists the board loads anyway."""
    for job in jobs:
        job.technician = technicians.get(job.technician_id)
        job.bay = bays.get(job.bay_id)


def _job_texts(job: Job, english: bool) -> None:
    """A job's line on its card, as the template shows it (no lookups through relations,
    no per-job translation of its name). `english`: the request's language, read once
    (`Job.name` reads it per job)."""
    job.pk_text = str(job.pk)
    job.label = job.name_en if english and job.name_en else job.name_zh
    job.technician_name = job.technician.name if job.technician_id else ""
    job.bay_code = job.bay.code if job.bay_id else ""
    job.expect_text = str(job.technician_id) if job.technician_id else ""
    job.tag_class = _JOB_TAG_CLASSES.get(job.status, "tag")


_JOB_TAG_CLASSES = {
    J.WAITING: "",  # a waiting job shows no status tag
    J.IN_PROGRESS: "tag good",
    J.PAUSED: "tag warn",
    J.PROPOSED: "tag warn",
}


def _card_texts(card: Card, inspect_url) -> None:
    """The values a card's template prints, once per card."""
    visit = card.visit
    card.pk_text = str(visit.pk)
    card.classes = f"risk-{card.risk or 'ok'}{card.express_classes}"
    card.plate = visit.vehicle.plate or visit.vehicle.vin
    card.promised_text = visit.promised_text or "—"
    card.left_text = card.remaining_text if card.remaining and card.lane != "waiting" else ""
    if visit.rework_reason:
        card.rework_reason_short = Truncator(visit.rework_reason).chars(60)
    card.inspect_url = inspect_url(visit.pk) if visit.status == V.WORK_DONE else ""
    offer = bool(card.dispatchable)
    for job in card.jobs:
        # The one-click suggestion on a waiting job of a car that can still be dispatched.
        job.offer = offer and job.status == J.WAITING


def _lane(visit: BoardVisit, express_max: int) -> tuple[str, bool]:
    """The card's lane by the car's status, the express lane for an express car; and
    whether the car is express."""
    ordered = [job for job in visit.board_jobs if job.status != J.PROPOSED]
    is_express = express.is_express(ordered, max_minutes=express_max)
    # Ready cars met or missed their target already: they wait in the ready lane.
    if is_express and LANE_OF[visit.status] != "ready":
        return "express", is_express
    return LANE_OF[visit.status], is_express


@functools.lru_cache(maxsize=8)
def _choice_labels(language: str | None) -> tuple[dict, dict, dict, dict]:
    """The labels of a job's status, a clocking flag, a hold reason and a car's status, by
    value, in `language` (the active one, which translates them): worked out once per
    language and process, as the translation catalogues are read."""
    return tuple(
        {value: str(label) for value, label in choices.choices}
        for choices in (J, ClockFlag, HoldReason, V)
    )


def board(*, team: str = "", technician_id: int | None = None, now=None) -> Board:
    """The dispatch board: cars in lanes by status, each technician's load for the day."""
    now = now or timezone.now()
    lanes = {key: Lane(key=key, label=label) for key, label, _statuses in LANES}
    # Resolved once: a choice label per row costs a translation lookup each time.
    status_labels, flag_labels, hold_labels, visit_status_labels = _choice_labels(get_language())
    express_max = rule("workshop.express_max_minutes")
    express_target = rule("workshop.express_target_minutes")
    express_overdue = 0
    english = (get_language() or "").startswith("en")
    durations = express.Durations()
    # Worked out here once per card: a board of 60 cars spent more in `{% url %}`, `date`
    # and `floatformat` than in its queries.
    visit_url, dispatch_url = url_for_pk("workshop:visit"), url_for_pk("workshop:dispatch")
    addition_url = url_for_pk("workshop:addition")
    inspect_url = url_for_pk("workshop:qc_inspect")
    delivery_url = _delivery_urls()
    local_text = _local_texts()
    visits = _board_visits(team, technician_id)
    technicians = _day_technicians(now)
    all_bays = compiled.instances(_bays)
    _people_attach(
        [job for visit in visits for job in visit.board_jobs],
        {technician.pk: technician for technician in technicians},
        {bay.pk: bay for bay in all_bays},
    )
    carried = carry_over_visit_ids(now)
    rework_reasons_attach([job for visit in visits for job in visit.board_jobs])
    for visit in visits:
        jobs = visit.board_jobs
        # One pass over the jobs: their texts, the first rework reason, the hours left and
        # the hours ordered (jobs proposed to the customer are not ordered yet).
        rework_check = None
        remaining = hours = ZERO
        for job in jobs:
            if rework_check is None:
                rework_check = job.rework_check
            job.status_label = status_labels[job.status]
            job.clock_flag_label = flag_labels.get(job.clock_flag, "")
            job.hours_text = _one_decimal(job.hours)
            _job_texts(job, english)
            remaining += job.remaining_hours(now)
            if job.status != J.PROPOSED:
                hours += job.hours
        visit.rework_reason = rework_check.reason if rework_check else ""
        visit.hold_label = hold_labels.get(visit.hold_reason, "")
        visit.carry_over = visit.pk in carried
        visit.board_url, visit.dispatch_url = visit_url(visit.pk), dispatch_url(visit.pk)
        visit.promised_text = local_text(visit.promised_at)
        for addition in visit.pending_additions:
            addition.url = addition_url(addition.pk)
        projected = now + timedelta(hours=float(remaining))
        lane, is_express = _lane(visit, express_max)
        overdue = is_express and express.express_overdue(
            visit.checked_in_at, now, target=express_target
        )
        if lane == "express":
            express_overdue += overdue
        lanes[lane].cards.append(
            Card(
                visit=visit,
                jobs=jobs,
                pending_additions=visit.pending_additions,
                hours=hours,
                hours_text=_one_decimal(hours),
                remaining=remaining,
                remaining_text=_one_decimal(remaining),
                projected=projected,
                risk=promise_risk(visit, projected, now=now),
                lane=lane,
                delivery_url=delivery_url(visit.pk) if lane == "qc" else "",
                express=is_express,
                express_overdue=overdue and lane == "express",
                in_status_text=durations.text(now - visit.status_changed_at),
                since_check_in_text=durations.text(now - visit.checked_in_at),
                status_label=visit_status_labels.get(visit.status, ""),
            )
        )
        _card_texts(lanes[lane].cards[-1], inspect_url)
    loads = technician_loads(now=now, technicians=technicians)
    # Suggestions in the board's order of priority (waiting customers, booked, promise).
    waiting = [job for visit in visits for job in visit.board_jobs if job.status == J.WAITING]
    dispatch.suggest_for_jobs(waiting, dispatch.candidates_from_loads(loads))
    for job in waiting:
        job.suggested_pk = str(job.suggested.pk) if job.suggested else ""
    calls = open_desk_calls()
    for call in calls:
        call.waiting_minutes = max(int((now - call.asked_at).total_seconds() // 60), 0)
    return Board(
        lanes=list(lanes.values()),
        loads=loads,
        bays=[bay for bay in all_bays if bay.active],
        teams=sorted({load.technician.team for load in loads if load.technician.team}),
        now=now,
        team=team,
        technician_id=technician_id,
        express_overdue=express_overdue,
        desk_calls=calls,
        carry_over=len(carried),
    )


@dataclass
class PromiseAlert:
    visit: BoardVisit  # with `board_url` and `promised_text`
    risk: str  # "missed" or "at_risk", as on its card


def promises_at_risk(*, now: datetime | None = None) -> list[PromiseAlert]:
    """The board's cars whose promise is missed or at risk, in the board's order (lane,
    then card), for the manager's start page: the risk as the board works it out, without
    the rest of the board (its loads, people, carry-over, desk calls and texts)."""
    now = now or timezone.now()
    express_max = rule("workshop.express_max_minutes")
    visit_url = url_for_pk("workshop:visit")
    local_text = _local_texts()
    lane_order = {key: index for index, (key, _label, _statuses) in enumerate(LANES)}
    alerts = []
    for visit in _board_visits("", None):
        remaining = sum((job.remaining_hours(now) for job in visit.board_jobs), ZERO)
        risk = promise_risk(visit, now + timedelta(hours=float(remaining)), now=now)
        if not risk:
            continue
        visit.board_url = visit_url(visit.pk)
        visit.promised_text = local_text(visit.promised_at)
        lane, _is_express = _lane(visit, express_max)
        alerts.append((lane_order[lane], PromiseAlert(visit=visit, risk=risk)))
    alerts.sort(key=lambda pair: pair[0])  # stable: the cards' order within a lane
    return [alert for _lane_index, alert in alerts]


# ---------------------------------------------------------------- technician


def technician_for(user) -> Technician | None:
    return Technician.objects.filter(user=user, active=True).first()


_JOB_ORDER = {J.IN_PROGRESS: 0, J.PAUSED: 1, J.DISPATCHED: 2, J.DONE: 3}


def technician_jobs(technician: Technician, *, now=None) -> list[Job]:
    """The technician's jobs: running first, then paused and dispatched, then done today."""
    jobs = (
        Job.objects.filter(technician=technician)
        .filter(
            Q(status__in=ASSIGNED_JOB_STATUSES) | Q(status=J.DONE, finished_at__gte=day_start(now))
        )
        .select_related("visit__vehicle", "visit__customer", "visit__advisor", "bay", "addition")
        .prefetch_related(
            Prefetch("findings", queryset=Finding.objects.prefetch_related("photos", "additions")),
            Prefetch("additions_found", queryset=Addition.objects.order_by("id")),
        )
    )
    jobs = sorted(jobs, key=lambda j: (_JOB_ORDER.get(j.status, 9), j.dispatched_at or now, j.pk))
    rework_reasons_attach(jobs)
    return jobs


def clocked_hours_by_line(*, order) -> dict[int, Decimal]:
    """Hours actually clocked per labour line of `order` (for billing by clocked hours).

    A job belongs to the line at its position on the order; revisions keep positions,
    so this works for the revision in force too.
    """
    clocked = dict(
        Job.objects.filter(visit_id=order.visit_id, position__isnull=False)
        .exclude(status__in=(J.CANCELLED, J.PROPOSED))
        .values_list("position", "actual_hours")
    )
    return {
        line.pk: clocked[line.position]
        for line in order.lines.all()
        if line.kind == LineKind.LABOUR and line.position in clocked
    }


def workshop_lines_not_done(*, order) -> list:
    """The labour lines of `order` whose job is not finished (or was never made).

    Labour is work for the workshop: the final check cannot tick off a line that
    no finished job stands behind.
    """
    done = set(
        Job.objects.filter(
            visit_id=order.visit_id, position__isnull=False, status=J.DONE
        ).values_list("position", flat=True)
    )
    return [
        line
        for line in order.lines.all()
        if line.kind == LineKind.LABOUR and line.position not in done
    ]


# ---------------------------------------------------------------- visit, additions, QC


@dataclass
class VisitWorkshop:
    visit: Visit
    jobs: list
    findings: list
    additions: list
    checks: list
    watch_tasks: list
    projected: datetime
    risk: str


def visit_workshop(pk: int) -> VisitWorkshop:
    """Everything the workshop knows about one car: jobs and clocking, findings, additions,
    inspections and the promise watch."""
    visit = Visit.objects.select_related("customer", "vehicle", "advisor").get(pk=pk)
    jobs = list(
        visit.jobs.select_related("technician", "bay", "dispatched_by")
        .prefetch_related(
            Prefetch(
                "clock_entries",
                queryset=ClockEntry.objects.select_related("technician").order_by("started_at"),
            )
        )
        .order_by("position", "id")
    )
    now = timezone.now()
    open_jobs = [j for j in jobs if j.status != J.CANCELLED]
    projected = projected_finish(visit, open_jobs, now=now)
    watch = PromiseWatch.objects.filter(visit=visit).first()
    watch_tasks = []
    if watch is not None:
        watch_tasks = list(
            DueTask.objects.filter(
                subject_type=ContentType.objects.get_for_model(PromiseWatch), subject_id=watch.pk
            )
            .select_related("completed_by")
            .order_by("due_at", "id")
        )
    return VisitWorkshop(
        visit=visit,
        jobs=jobs,
        findings=list(
            visit.findings.select_related("reported_by", "job").prefetch_related("photos")
        ),
        additions=list(
            visit.additions.select_related("proposed_by", "recorded_by").prefetch_related("lines")
        ),
        checks=list(
            visit.quality_checks.select_related("inspector").prefetch_related("rework_jobs")
        ),
        watch_tasks=watch_tasks,
        projected=projected,
        risk=promise_risk(visit, projected, now=now),
    )


def addition_detail(pk: int) -> Addition:
    return (
        Addition.objects.select_related(
            "visit__customer",
            "visit__vehicle",
            "visit__advisor",
            "finding__job",
            "proposed_by",
            "recorded_by",
            "revision",
        )
        .prefetch_related("lines", "finding__photos", "jobs__technician")
        .get(pk=pk)
    )


def _qc_visit_rows() -> QuerySet[Visit]:
    return (
        Visit.objects.filter(status=V.WORK_DONE)
        .order_by("work_done_at", "id")
        .values(
            "id",
            "rework_count",
            "work_done_at",
            "promised_at",
            plate=F("vehicle__plate"),
            vin=F("vehicle__vin"),
            model=F("vehicle__model"),
        )
    )


def _qc_job_rows() -> QuerySet[Job]:
    # The cars chosen again inside the query (not by their ids): the SQL is compiled once.
    return (
        Job.objects.filter(visit__status=V.WORK_DONE)
        .exclude(status=J.CANCELLED)
        .order_by("position", "id")
        .values("visit_id", "name_zh", "name_en", technician_name=F("technician__name"))
    )


def _qc_check_rows(limit: int) -> QuerySet[QualityCheck]:
    return QualityCheck.objects.order_by("-at", "-id").values(
        "at",
        "passed",
        "reason",
        plate=F("visit__vehicle__plate"),
        vin=F("visit__vehicle__vin"),
        **name_columns("inspector"),
    )[:limit]


def qc_queue() -> list[dict]:
    """Cars whose work is done, waiting for the inspector, oldest first, as the list prints
    them (plain values, for `workshop/_qc_lists.html`): `plate` (else the VIN), `model`,
    `rework_count`, `jobs` (each job's `name` in the reader's language and `technician`,
    "—" for none), `work_done_text`, `promised_text` ("—" for none) and `inspect_url`.
    Two queries, compiled once per process."""
    english = (get_language() or "").startswith("en")
    day_text, clock_text = _local_texts(), _local_texts(day=False)
    inspect_url = url_for_pk("workshop:qc_inspect")
    visits, by_pk = [], {}
    for row in compiled.value_rows(_qc_visit_rows):
        visit = by_pk[row["id"]] = {
            "plate": row["plate"] or row["vin"],
            "model": row["model"],
            "rework_count": row["rework_count"],
            "jobs": [],
            "work_done_text": clock_text(row["work_done_at"]),
            "promised_text": day_text(row["promised_at"]) or "—",
            "inspect_url": inspect_url(row["id"]),
        }
        visits.append(visit)
    if not visits:
        return visits
    # A car that reached the list between the reads has its jobs on the next one.
    for row in compiled.value_rows(_qc_job_rows):
        if row["visit_id"] in by_pk:
            by_pk[row["visit_id"]]["jobs"].append(
                {
                    # As `Job.name`: the English name when there is one and the reader reads
                    # English, else the Chinese.
                    "name": row["name_en"] if english and row["name_en"] else row["name_zh"],
                    "technician": row["technician_name"] or "—",
                }
            )
    return visits


def qc_recent(limit: int = 20) -> list[dict]:
    """The last inspections as the list prints them: `at_text`, `plate` (else the VIN), the
    `inspector` as staff are named ("None" once the user is deleted, as the list always
    printed it), `passed` and `reason`. One query, compiled once per process."""
    day_text = _local_texts()
    checks = []
    for row in compiled.value_rows(_qc_check_rows, fixed=(limit,)):
        inspector = name_in(row, "inspector") or "None"
        checks.append(
            {
                "at_text": day_text(row["at"]),
                "plate": row["plate"] or row["vin"],
                "inspector": inspector,
                "passed": row["passed"],
                "reason": row["reason"],
            }
        )
    return checks


# ---------------------------------------------------------------- customer progress

HOLD_NOTES = {
    HoldReason.AWAITING_PARTS: _("Waiting for parts."),
    HoldReason.AWAITING_APPROVAL: _("Waiting for your answer about additional work."),
}


@dataclass
class Stage:
    key: str
    label: str
    state: str  # "done", "current" or "todo"


@dataclass
class CustomerProgress:
    visit: Visit
    stages: list
    current: str
    note: str
    promised_at: datetime | None
    approvals: list  # (addition, url)
    cancelled: bool = False


def customer_progress(visit: Visit) -> CustomerProgress:
    """What the customer sees on their progress page: stage, promised time, approvals waiting.

    Only this visit's data; approval links are the customer's own signed links.
    """
    index = next((i for i, (_k, _l, statuses) in enumerate(STAGES) if visit.status in statuses), 0)
    stages = [
        Stage(
            key=key, label=label, state="done" if i < index else "current" if i == index else "todo"
        )
        for i, (key, label, _statuses) in enumerate(STAGES)
    ]
    # A proposal whose link was not sent yet is listed too: the advisor is about to call.
    approvals = [
        (
            addition,
            reverse("workshop:approve", kwargs={"token": addition.link_token})
            if addition.link_token
            else "",
        )
        for addition in visit.additions.filter(status=AdditionStatus.PROPOSED).order_by("id")
    ]
    return CustomerProgress(
        visit=visit,
        stages=stages,
        current=str(STAGES[index][1]),
        note=str(HOLD_NOTES.get(visit.hold_reason, "")) if visit.status == V.ON_HOLD else "",
        promised_at=visit.promised_at,
        approvals=approvals,
        cancelled=visit.status == V.CANCELLED,
    )


def _open_desk_call_rows() -> QuerySet[DeskCall]:
    return (
        DeskCall.objects.filter(answered_at__isnull=True)
        .order_by("asked_at", "id")
        .values(
            "id",
            "asked_at",
            "note",
            number=F("visit__number"),
            plate=F("visit__vehicle__plate"),
            vin=F("visit__vehicle__vin"),
            username=F("asked_by__username"),
            first_name=F("asked_by__first_name"),
            last_name=F("asked_by__last_name"),
        )
    )


def _asker(row: dict) -> str:
    """Who asked, as the board names staff (full name, else user name; "" once deleted)."""
    names = {name: row.pop(name) for name in ("username", "first_name", "last_name")}
    if names["username"] is None:
        return ""
    asker = User(**names)
    return asker.get_full_name() or asker.username


def open_desk_calls() -> list[BoardRow]:
    """Technicians asked to the desk (workshop.desk_help) and still waiting, oldest first,
    as the board prints them: the car's `plate`, `vin` and visit `number`, the `asker`,
    the `note` and `asked_at`. One query, compiled once per process."""
    calls = []
    for row in compiled.value_rows(_open_desk_call_rows):
        asker = _asker(row)
        calls.append(BoardRow(**row, asker=asker))
    return calls
