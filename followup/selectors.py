"""Reads of step 8 shaped for the pages: call lists, complaints, the customer archive.

Every function here answers in a fixed number of queries whatever the number
of rows (the tests assert it).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, Prefetch, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language, override, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from dealership import compiled
from dealership.daterange import local_text
from dealership.due import KINDS, State, subjects_from_customers
from dealership.models import Customer, DueTask, Message, TimelineEvent, User, Vehicle
from dealership.roles import Role, user_roles
from dealership.selectors import sees_every_call
from dealership.staff_names import name_columns, name_in
from dealership.urltools import url_for_pk
from dealership.visibility import FULL, MASKED, field_level, mask_value, shown
from reception.models import Visit

from . import duties as K
from .models import Complaint, ComplaintAction, ComplaintSeverity, Survey
from .states import ComplaintStatus

LIST_LIMIT = 200
# A call list shows the first calls to make; "save and call the next" goes on through the rest.
CALLS_SHOWN = 50
ARCHIVE_LIMIT = 100
ARCHIVE_LIMIT_ALL = 1000


def end_of_today(now: datetime) -> datetime:
    return timezone.localtime(now).replace(hour=23, minute=59, second=59, microsecond=999999)


def lists_for(user) -> list[K.CallList]:
    """The call lists this user works on (managers see them all)."""
    roles = user_roles(user)
    return [
        item
        for item in K.CALL_LISTS.values()
        if item.registered_kinds and (Role.ADMIN in roles or roles & set(item.roles))
    ]


def _visible_calls(kinds, user, now: datetime):
    roles = _whose(user)
    return _calls_due(tuple(kinds), roles, end_of_today(now), *_own(user, roles))


def _whose(user) -> tuple | None:
    """The roles whose unassigned calls `user` sees (sorted), or None for every call."""
    return None if sees_every_call(user) else tuple(sorted(user_roles(user)))


def _own(user, roles: tuple | None) -> tuple:
    """The id `_calls_due` is given: the user's, unless they see every call (no id)."""
    return () if roles is None else (user.pk,)


def _calls_due(kinds: tuple, roles: tuple | None, tonight: datetime, *user_id: int):
    """The pending calls of `kinds` due by `tonight` that a user sees: every call (`roles`
    None, no `user_id`), else their own (`user_id`) and the unassigned calls of `roles`."""
    tasks = DueTask.objects.filter(
        kind__in=list(kinds),
        for_person=True,
        state=State.PENDING,
        due_at__lte=tonight,
        customer__do_not_call=False,  # opted out: never on a list, whatever was planned
    )
    if roles is not None:
        # "Nobody's" as COALESCE(assigned_to, 0) = 0, not IS NULL: with IS NULL PostgreSQL
        # ANDs the role's few pending calls with the index of every unassigned task ever
        # (40 000 at a year), and the list's counts took 8-15 ms instead of 2.5.
        tasks = tasks.alias(assignee=Coalesce("assigned_to", Value(0))).filter(
            Q(assigned_to=user_id[0]) | Q(assignee=0, role__in=roles)
        )
    return tasks


def _count_rows(kinds: tuple, roles: tuple | None, tonight: datetime, now, *user_id: int):
    return (
        _calls_due(kinds, roles, tonight, *user_id)
        .values("kind")
        .annotate(total=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))
        .order_by()
    )


def list_counts(*, user, now: datetime | None = None) -> dict[str, dict]:
    """Per list: calls due by tonight and how many of them are overdue (one query)."""
    now = now or timezone.now()
    lists = lists_for(user)
    kinds = [kind for item in lists for kind in item.registered_kinds]
    roles = _whose(user)
    by_kind = {
        row["kind"]: row
        for row in compiled.value_rows(
            _count_rows, end_of_today(now), now, *_own(user, roles), fixed=(tuple(kinds), roles)
        )
    }
    counts = {}
    for item in lists:
        rows = [by_kind[kind] for kind in item.kinds if kind in by_kind]
        counts[item.slug] = {
            "total": sum(row["total"] for row in rows),
            "overdue": sum(row["overdue"] for row in rows),
        }
    return counts


