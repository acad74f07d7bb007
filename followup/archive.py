"""The customer archive as staff read it: one line per thing that happened, newest first.

`followup.selectors.archive_rows` reads the rows (timeline events, messages, calls,
surveys, complaints, visits); this module words them as entries, adds the edits from
the change history, and keeps what the viewer's role may see
(dealership.visibility). Nothing is typed into the archive by hand.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dealership.due import KINDS, State
from dealership.models import Customer, DueTask, Message, Vehicle, event_summary_text
from dealership.roles import has_role
from dealership.staff_names import name_in
from dealership.urltools import SubjectUrls, url_for_pk
from dealership.visibility import (
    CONTACT_FIELDS,
    HIDDEN,
    field_level,
    recipient_shown,
    sees_money,
    shown,
    without_money,
)
from reception.models import Visit

from . import duties as K
from .models import Complaint, ComplaintSeverity, Survey
from .selectors import ARCHIVE_LIMIT, ArchiveRow, ArchiveRows, archive_rows, choice_labels

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
CATEGORY_LABELS = dict(CATEGORIES)
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
    # `at` as the timeline shows it, set by `archive_for` for the entries it returns.
    at_text: str = ""

    @property
    def category_label(self):
        return CATEGORY_LABELS.get(self.category, self.category)

    @property
    def plate_is_green(self) -> bool:
        """A new-energy car's plate has eight characters (shown green)."""
        return self.vehicle is not None and len(self.vehicle.plate or "") == 8


def entry_lines(entries: list[Entry], *, show_vehicle: bool) -> list[dict]:
    """What the timeline prints per entry, as flat values (the entry template reads only
    these; they are also what its cached HTML is keyed by)."""
    return [
        {
            "category": entry.category,
            "at_text": entry.at_text,
            "category_label": str(entry.category_label),
            "show_plate": show_vehicle and entry.vehicle is not None,
            "plate": (entry.vehicle.plate or "—") if entry.vehicle is not None else "",
            "plate_is_green": entry.plate_is_green,
            "title": str(entry.title) if entry.title else "",
            "tag": entry.tag,
            "tag_class": entry.tag_class,
            "url": entry.url,
            "text": str(entry.text),
            "details": [str(line) for line in entry.details],
            "actor": str(entry.actor) if entry.actor else "",
        }
        for entry in entries
    ]


@dataclass
class Archive:
    customer: Customer
    vehicle: Vehicle | None
    vehicles: list[Vehicle]
    entries: list[Entry]
    category_counts: dict
    # The side boxes' and the visits table's lines, labels in the reader's language.
    open_calls: list[dict]
    complaints: list[dict]
    surveys: list[dict]
    visits: list[dict]
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


def _history_entries(model, records, *, title, vehicles=None, viewer=None) -> list[Entry]:
    """Edits from django-simple-history (`records` of all the rows, oldest first per row),
    diffs computed here.

    With a `viewer`, a customer's contact details are shown as that user's role may see them
    (dealership.visibility): masked, or the change left out."""
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
                actor=name_in(vars(record), "history_user"),
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
            entry.text = without_money(str(entry.text or ""))
            entry.title = without_money(str(entry.title)) if entry.title else entry.title
            entry.details = [without_money(str(line or "")) for line in entry.details]
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


def _event_entries(events: list[ArchiveRow]) -> list[Entry]:
    subject_url = SubjectUrls()
    return [
        Entry(
            at=event.at,
            category=category_of(event.kind),
            title="",
            text=event_summary_text(event.summary, event.data),
            actor=name_in(vars(event), "actor"),
            vehicle=event.archive_vehicle,
            url=subject_url(event.subject_type_id, event.subject_id),
        )
        for event in events
    ]


def _message_entries(messages: list[ArchiveRow], viewer) -> list[Entry]:
    status_labels = choice_labels(Message, "status")
    entries = []
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
                tag=status_labels.get(message.status, message.status),
                tag_class="bad" if failed else "good",
                details=[message.error] if failed else [],
            )
        )
    return entries


def _call_details(task: ArchiveRow, attempts: list[dict], survey: ArchiveRow | None) -> list[str]:
    """The tries that did not reach the customer, the survey's answers, the note."""
    details = [
        _("Not reached %(at)s (%(by)s) %(note)s")
        % {"at": a.get("at_local", ""), "by": a.get("by_name", ""), "note": a.get("note", "")}
        for a in attempts
    ]
    if survey is not None:
        details.append(
            " · ".join(f"{question} {score}" for _name, question, score in survey.answers)
        )
        if survey.customer_words:
            details.append(f"“{survey.customer_words}”")
    if task.result.get("note"):
        details.append(task.result["note"])
    return details


