"""Reads of step 8 shaped for the pages: call lists, complaints, the customer archive.

Every function here answers in a fixed number of queries whatever the number
of rows (the tests assert it).
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db.models import Count, Prefetch, Q
from django.urls import NoReverseMatch, Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dealership.due import KINDS, State
from dealership.models import Customer, DueTask, Message, TimelineEvent, User, Vehicle
from dealership.roles import Role, has_role, user_roles
from dealership.urltools import SENTINEL, url_for_pk
from dealership.visibility import (
    CONTACT_FIELDS,
    HIDDEN,
    field_level,
    money_hidden,
    recipient_shown,
    sees_money,
    shown,
)

from . import kinds as K
from .models import Complaint, ComplaintAction, ComplaintStatus, Survey

LIST_LIMIT = 200
# A call list shows the first calls to make; "save and call the next" goes on through the rest.
CALLS_SHOWN = 50
ARCHIVE_LIMIT = 100
ARCHIVE_LIMIT_ALL = 1000


def end_of_today(now: datetime) -> datetime:
    return timezone.localtime(now).replace(hour=23, minute=59, second=59, microsecond=999999)


def sees_all(user) -> bool:
    return bool(user_roles(user) & {Role.SERVICE_MANAGER, Role.ADMIN})


def lists_for(user) -> list[K.CallList]:
    """The call lists this user works on (managers see them all)."""
    roles = user_roles(user)
    return [
        item
        for item in K.CALL_LISTS.values()
        if item.registered_kinds and (Role.ADMIN in roles or roles & set(item.roles))
    ]


def may_act(user, task: DueTask) -> bool:
    """A call assigned to a person is theirs (and the managers'); otherwise the role's."""
    if sees_all(user) or task.assigned_to_id == user.pk:
        return True
    return not task.assigned_to_id and task.role in user_roles(user)


def _visible_calls(kinds, user, now: datetime):
    tasks = DueTask.objects.filter(
        kind__in=list(kinds),
        for_person=True,
        state=State.PENDING,
        due_at__lte=end_of_today(now),
        customer__do_not_call=False,  # opted out: never on a list, whatever was planned
    )
    if not sees_all(user):
        tasks = tasks.filter(
            Q(assigned_to=user) | Q(assigned_to__isnull=True, role__in=user_roles(user))
        )
    return tasks


def list_counts(*, user, now: datetime | None = None) -> dict[str, dict]:
    """Per list: calls due by tonight and how many of them are overdue (one query)."""
    now = now or timezone.now()
    lists = lists_for(user)
    kinds = [kind for item in lists for kind in item.registered_kinds]
    by_kind = {
        row["kind"]: row
        for row in _visible_calls(kinds, user, now)
        .values("kind")
        .annotate(total=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))
        .order_by()
    }
    counts = {}
    for item in lists:
        rows = [by_kind[kind] for kind in item.kinds if kind in by_kind]
        counts[item.slug] = {
            "total": sum(row["total"] for row in rows),
            "overdue": sum(row["overdue"] for row in rows),
        }
    return counts


def _attach_vehicles(rows) -> dict[int, Vehicle]:
    """Set `row.archive_vehicle`: the row's vehicle, else its subject's, else its payload's.

    Subjects are not loaded: one query per kind of subject that has a vehicle
    (visits, appointments, ...) and one for all the vehicles.
    """
    wanted = {}
    unresolved = defaultdict(set)
    for row in rows:
        vehicle_id = getattr(row, "vehicle_id", None)
        if not vehicle_id and isinstance(getattr(row, "payload", None), dict):
            vehicle_id = row.payload.get("vehicle")
        if not vehicle_id and row.subject_id:
            unresolved[row.subject_type_id].add(row.subject_id)
        wanted[id(row)] = vehicle_id
    via_subject = {}
    for type_id, ids in unresolved.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is Vehicle:
            via_subject.update({(type_id, pk): pk for pk in ids})
        elif model is not None and any(f.name == "vehicle" for f in model._meta.fields):
            pairs = model._default_manager.filter(pk__in=ids).values_list("pk", "vehicle_id")
            via_subject.update({(type_id, pk): vehicle_id for pk, vehicle_id in pairs})
    for row in rows:
        if not wanted[id(row)] and row.subject_id:
            wanted[id(row)] = via_subject.get((row.subject_type_id, row.subject_id))
    ids = {pk for pk in wanted.values() if pk}
    vehicles = Vehicle.objects.in_bulk(ids) if ids else {}
    for row in rows:
        row.archive_vehicle = vehicles.get(wanted[id(row)])
    return vehicles


class SubjectUrls:
    """The page of a row's subject without loading it: `get_absolute_url` of a model is
    asked once with a stand-in primary key, then filled in per row."""

    SENTINEL = SENTINEL

    def __init__(self):
        self._makers = {}

    def __call__(self, type_id: int | None, pk: int | None) -> str:
        if not type_id or not pk:
            return ""
        if type_id not in self._makers:
            self._makers[type_id] = self._maker(type_id)
        head_tail = self._makers[type_id]
        return f"{head_tail[0]}{pk}{head_tail[1]}" if head_tail else ""

    def _maker(self, type_id):
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is None or not hasattr(model, "get_absolute_url"):
            return None
        try:
            sample = model(pk=int(self.SENTINEL)).get_absolute_url()
        except (NoReverseMatch, AttributeError, ValueError, TypeError, LookupError):
            return None
        if sample.count(self.SENTINEL) != 1:
            return None
        return tuple(sample.split(self.SENTINEL))


@dataclass
class CallRow:
    task: DueTask
    label: object
    vehicle: Vehicle | None
    visit: object | None
    overdue: bool
    attempts: list[dict]
    reason: str = ""
    urls: dict = field(default_factory=dict)
    # Local times as the list shows them, formatted once here: the `date` filter on a
    # 200-row list costs more than the list's queries.
    due_text: str = ""
    delivered_text: str = ""

    @property
    def attempt_count(self) -> int:
        return len(self.attempts)


def _reason(task: DueTask) -> str:
    payload = task.payload or {}
    if payload.get("reason") == "not_seen":
        return _("Not seen for %(months)s months (last visit %(day)s)") % {
            "months": payload.get("months"),
            "day": payload.get("last_visit"),
        }
    if payload.get("reason") == "first_service":
        return _("New car not back for its first service (handed over %(day)s)") % {
            "day": payload.get("handover")
        }
    if payload.get("handover"):
        return _("Handed over %(day)s") % {"day": payload["handover"]}
    if payload.get("due_on"):
        return _("Maintenance due %(day)s") % {"day": payload["due_on"]}
    return ""


def _call_row(task: DueTask, now: datetime, urls: dict | None = None) -> CallRow:
    from reception.models import Visit

    subject = task.subject
    vehicle = getattr(task, "archive_vehicle", None)
    visit = subject if isinstance(subject, Visit) else None
    return CallRow(
        task=task,
        label=KINDS[task.kind].label if task.kind in KINDS else task.kind,
        vehicle=vehicle,
        visit=visit,
        overdue=task.due_at < now,
        attempts=list(task.payload.get("attempts", [])),
        reason=_reason(task),
        urls=_row_urls(task, vehicle, urls) if urls else {},
        due_text=_short_time(task.due_at),
        delivered_text=_short_time(visit.delivered_at) if visit and visit.delivered_at else "",
    )


def _short_time(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%m-%d %H:%M}"


def _row_urls(task: DueTask, vehicle: Vehicle | None, makers: dict) -> dict:
    urls = {
        "call": makers["call"](task.pk),
        "not_reached": makers["not_reached"](task.pk),
        "customer": makers["customer"](task.customer_id),
    }
    if vehicle is not None:
        urls["vehicle"] = makers["vehicle"](vehicle.pk)
    return urls


def _subject_prefetch():
    """Call subjects, with only what a list row shows of a visit."""
    from reception.models import Visit

    return GenericPrefetch(
        "subject",
        [Visit.objects.only("id", "number", "delivered_at", "vehicle_id", "advisor_id")],
    )


def call_list_rows(
    *, call_list: K.CallList, user, now: datetime | None = None, limit: int = CALLS_SHOWN
) -> list[CallRow]:
    """The list's calls due by tonight, overdue (earliest due) first."""
    now = now or timezone.now()
    tasks = list(
        _visible_calls(call_list.registered_kinds, user, now)
        .select_related("customer", "assigned_to")
        .prefetch_related(_subject_prefetch())
        .order_by("due_at", "id")[:limit]
    )
    _attach_vehicles(tasks)
    urls = {
        "call": url_for_pk("followup:call"),
        "not_reached": url_for_pk("followup:call_not_reached"),
        "vehicle": url_for_pk("followup:vehicle_archive"),
        "customer": url_for_pk("followup:customer_archive"),
    }
    return [_call_row(task, now, urls) for task in tasks]


def next_call(*, call_list: K.CallList, user, after: DueTask, now: datetime | None = None):
    """The next call of the list to work on after `after` (None when the list is done)."""
    now = now or timezone.now()
    return (
        _visible_calls(call_list.registered_kinds, user, now)
        .exclude(pk=after.pk)
        .order_by("due_at", "id")
        .first()
    )


def call_detail(pk: int, *, now: datetime | None = None) -> CallRow:
    now = now or timezone.now()
    task = (
        DueTask.objects.select_related("customer", "assigned_to", "completed_by")
        .prefetch_related("subject")
        .get(pk=pk, for_person=True)
    )
    _attach_vehicles([task])
    return _call_row(task, now)


# --------------------------------------------------------------------- complaints

COMPLAINT_FILTERS = {
    "open": (
        pgettext_lazy("complaint", "Open"),
        Q(status__in=(ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)),
    ),
    "important": (
        _("Important"),
        Q(severity="important", status__in=(ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)),
    ),
    "escalated": (
        _("Escalated"),
        Q(escalated_at__isnull=False)
        & Q(status__in=(ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)),
    ),
    "mine": (_("Mine"), None),
    "closed": (pgettext_lazy("complaint", "Closed"), Q(status=ComplaintStatus.CLOSED)),
}


def complaint_list(*, show: str, user, limit: int = LIST_LIMIT) -> list[Complaint]:
    complaints = Complaint.objects.select_related("customer", "vehicle", "owner", "visit")
    if show == "mine":
        complaints = complaints.filter(owner=user).exclude(status=ComplaintStatus.CLOSED)
    else:
        complaints = complaints.filter(COMPLAINT_FILTERS[show][1])
    order = ["-closed_at", "-id"] if show == "closed" else ["close_by", "id"]
    return list(complaints.order_by(*order)[:limit])


def complaint_counts(*, user) -> dict[str, int]:
    counters = {
        key: Count("id", filter=condition)
        for key, (_label, condition) in COMPLAINT_FILTERS.items()
        if condition is not None and key != "closed"
    }
    counters["mine"] = Count(
        "id",
        filter=Q(owner=user) & Q(status__in=(ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)),
    )
    return Complaint.objects.aggregate(**counters)


def complaint_detail(pk: int) -> Complaint:
    return (
        Complaint.objects.select_related(
            "customer", "vehicle", "owner", "visit", "opened_by", "survey"
        )
        .prefetch_related(
            Prefetch("actions", queryset=ComplaintAction.objects.select_related("actor"))
        )
        .get(pk=pk)
    )


def complaint_owner_choices():
    return (
        User.objects.filter(
            is_active=True,
            groups__name__in=(Role.CUSTOMER_CARE, Role.ADVISOR, Role.SERVICE_MANAGER),
        )
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def customer_visits(customer: Customer, limit: int = 30):
    from reception.models import Visit

    return (
        Visit.objects.filter(customer=customer)
        .select_related("vehicle")
        .order_by("-checked_in_at")[:limit]
    )


# --------------------------------------------------------------------- the customer archive

# Timeline kinds → archive category. The first matching prefix wins.
CATEGORIES = (
    ("appointments", _("Appointments")),
    ("visits", _("Visits")),
    ("orders", _("Orders")),
    ("additions", _("Additional work")),
    ("payments", _("Payments")),
    ("messages", _("Messages")),
    ("calls", _("Calls")),
    ("complaints", _("Complaints")),
    ("edits", _("Edits")),
    ("other", _("Other")),
)
_PREFIXES = (
    ("appointment", "appointments"),
    ("workorder", "orders"),
    ("order", "orders"),
    ("visit", "visits"),
    ("workshop", "visits"),
    ("qc", "visits"),
    ("delivery", "visits"),
    ("message", "messages"),
    ("followup", "calls"),
    ("due", "calls"),
    ("customer.opt", "calls"),
    ("complaint", "complaints"),
    ("customer", "edits"),
    ("vehicle", "edits"),
)


def category_of(kind: str) -> str:
    """The archive category of a timeline kind; additional work and payments by keyword,
    since every step's app names its own kinds ("workshop.addition_approved", "visit.settled")."""
    lowered = kind.lower()
    own_words = lowered.startswith(("appointment", "complaint", "followup"))
    if not own_words and any(word in lowered for word in ("addition", "approv", "declin")):
        return "additions"
    if any(word in lowered for word in ("payment", "settle", "paid", "deposit", "invoice")):
        return "payments"
    for prefix, category in _PREFIXES:
        if lowered.startswith(prefix):
            return category
    return "other"


@dataclass
class Entry:
    at: datetime
    category: str
    title: object
    text: str
    actor: object = None
    vehicle: Vehicle | None = None
    url: str = ""
    tag: str = ""
    tag_class: str = ""
    details: list = field(default_factory=list)

    @property
    def category_label(self):
        return dict(CATEGORIES).get(self.category, self.category)


@dataclass
class Archive:
    customer: Customer
    vehicle: Vehicle | None
    vehicles: list[Vehicle]
    entries: list[Entry]
    category_counts: dict
    open_calls: list[DueTask]
    complaints: list[Complaint]
    surveys: list[Survey]
    visits: list
    truncated: bool


def _shown(model_field, value) -> str:
    """A field's value as staff read it: choice labels, local times, yes / no."""
    if value is None or value == "":
        return "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    return str(value)


def _history_entries(model, ids, *, title, limit, vehicles=None, viewer=None) -> list[Entry]:
    """Edits from django-simple-history, one query for all the rows, diffs computed here.

    With a `viewer`, a customer's contact details are shown as that user's role may see them
    (dealership.visibility): masked, or the change left out."""
    records = list(
        model.history.filter(id__in=ids)
        .select_related("history_user")
        .order_by("id", "history_id")[: limit * 4]
    )
    entries = []
    previous = {}
    for record in records:
        older = previous.get(record.id)
        previous[record.id] = record
        if older is None or record.history_type != "~":
            continue
        changes = []
        for change in record.diff_against(older).changes:
            model_field = model._meta.get_field(change.field)
            old, new = change.old, change.new
            if viewer is not None and model is Customer and change.field in CONTACT_FIELDS:
                if field_level(viewer, change.field) == HIDDEN:
                    continue
                old, new = shown(viewer, change.field, old), shown(viewer, change.field, new)
            changes.append(
                f"{model_field.verbose_name}: {_shown(model_field, old)} → "
                f"{_shown(model_field, new)}"
            )
        if not changes:
            continue
        entries.append(
            Entry(
                at=record.history_date,
                category="edits",
                title=title,
                text="; ".join(changes),
                actor=record.history_user,
                vehicle=(vehicles or {}).get(record.id),
                tag=record.history_change_reason or "",
            )
        )
    return entries


def _for_viewer(entries: list[Entry], viewer) -> list[Entry]:
    """The entries as `viewer` may see them: payments and amounts only for the roles that
    handle money, links only to pages the viewer's role may open."""
    money = sees_money(viewer)
    allowed: dict = {}
    kept = []
    for entry in entries:
        if not money:
            if entry.category == "payments":
                continue
            entry.text = money_hidden(viewer, entry.text)
            entry.title = money_hidden(viewer, entry.title) if entry.title else entry.title
            entry.details = [money_hidden(viewer, line) for line in entry.details]
        if entry.url:
            if entry.url not in allowed:
                allowed[entry.url] = _may_open(viewer, entry.url)
            if not allowed[entry.url]:
                entry.url = ""
        kept.append(entry)
    return kept


def _may_open(viewer, url: str) -> bool:
    try:
        roles = getattr(resolve(url.split("?")[0]).func, "allowed_roles", None)
    except Resolver404:
        return False
    return roles is None or has_role(viewer, roles)


def _recipient_for(viewer, to: str) -> str:
    return to if viewer is None else recipient_shown(viewer, to)


def _keep_for_vehicle(row, vehicle: Vehicle | None) -> bool:
    """On a vehicle's page: rows about this vehicle and rows about no vehicle at all."""
    if vehicle is None:
        return True
    return row.archive_vehicle is None or row.archive_vehicle.pk == vehicle.pk


def archive(
    *,
    customer_id: int | None = None,
    vehicle_id: int | None = None,
    limit: int = ARCHIVE_LIMIT,
    viewer=None,
) -> Archive:
    """Everything the store knows happened with a customer (or one vehicle), newest first.

    Built from the timeline events the apps write, the messages sent, the
    calls (due tasks) with their outcomes and attempts, surveys, complaints and
    the edit history. Nothing is typed into the archive by hand.

    With a `viewer`, what that user's role may see (dealership.visibility): contact details
    masked or left out, and payments (invoice numbers, amounts) only for the roles that
    handle money.
    """
    from reception.models import Visit

    vehicle = None
    if vehicle_id is not None:
        vehicle = Vehicle.objects.select_related("owner").get(pk=vehicle_id)
        customer = vehicle.owner
    else:
        customer = Customer.objects.get(pk=customer_id)
    vehicles = list(customer.vehicles.order_by("plate", "id"))
    vehicle_map = {v.pk: v for v in vehicles}
    if vehicle is not None:
        vehicle_map[vehicle.pk] = vehicle

    # Events on this vehicle (whoever owned it) or, on the customer's page, on the customer.
    if vehicle is not None:
        scope = Q(vehicle=vehicle) | Q(customer=customer, vehicle__isnull=True)
    else:
        scope = Q(customer=customer)
    events = list(
        TimelineEvent.objects.filter(scope)
        .exclude(
            Q(kind__startswith="message.")
            | Q(kind="due.completed")
            | Q(kind="followup.call_attempt")
            | Q(kind="followup.survey")
        )
        .select_related("actor")
        .order_by("-at", "-id")[: limit + 1]
    )
    messages = list(
        Message.objects.filter(
            Q(vehicle=vehicle) | Q(customer=customer, vehicle__isnull=True)
            if vehicle is not None
            else Q(customer=customer)
        ).order_by("-sent_at", "-id")[: limit + 1]
    )
    calls = list(
        DueTask.objects.filter(customer=customer, for_person=True)
        .exclude(state=State.CANCELLED)
        .exclude(kind=K.ESCALATION)  # the manager's duty, on the complaint's own lines
        .select_related("completed_by", "assigned_to")
        .order_by("-due_at", "-id")[: limit + 1]
    )
    rows = [*events, *messages, *calls]
    known = _attach_vehicles(rows)
    for pk, found in known.items():
        vehicle_map.setdefault(pk, found)
    events = [row for row in events if _keep_for_vehicle(row, vehicle)]
    messages = [row for row in messages if _keep_for_vehicle(row, vehicle)]
    calls = [row for row in calls if _keep_for_vehicle(row, vehicle)]

    surveys_qs = Survey.objects.filter(customer=customer).select_related("taken_by", "visit")
    complaints_qs = Complaint.objects.filter(customer=customer).select_related(
        "owner", "visit", "vehicle"
    )
    visits_qs = Visit.objects.filter(customer=customer).select_related("advisor", "vehicle")
    if vehicle is not None:
        surveys_qs = surveys_qs.filter(vehicle=vehicle)
        complaints_qs = complaints_qs.filter(Q(vehicle=vehicle) | Q(vehicle__isnull=True))
        visits_qs = Visit.objects.filter(vehicle=vehicle).select_related("advisor", "vehicle")
    surveys = list(surveys_qs.order_by("-taken_at")[:limit])
    survey_by_call = {survey.call_id: survey for survey in surveys}
    complaints = list(complaints_qs.order_by("-opened_at")[:limit])
    visits = list(visits_qs.order_by("-checked_in_at")[:50])

    entries: list[Entry] = []
    subject_url = SubjectUrls()
    for event in events:
        entries.append(
            Entry(
                at=event.at,
                category=category_of(event.kind),
                title="",
                text=event.summary_text,
                actor=event.actor,
                vehicle=event.archive_vehicle,
                url=subject_url(event.subject_type_id, event.subject_id),
            )
        )
    for message in messages:
        failed = message.status == Message.Status.FAILED
        entries.append(
            Entry(
                at=message.sent_at,
                category="messages",
                title=_("Message to %(to)s (%(channel)s)")
                % {"to": _recipient_for(viewer, message.to), "channel": message.channel},
                text=message.body,
                vehicle=message.archive_vehicle,
                tag=message.get_status_display(),
                tag_class="bad" if failed else "good",
                details=[message.error] if failed else [],
            )
        )
    now = timezone.now()
    open_calls = []
    for task in calls:
        spec = KINDS.get(task.kind)
        label = spec.label if spec else task.kind
        attempts = task.result.get("attempts") or task.payload.get("attempts") or []
        details = [
            _("Not reached %(at)s (%(by)s) %(note)s")
            % {"at": a.get("at_local", ""), "by": a.get("by_name", ""), "note": a.get("note", "")}
            for a in attempts
        ]
        if task.state == State.PENDING:
            task.archive_overdue = task.due_at < now
            task.archive_label = label
            task.archive_attempts = len(attempts)
            open_calls.append(task)
            continue
        survey = survey_by_call.get(task.pk)
        if survey is not None:
            details.append(
                " · ".join(f"{question} {score}" for _name, question, score in survey.answers())
            )
            if survey.customer_words:
                details.append(f"“{survey.customer_words}”")
        if task.result.get("note"):
            details.append(task.result["note"])
        outcome = spec.outcome_label(task.outcome) if spec and task.outcome else ""
        entries.append(
            Entry(
                at=task.finished_at or task.due_at,
                category="calls",
                title=label,
                text="",
                actor=task.completed_by,
                vehicle=task.archive_vehicle,
                tag=str(outcome or task.get_state_display()),
                tag_class="bad"
                if task.outcome in K.NOT_REACHED_OUTCOMES or task.state != State.DONE
                else "good",
                details=details,
            )
        )
    entries.extend(
        _history_entries(
            Customer,
            [customer.pk],
            title=_("Customer details changed"),
            limit=limit,
            viewer=viewer,
        )
    )
    entries.extend(
        _history_entries(
            Vehicle,
            [vehicle.pk] if vehicle is not None else list(vehicle_map),
            title=_("Vehicle details changed"),
            limit=limit,
            vehicles=vehicle_map,
        )
    )
    if viewer is not None:
        entries = _for_viewer(entries, viewer)
    entries.sort(key=lambda entry: entry.at, reverse=True)
    truncated = len(entries) > limit
    entries = entries[:limit]
    open_calls.sort(key=lambda task: task.due_at)
    return Archive(
        customer=customer,
        vehicle=vehicle,
        vehicles=vehicles,
        entries=entries,
        category_counts=Counter(entry.category for entry in entries),
        open_calls=open_calls,
        complaints=complaints,
        surveys=surveys,
        visits=visits,
        truncated=truncated,
    )