def _attach_vehicles(rows, known: dict[int, Vehicle] | None = None) -> dict[int, Vehicle]:
    """Set `row.archive_vehicle`: the row's vehicle, else its subject's, else its payload's.

    Subjects are not loaded: one query per kind of subject that has a vehicle
    (visits, appointments, ...) and one for the vehicles not `known` already.
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
    known = known or {}
    vehicles = {pk: known[pk] for pk in ids if pk in known}
    if ids - vehicles.keys():
        vehicles.update(Vehicle.objects.in_bulk(ids - vehicles.keys()))
    for row in rows:
        row.archive_vehicle = vehicles.get(wanted[id(row)])
    return vehicles


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
    # What a list row prints, worked out here rather than by template filters per row:
    # the customer's number as the viewer may see it and the tries as one tooltip.
    mobile: str = ""
    attempts_title: str = ""

    @property
    def attempt_count(self) -> int:
        return len(self.attempts)

    @property
    def plate_is_green(self) -> bool:
        """A new-energy car's plate has eight characters (shown green)."""
        return self.vehicle is not None and len(self.vehicle.plate or "") == 8


def _reason(task: DueTask) -> str:
    return _payload_reason(task.payload)


def _payload_reason(payload) -> str:
    payload = payload or {}
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


def _call_row(task: DueTask, now: datetime, urls: dict | None = None, viewer=None) -> CallRow:
    subject = _subject(task)
    vehicle = getattr(task, "archive_vehicle", None)
    visit = subject if isinstance(subject, Visit) else None
    attempts = list(task.payload.get("attempts", []))
    return CallRow(
        task=task,
        label=KINDS[task.kind].label if task.kind in KINDS else task.kind,
        vehicle=vehicle,
        visit=visit,
        overdue=task.due_at < now,
        attempts=attempts,
        reason=_reason(task),
        urls=_row_urls(task, vehicle, urls) if urls else {},
        due_text=local_text(task.due_at),
        delivered_text=local_text(visit.delivered_at) if visit else "",
        mobile=shown(viewer, "mobile", task.customer.mobile) if viewer and task.customer else "",
        attempts_title="; ".join(
            f"{attempt.get('at_local', '')} {attempt.get('by_name', '')}" for attempt in attempts
        ),
    )


def _row_urls(task: DueTask, vehicle: Vehicle | None, makers: dict) -> dict:
    urls = {
        "call": makers["call"](task.pk),
        "not_reached": makers["not_reached"](task.pk),
        "customer": makers["customer"](task.customer_id),
    }
    if vehicle is not None:
        urls["vehicle"] = makers["vehicle"](vehicle.pk)
    return urls


SUBJECT = DueTask._meta.get_field("subject")


def _subject(task: DueTask):
    """The task's subject as loaded with it (the GenericForeignKey's own lookup checks the
    content type again on every read: 50 rows read it twice)."""
    return SUBJECT.get_cached_value(task) if SUBJECT.is_cached(task) else task.subject


def _list_subjects(model):
    """Subjects of one model as a list row reads them: a visit with its car and only what
    the row shows of the visit."""
    if model is Visit:
        return Visit.objects.select_related("vehicle").only(
            "id", "number", "delivered_at", "vehicle", "advisor_id"
        )
    return model._base_manager.all()


def _subjects_load(tasks: list[DueTask]) -> None:
    """Set the subject of tasks whose subject is not loaded yet: one query per model.

    A GenericPrefetch did the same but cost more than its query on a list of 50 calls.
    """
    wanted = defaultdict(set)
    for task in tasks:
        if task.subject_id and not SUBJECT.is_cached(task):
            wanted[task.subject_type_id].add(task.subject_id)
    loaded = {}
    for type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is not None:
            found = _list_subjects(model).in_bulk(ids)
            loaded.update({(type_id, pk): subject for pk, subject in found.items()})
    for task in tasks:
        if not SUBJECT.is_cached(task):
            SUBJECT.set_cached_value(task, loaded.get((task.subject_type_id, task.subject_id)))