def _call_entries(
    calls: list[ArchiveRow], surveys: list[ArchiveRow]
) -> tuple[list[Entry], list[dict]]:
    """Calls made (entries) and calls still to make (the open-calls box's lines)."""
    survey_by_call = {survey.call_id: survey for survey in surveys}
    state_labels = choice_labels(DueTask, "state")
    now = timezone.now()
    entries, open_calls = [], []
    for task in calls:
        spec = KINDS.get(task.kind)
        label = spec.label if spec else task.kind
        attempts = task.result.get("attempts") or task.payload.get("attempts") or []
        if task.state == State.PENDING:
            open_calls.append(
                {
                    "due_at": task.due_at,
                    "label": str(label),
                    "overdue": task.due_at < now,
                    "attempts": len(attempts),
                    "assignee": name_in(vars(task), "assigned_to"),
                }
            )
            continue
        outcome = spec.outcome_label(task.outcome) if spec and task.outcome else ""
        not_reached = task.outcome in K.NOT_REACHED_OUTCOMES or task.state != State.DONE
        entries.append(
            Entry(
                at=task.finished_at or task.due_at,
                category="calls",
                title=label,
                text="",
                actor=name_in(vars(task), "completed_by"),
                vehicle=task.archive_vehicle,
                tag=str(outcome or state_labels.get(task.state, task.state)),
                tag_class="bad" if not_reached else "good",
                details=_call_details(task, attempts, survey_by_call.get(task.pk)),
            )
        )
    open_calls.sort(key=lambda line: line["due_at"])
    return entries, open_calls


def _edit_entries(rows: ArchiveRows, *, viewer) -> list[Entry]:
    return [
        *_history_entries(
            Customer,
            rows.customer_history,
            title=_("Customer details changed"),
            viewer=viewer,
        ),
        *_history_entries(
            Vehicle,
            rows.vehicle_history,
            title=_("Vehicle details changed"),
            vehicles=rows.vehicle_map,
        ),
    ]


def _with_answers(surveys: list[ArchiveRow]) -> None:
    """Each survey's `answers`: (field, question, score) in the order asked."""
    questions = [
        (name, str(Survey._meta.get_field(name).verbose_name)) for name in Survey.QUESTIONS
    ]
    for survey in surveys:
        survey.answers = [(name, question, getattr(survey, name)) for name, question in questions]


# The side boxes and the visits table print these flat values only (their templates read
# nothing else; they are also what their cached HTML is keyed by).


def _complaint_lines(complaints: list[ArchiveRow]) -> list[dict]:
    complaint_url = url_for_pk("followup:complaint")
    category, status, severity = (
        choice_labels(Complaint, name) for name in ("category", "status", "severity")
    )
    return [
        {
            "url": complaint_url(complaint.pk),
            "number": complaint.number,
            "category_label": category.get(complaint.category, complaint.category),
            "status_label": status.get(complaint.status, complaint.status),
            "is_important": complaint.severity == ComplaintSeverity.IMPORTANT,
            "severity_label": severity.get(complaint.severity, complaint.severity),
            "customer_satisfied": complaint.customer_satisfied,
        }
        for complaint in complaints
    ]


def _survey_lines(surveys: list[ArchiveRow]) -> list[dict]:
    return [
        {
            "taken_at": survey.taken_at,
            "visit_number": survey.visit_number,
            "answers": survey.answers,
        }
        for survey in surveys
    ]


def _visit_lines(visits: list[ArchiveRow]) -> list[dict]:
    status = choice_labels(Visit, "status")
    return [
        {
            "number": visit.number,
            "checked_in_at": visit.checked_in_at,
            "plate": visit.plate,
            "status_label": status.get(visit.status, visit.status),
            "delivered_at": visit.delivered_at,
            "advisor": name_in(vars(visit), "advisor"),
        }
        for visit in visits
    ]


def archive_for(
    *,
    customer_id: int | None = None,
    vehicle_id: int | None = None,
    limit: int = ARCHIVE_LIMIT,
    viewer=None,
) -> Archive:
    """Everything the store knows happened with a customer (or one vehicle), newest first.

    Built from the timeline events the apps write, the messages sent, the
    calls (due tasks) with their outcomes and attempts, surveys, complaints and
    the edit history.

    With a `viewer`, what that user's role may see (dealership.visibility): contact details
    masked or left out, and payments (invoice numbers, amounts) only for the roles that
    handle money.
    """
    rows = archive_rows(customer_id=customer_id, vehicle_id=vehicle_id, limit=limit)
    _with_answers(rows.surveys)
    call_entries, open_calls = _call_entries(rows.calls, rows.surveys)
    entries = [
        *_event_entries(rows.events),
        *_message_entries(rows.messages, viewer),
        *call_entries,
        *_edit_entries(rows, viewer=viewer),
    ]
    if viewer is not None:
        entries = _for_viewer(entries, viewer)
    entries.sort(key=lambda entry: entry.at, reverse=True)
    truncated = len(entries) > limit
    entries = entries[:limit]
    local = timezone.get_current_timezone()
    for entry in entries:
        entry.at_text = f"{entry.at.astimezone(local):%Y-%m-%d %H:%M}"
    return Archive(
        customer=rows.customer,
        vehicle=rows.vehicle,
        vehicles=rows.vehicles,
        entries=entries,
        category_counts=Counter(entry.category for entry in entries),
        open_calls=open_calls,
        complaints=_complaint_lines(rows.complaints),
        surveys=_survey_lines(rows.surveys),
        visits=_visit_lines(rows.visits),
        truncated=truncated,
    )