def _visit_vehicles(tasks: list[DueTask]) -> dict[int, Vehicle]:
    """The cars of the visits loaded as the tasks' subjects, by id (not read a second time)."""
    visits = [subject for task in tasks if isinstance(subject := _subject(task), Visit)]
    return {visit.vehicle_id: visit.vehicle for visit in visits}


def call_list_rows(
    *, call_list: K.CallList, user, now: datetime | None = None, limit: int = CALLS_SHOWN
) -> list[CallRow]:
    """The list's calls due by tonight, overdue (earliest due) first."""
    now = now or timezone.now()
    tasks = list(
        _visible_calls(call_list.registered_kinds, user, now)
        .select_related("customer", "assigned_to")
        .order_by("due_at", "id")[:limit]
    )
    subjects_from_customers(tasks)
    _subjects_load(tasks)
    _attach_vehicles(tasks, known=_visit_vehicles(tasks))
    urls = {
        "call": url_for_pk("followup:call"),
        "not_reached": url_for_pk("followup:call_not_reached"),
        "vehicle": url_for_pk("followup:vehicle_archive"),
        "customer": url_for_pk("followup:customer_archive"),
    }
    return [_call_row(task, now, urls, viewer=user) for task in tasks]


def call_list_lines(rows: list[CallRow]) -> list[dict]:
    """What the call-list page prints per row, as flat dicts worked out in one pass.

    The page's template then does one dict lookup per printed value instead of walking
    row -> task -> customer attributes (50 rows x ~30 lookups was a third of the page).
    """
    lines = []
    for row in rows:
        task, vehicle, visit = row.task, row.vehicle, row.visit
        customer = task.customer
        urls = row.urls
        lines.append(
            {
                # Numbers as text: the template's localize step is a no-op for them.
                "pk": str(task.pk),
                "overdue": row.overdue,
                "due_text": row.due_text,
                "customer_url": urls.get("customer", ""),
                "customer_name": customer.name if customer else "",
                "mobile": row.mobile,
                "contact_time": customer.preferred_contact_time if customer else "",
                "vehicle": vehicle is not None,
                "vehicle_url": urls.get("vehicle", ""),
                "plate": (vehicle.plate or "—") if vehicle is not None else "",
                "plate_class": "plate nev" if row.plate_is_green else "plate",
                "model": vehicle.model if vehicle is not None else "",
                "visit": visit is not None,
                "visit_number": visit.number if visit is not None else "",
                "delivered_text": row.delivered_text,
                "reason": row.reason,
                "assigned_to": str(task.assigned_to) if task.assigned_to else "",
                "attempted": bool(row.attempts),
                "attempt_count": str(len(row.attempts)),
                "attempts_title": row.attempts_title,
                "call_url": urls.get("call", ""),
                "not_reached_url": urls.get("not_reached", ""),
            }
        )
    return lines


# --------------------------------------------------------------------- the call-list page
#
# The page prints `call_list_lines(call_list_rows(...))`, worked out here from value rows:
# no task, customer, user, visit or car instance is built (250 of them were a third of the
# page's CPU) and the queries are compiled once per process (`dealership.compiled`).


def _line_rows(kinds: tuple, roles: tuple | None, limit: int, tonight: datetime, *user_id: int):
    return (
        _calls_due(kinds, roles, tonight, *user_id)
        .order_by("due_at", "id")
        .values(
            "id",
            "due_at",
            "payload",
            "subject_type_id",
            "subject_id",
            "customer_id",
            customer_name=F("customer__name"),
            customer_mobile=F("customer__mobile"),
            customer_contact_time=F("customer__preferred_contact_time"),
            **name_columns("assigned_to"),
        )[:limit]
    )


def _line_visits(*ids: int):
    return Visit.objects.filter(pk__in=ids).values(
        "id",
        "number",
        "delivered_at",
        "vehicle_id",
        vehicle_plate=F("vehicle__plate"),
        vehicle_model=F("vehicle__model"),
    )


def _line_vehicles(*ids: int):
    return Vehicle.objects.filter(pk__in=ids).values("id", "plate", "model")


def _line_subject_vehicles(model, *ids: int):
    return model._default_manager.filter(pk__in=ids).values("id", "vehicle_id")


def _by_id(build, ids, fixed: tuple = ()) -> dict[int, dict]:
    """The rows of `build(*fixed, *ids)` by id; the ids padded to a power of two (the last
    repeated) so that a few compilations serve every length of list."""
    ids = sorted(ids)
    if not ids:
        return {}
    size = 1 << (len(ids) - 1).bit_length()
    padded = ids + [ids[-1]] * (size - len(ids))
    return {row["id"]: row for row in compiled.value_rows(build, *padded, fixed=fixed)}


def call_list_page_lines(
    *, call_list: K.CallList, user, now: datetime | None = None, limit: int = CALLS_SHOWN
) -> list[dict]:
    """`call_list_lines(call_list_rows(...))` for the list page, from value rows: the
    list's calls due by tonight, overdue first, as the rows' template prints them.

    Queries: the calls, their visits (with the car), the cars of other subjects (one per
    kind of subject with a car) and the cars named by a payload and not read already.
    """
    now = now or timezone.now()
    roles = _whose(user)
    rows = compiled.value_rows(
        _line_rows,
        end_of_today(now),
        *_own(user, roles),
        fixed=(tuple(call_list.registered_kinds), roles, limit),
    )
    visit_type = ContentType.objects.get_for_model(Visit).pk
    vehicle_type = ContentType.objects.get_for_model(Vehicle).pk
    # The car of each row: its payload's, else its subject's (`_attach_vehicles`).
    wanted = {}
    by_subject = defaultdict(set)
    for row in rows:
        payload = row["payload"]
        vehicle_id = payload.get("vehicle") if isinstance(payload, dict) else None
        wanted[row["id"]] = vehicle_id
        if row["subject_type_id"] == visit_type:
            by_subject[visit_type].add(row["subject_id"])
        elif not vehicle_id and row["subject_id"]:
            by_subject[row["subject_type_id"]].add(row["subject_id"])
    visits = _by_id(_line_visits, by_subject.pop(visit_type, ()))
    vehicles = {
        visit["vehicle_id"]: {
            "id": visit["vehicle_id"],
            "plate": visit["vehicle_plate"],
            "model": visit["vehicle_model"],
        }
        for visit in visits.values()
        if visit["vehicle_id"]
    }
    via_subject = {}
    for type_id, ids in by_subject.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if type_id == vehicle_type:
            via_subject.update({(type_id, pk): pk for pk in ids})
        elif model is not None and any(f.name == "vehicle" for f in model._meta.fields):
            found = _by_id(_line_subject_vehicles, ids, fixed=(model,))
            via_subject.update({(type_id, pk): row["vehicle_id"] for pk, row in found.items()})
    for row in rows:
        if not wanted[row["id"]] and row["subject_id"]:
            if row["subject_type_id"] == visit_type:
                visit = visits.get(row["subject_id"])
                wanted[row["id"]] = visit["vehicle_id"] if visit else None
            else:
                wanted[row["id"]] = via_subject.get((row["subject_type_id"], row["subject_id"]))
    missing = {pk for pk in wanted.values() if isinstance(pk, int) and pk} - vehicles.keys()
    vehicles.update(_by_id(_line_vehicles, missing))

    zone = timezone.get_current_timezone()
    mobile_level = field_level(user, "mobile")
    call_url, not_reached_url, vehicle_url, customer_url = (
        url_for_pk(f"followup:{name}")
        for name in ("call", "call_not_reached", "vehicle_archive", "customer_archive")
    )
    lines = []
    for row in rows:
        pk, customer_id, payload = row["id"], row["customer_id"], row["payload"]
        vehicle = vehicles.get(wanted[pk]) if isinstance(wanted[pk], int) else None
        visit = visits.get(row["subject_id"]) if row["subject_type_id"] == visit_type else None
        attempts = list(payload.get("attempts", []))
        mobile = ""
        if customer_id is not None and mobile_level == FULL:
            mobile = row["customer_mobile"]
        elif customer_id is not None and mobile_level == MASKED:
            mobile = mask_value("mobile", row["customer_mobile"])
        plate = vehicle["plate"] if vehicle is not None else None
        lines.append(
            {
                "pk": str(pk),
                "overdue": row["due_at"] < now,
                "due_text": local_text(row["due_at"], tz=zone),
                "customer_url": customer_url(customer_id),
                "customer_name": row["customer_name"] if customer_id is not None else "",
                "mobile": mobile,
                "contact_time": row["customer_contact_time"] if customer_id is not None else "",
                "vehicle": vehicle is not None,
                "vehicle_url": vehicle_url(vehicle["id"]) if vehicle is not None else "",
                "plate": (plate or "—") if vehicle is not None else "",
                "plate_class": "plate nev" if len(plate or "") == 8 else "plate",
                "model": vehicle["model"] if vehicle is not None else "",
                "visit": visit is not None,
                "visit_number": visit["number"] if visit is not None else "",
                "delivered_text": local_text(visit["delivered_at"], tz=zone) if visit else "",
                "reason": _payload_reason(payload),
                "assigned_to": name_in(row, "assigned_to"),
                "attempted": bool(attempts),
                "attempt_count": str(len(attempts)),
                "attempts_title": "; ".join(
                    f"{attempt.get('at_local', '')} {attempt.get('by_name', '')}"
                    for attempt in attempts
                ),
                "call_url": call_url(pk),
                "not_reached_url": not_reached_url(pk),
            }
        )
    return lines


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


def service_manager() -> User | None:
    """The service manager who receives important and escalated complaints."""
    return (
        User.objects.filter(groups__name=Role.SERVICE_MANAGER, is_active=True)
        .order_by("id")
        .first()
    )


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
    rows = list(complaints.order_by(*order)[:limit])
    # The links of each row, reversed once for the list (the closed tab has 200 rows).
    page_url, archive_url = (
        url_for_pk("followup:complaint"),
        url_for_pk("followup:customer_archive"),
    )
    for complaint in rows:
        complaint.page_url = page_url(complaint.pk)
        complaint.archive_url = archive_url(complaint.customer_id)
    return rows


def choice_labels(model, field_name: str) -> dict:
    """A choice field's labels by value in the current language, once for a whole list
    (`get_<field>_display` per row and field was a fifth of the complaints page); worked
    out once per process and language (the caller must not change the dict)."""
    return _choice_labels(model, field_name, get_language())


@lru_cache(maxsize=128)
def _choice_labels(model, field_name: str, language: str) -> dict:
    with override(language):
        field = model._meta.get_field(field_name)
        return {value: str(label) for value, label in field.flatchoices}


def complaint_lines(complaints: list[Complaint], *, now: datetime | None = None) -> list[dict]:
    """What the complaints page prints per row, as flat dicts (the row template reads only
    these; they are also what its cached HTML is keyed by)."""
    now = now or timezone.now()
    category, severity, status = (
        choice_labels(Complaint, name) for name in ("category", "severity", "status")
    )
    return [
        {
            "page_url": complaint.page_url,
            "number": complaint.number,
            "archive_url": complaint.archive_url,
            "customer_name": complaint.customer.name,
            "vehicle": complaint.vehicle is not None,
            "plate": complaint.vehicle.plate if complaint.vehicle is not None else "",
            "category_label": category.get(complaint.category, complaint.category),
            "important": complaint.is_important,
            "severity_label": severity.get(complaint.severity, complaint.severity),
            "escalated": complaint.escalated_at is not None,
            "status_label": status.get(complaint.status, complaint.status),
            "owner": str(complaint.owner) if complaint.owner else "—",
            "response_late": complaint.response_late(now),
            "responded_text": local_text(complaint.responded_at),
            "respond_by_text": local_text(complaint.respond_by),
            "close_late": complaint.close_late(now),
            "closed_text": local_text(complaint.closed_at),
            "close_by_text": local_text(complaint.close_by),
        }
        for complaint in complaints
    ]


def complaint_counts(*, user) -> dict[str, int]:
    """The number on each tab of the complaints page (one query, compiled once per process)."""
    (row,) = compiled.value_rows(_complaint_count_row, user.pk)
    return row


def _complaint_count_row(user_id: int):
    """`Complaint.objects.aggregate(...)` as a `.values()` queryset (kept compiled): grouped
    by a constant, which PostgreSQL and SQLite leave out, so one row even with no complaint."""
    counters = {
        key: Count("id", filter=condition)
        for key, (_label, condition) in COMPLAINT_FILTERS.items()
        if condition is not None and key != "closed"
    }
    counters["mine"] = Count(
        "id",
        filter=Q(owner=user_id) & Q(status__in=(ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)),
    )
    return (
        Complaint.objects.annotate(every=Value(1))
        .values("every")
        .annotate(**counters)
        .values(*counters)
        .order_by()
    )


def _complaint_line_rows(show: str, limit: int, *user_id: int):
    complaints = Complaint.objects.all()
    if show == "mine":
        complaints = complaints.filter(owner=user_id[0]).exclude(status=ComplaintStatus.CLOSED)
    else:
        complaints = complaints.filter(COMPLAINT_FILTERS[show][1])
    order = ["-closed_at", "-id"] if show == "closed" else ["close_by", "id"]
    return complaints.order_by(*order).values(
        "id",
        "number",
        "customer_id",
        "vehicle_id",
        "category",
        "severity",
        "status",
        "escalated_at",
        "responded_at",
        "respond_by",
        "closed_at",
        "close_by",
        customer_name=F("customer__name"),
        vehicle_plate=F("vehicle__plate"),
        **name_columns("owner"),
    )[:limit]


def complaint_page_lines(
    *, show: str, user, now: datetime | None = None, limit: int = LIST_LIMIT
) -> list[dict]:
    """`complaint_lines(complaint_list(...))` for the complaints page, from value rows (no
    complaint, customer, car or user instance per row) of a query compiled once per process."""
    now = now or timezone.now()
    rows = compiled.value_rows(
        _complaint_line_rows, *((user.pk,) if show == "mine" else ()), fixed=(show, limit)
    )
    category, severity, status = (
        choice_labels(Complaint, name) for name in ("category", "severity", "status")
    )
    page_url, archive_url = (
        url_for_pk("followup:complaint"),
        url_for_pk("followup:customer_archive"),
    )
    zone = timezone.get_current_timezone()
    return [
        {
            "page_url": page_url(row["id"]),
            "number": row["number"],
            "archive_url": archive_url(row["customer_id"]),
            "customer_name": row["customer_name"],
            "vehicle": row["vehicle_id"] is not None,
            "plate": row["vehicle_plate"] if row["vehicle_id"] is not None else "",
            "category_label": category.get(row["category"], row["category"]),
            "important": row["severity"] == ComplaintSeverity.IMPORTANT,
            "severity_label": severity.get(row["severity"], row["severity"]),
            "escalated": row["escalated_at"] is not None,
            "status_label": status.get(row["status"], row["status"]),
            "owner": name_in(row, "owner") if row["owner_username"] is not None else "—",
            "response_late": (row["responded_at"] or now) > row["respond_by"],
            "responded_text": local_text(row["responded_at"], tz=zone),
            "respond_by_text": local_text(row["respond_by"], tz=zone),
            "close_late": (row["closed_at"] or now) > row["close_by"],
            "closed_text": local_text(row["closed_at"], tz=zone),
            "close_by_text": local_text(row["close_by"], tz=zone),
        }
        for row in rows
    ]


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
    return (
        Visit.objects.filter(customer=customer)
        .select_related("vehicle")
        .order_by("-checked_in_at")[:limit]
    )


# --------------------------------------------------------------------- the customer archive
#
# The archive is a detail page read for one customer at a time: its queries are built and
# compiled once per process with stand-in ids and then only sent with this customer's
# (dealership.compiled; compiling them was most of the page's CPU). Rows come back as
# value rows read as attributes (`ArchiveRow`), not as models with their related rows.


class ArchiveRow(SimpleNamespace):
    """One value row of the archive, read as attributes like the model it comes from."""


@dataclass
class ArchiveRows:
    """What `followup.archive` presents: the rows of one customer (or one vehicle)."""

    customer: Customer
    vehicle: Vehicle | None
    vehicles: list[Vehicle]
    # Every vehicle a row points to, by id (the customer's, and earlier owners' rows').
    vehicle_map: dict[int, Vehicle]
    events: list[ArchiveRow]
    messages: list[ArchiveRow]
    calls: list[ArchiveRow]
    surveys: list[ArchiveRow]
    complaints: list[ArchiveRow]
    visits: list[ArchiveRow]
    # django-simple-history records, oldest first per row, with `history_user_*` names.
    customer_history: list
    vehicle_history: list


def _keep_for_vehicle(row, vehicle: Vehicle | None) -> bool:
    """On a vehicle's page: rows about this vehicle and rows about no vehicle at all."""
    if vehicle is None:
        return True
    return row.archive_vehicle is None or row.archive_vehicle.pk == vehicle.pk


def _customer_row(customer_id: int):
    return Customer.objects.filter(pk=customer_id)


def _customers_vehicles(customer_id: int):
    return Vehicle.objects.filter(owner=customer_id).order_by("plate", "id")


def _owners_vehicles(vehicle_id: int):
    """Every vehicle of the owner of `vehicle_id` (that one included)."""
    return Vehicle.objects.filter(owner__vehicles=vehicle_id).order_by("plate", "id")


def _scope(customer_id: int, vehicle_id: int | None) -> Q:
    if vehicle_id is None:
        return Q(customer=customer_id)
    # On this vehicle (whoever owned it), and the customer's own.
    return Q(vehicle=vehicle_id) | Q(customer=customer_id, vehicle__isnull=True)


def _event_rows(limit: int, customer_id: int, vehicle_id: int | None = None):
    return (
        TimelineEvent.objects.filter(_scope(customer_id, vehicle_id))
        .exclude(
            Q(kind__startswith="message.")
            | Q(kind="due.completed")
            | Q(kind="followup.call_attempt")
            | Q(kind="followup.survey")
        )
        .order_by("-at", "-id")
        .values(
            "id",
            "at",
            "kind",
            "summary",
            "data",
            "vehicle_id",
            "subject_type_id",
            "subject_id",
            **name_columns("actor"),
        )[: limit + 1]
    )


def _message_rows(limit: int, customer_id: int, vehicle_id: int | None = None):
    return (
        Message.objects.filter(_scope(customer_id, vehicle_id))
        .order_by("-sent_at", "-id")
        .values(
            "id",
            "to",
            "channel",
            "body",
            "status",
            "error",
            "sent_at",
            "vehicle_id",
            "subject_type_id",
            "subject_id",
        )[: limit + 1]
    )


def _call_rows(limit: int, customer_id: int):
    return (
        DueTask.objects.filter(customer=customer_id, for_person=True)
        .exclude(state=State.CANCELLED)
        .exclude(kind=K.ESCALATION)  # the manager's duty, on the complaint's own lines
        .order_by("-due_at", "-id")
        .values(
            "id",
            "kind",
            "state",
            "outcome",
            "result",
            "payload",
            "due_at",
            "finished_at",
            "subject_type_id",
            "subject_id",
            **name_columns("completed_by"),
            **name_columns("assigned_to"),
        )[: limit + 1]
    )


def _survey_rows(limit: int, customer_id: int, vehicle_id: int | None = None):
    surveys = Survey.objects.filter(customer=customer_id)
    if vehicle_id is not None:
        surveys = surveys.filter(vehicle=vehicle_id)
    return surveys.order_by("-taken_at").values(
        "id",
        "call_id",
        "taken_at",
        "customer_words",
        *Survey.QUESTIONS,
        visit_number=F("visit__number"),
    )[:limit]


def _complaint_rows(limit: int, customer_id: int, vehicle_id: int | None = None):
    complaints = Complaint.objects.filter(customer=customer_id)
    if vehicle_id is not None:
        complaints = complaints.filter(Q(vehicle=vehicle_id) | Q(vehicle__isnull=True))
    return complaints.order_by("-opened_at").values(
        "id", "number", "category", "status", "severity", "customer_satisfied"
    )[:limit]


def _customer_visit_rows(limit: int, customer_id: int):
    return _visit_rows(Visit.objects.filter(customer=customer_id), limit)


def _vehicle_visit_rows(limit: int, vehicle_id: int):
    """The vehicle's visits, whoever brought it."""
    return _visit_rows(Visit.objects.filter(vehicle=vehicle_id), limit)


def _visit_rows(visits, limit: int):
    return visits.order_by("-checked_in_at").values(
        "id",
        "number",
        "checked_in_at",
        "status",
        "delivered_at",
        plate=F("vehicle__plate"),
        **name_columns("advisor"),
    )[:limit]


def _history_records(model, limit: int, ids):
    return (
        model.history.filter(id__in=ids)
        .annotate(**name_columns("history_user"))
        .order_by("id", "history_id")[: limit * 4]
    )


def _customer_history(limit: int, customer_id: int):
    return _history_records(Customer, limit, [customer_id])


def _vehicles_history(limit: int, *vehicle_ids: int):
    return _history_records(Vehicle, limit, vehicle_ids)


def _rows(build, *ids: int, limit: int) -> list[ArchiveRow]:
    return [
        ArchiveRow(pk=row["id"], **row) for row in compiled.value_rows(build, *ids, fixed=(limit,))
    ]


def archive_rows(
    *, customer_id: int | None = None, vehicle_id: int | None = None, limit: int = ARCHIVE_LIMIT
) -> ArchiveRows:
    """The rows of a customer's archive (or one vehicle's), in a fixed number of queries."""
    vehicle = None
    if vehicle_id is not None:
        vehicles = compiled.instances(_owners_vehicles, vehicle_id)
        vehicle = next((v for v in vehicles if v.pk == vehicle_id), None)
        if vehicle is None:
            raise Vehicle.DoesNotExist
        (customer,) = compiled.instances(_customer_row, vehicle.owner_id)
    else:
        found = compiled.instances(_customer_row, customer_id)
        if not found:
            raise Customer.DoesNotExist
        customer = found[0]
        vehicles = compiled.instances(_customers_vehicles, customer.pk)
    for each in vehicles:
        each.owner = customer  # no query for `vehicle.owner`
    vehicle_map = {v.pk: v for v in vehicles}
    ids = (customer.pk,) if vehicle is None else (customer.pk, vehicle.pk)
    events = _rows(_event_rows, *ids, limit=limit)
    messages = _rows(_message_rows, *ids, limit=limit)
    calls = _rows(_call_rows, customer.pk, limit=limit)
    for pk, found in _attach_vehicles([*events, *messages, *calls], known=vehicle_map).items():
        vehicle_map.setdefault(pk, found)
    history_ids = sorted([vehicle.pk] if vehicle is not None else vehicle_map)
    return ArchiveRows(
        customer=customer,
        vehicle=vehicle,
        vehicles=vehicles,
        vehicle_map=vehicle_map,
        events=[row for row in events if _keep_for_vehicle(row, vehicle)],
        messages=[row for row in messages if _keep_for_vehicle(row, vehicle)],
        calls=[row for row in calls if _keep_for_vehicle(row, vehicle)],
        surveys=_rows(_survey_rows, *ids, limit=limit),
        complaints=_rows(_complaint_rows, *ids, limit=limit),
        visits=_rows(_customer_visit_rows, customer.pk, limit=50)
        if vehicle is None
        else _rows(_vehicle_visit_rows, vehicle.pk, limit=50),
        customer_history=compiled.instances(_customer_history, customer.pk, fixed=(limit,)),
        vehicle_history=compiled.instances(_vehicles_history, *history_ids, fixed=(limit,))
        if history_ids
        else [],
    )
