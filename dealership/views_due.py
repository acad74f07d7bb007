"""Pages of the due-task mechanism: the call queue for staff and the ops page for managers."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import resolve
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import due
from .daterange import local_text
from .fragments import cached_fragment
from .models import DueTask
from .notifications import message_ops_summary
from .roles import ALL_STAFF, Role, has_role, role_required
from .selectors import may_act_on_call, sees_every_call
from .urltools import SubjectUrls, url_for_pk
from .visibility import can_search_by_phone, shown


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"))
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)

    def __init__(self, *args, kind: due.DueKind, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = [("", "—"), *kind.outcomes]


class _Rows:
    """The queue's rows, with what every row shares worked out once per page.

    Each value a row shows is computed here as a flat value, so the template only prints
    and the rows' HTML is rendered once and then taken from the cache under a digest of
    those values (`dealership.fragments`): on a page of 50 calls with an outcome form
    each, the template cost more than the queries. The outcome choices of a kind are
    rendered once and reused by every row.
    """

    def __init__(self, user, *, now=None):
        self.user = user
        self.now = now or timezone.now()
        self.complete_url = url_for_pk("due_complete")
        self.customer_url = _url_if_allowed(user, "customer_detail")
        self.subject_url = SubjectUrls()
        # The number is a `tel:` link only for those who see numbers in full.
        self.phones_in_full = can_search_by_phone(user)
        self._options: dict[tuple, str] = {}

    def options(self, kind: due.DueKind, selected: str) -> str:
        key = (kind.key, selected)
        if key not in self._options:
            self._options[key] = render_to_string(
                "dealership/_due_options.html",
                {"choices": [("", "—"), *kind.outcomes], "selected": selected},
            )
        return self._options[key]

    def row(self, task: DueTask, *, form=None) -> dict:
        """One call of the queue as flat values; the outcome form is plain HTML from the
        kind's outcomes. A bound form (a refused POST) brings back what was entered and its
        errors.
        """
        kind = due.KINDS.get(task.kind)
        prefix = f"t{task.pk}"
        data = form.data if form is not None and form.is_bound else {}
        customer = task.customer
        # The two contact fields a row shows, as this user may see them (not all of
        # `customer_view`'s seven: 50 rows of those were a sixth of the page).
        mobile = shown(self.user, "mobile", customer.mobile or "") if customer else ""
        subject = task.subject
        return {
            # Numbers as text: the template's localize step is a no-op for them.
            "pk": str(task.pk),
            "label": kind.label if kind else task.kind,
            "outcome_label": kind.outcome_label(task.outcome) if kind and task.outcome else "",
            "overdue": task.state == DueTask.State.PENDING and task.due_at < self.now,
            "done": task.state == DueTask.State.DONE,
            "do_not_call": customer is not None and customer.do_not_call,
            "due_text": local_text(task.due_at, "%m-%d %H:%M"),
            "finished_text": local_text(task.finished_at, "%H:%M"),
            "note": task.note_text,
            "customer": customer is not None,
            "customer_name": customer.name if customer else "",
            "tel": mobile if self.phones_in_full else "",
            "mobile": mobile,
            "contact_time": shown(
                self.user, "preferred_contact_time", customer.preferred_contact_time or ""
            )
            if customer
            else "",
            "customer_url": self.customer_url(customer.pk)
            if self.customer_url and customer
            else "",
            "subject": subject is not None,
            "subject_text": str(subject) if subject is not None else "",
            "subject_url": self.subject_url(task.subject_type_id, task.subject_id)
            or _absolute_url(subject),
            "assigned_to": str(task.assigned_to) if task.assigned_to else "",
            "completed_by": str(task.completed_by),
            "complete_url": self.complete_url(task.pk),
            "options": self.options(kind, data.get(f"{prefix}-outcome", "")) if kind else "",
            "outcome_name": f"{prefix}-outcome",
            "note_name": f"{prefix}-note",
            "note_value": data.get(f"{prefix}-note", ""),
            "errors": [str(error) for error in form.errors.get("outcome", [])]
            if form is not None
            else [],
        }

    def html(self, rows: list[dict], request) -> str:
        """The rows' HTML, rendered once and cached under a digest of their values."""
        return cached_fragment(
            "dealership/_due_rows.html",
            {"rows": rows},
            spliced={"csrf_token": get_token(request)},
        )


def _absolute_url(subject) -> str:
    """A subject's page when its address is not a function of its primary key alone."""
    return subject.get_absolute_url() if hasattr(subject, "get_absolute_url") else ""


def _url_if_allowed(user, url_name: str):
    """`url_for_pk(url_name)` if the user's role may open that page, else None (no link that
    answers 403; as `{% url_if_allowed %}` decides it, once for the whole page)."""
    for_pk = url_for_pk(url_name)
    roles = getattr(resolve(for_pk(1)).func, "allowed_roles", None)
    if roles is None or has_role(user, roles):
        return for_pk
    return None


# The oldest calls due: a day's work for one person, and a page that renders in well under
# 100 ms (each row carries an outcome form). Done calls leave the list, the next ones come up.
QUEUE_ROWS = 50


@role_required(*ALL_STAFF)
def due_queue(request):
    now = timezone.now()
    role = request.GET.get("role") or None
    if role not in {None, *Role.values}:
        role = None
    tasks = due.due_queue(user=request.user, role=role, now=now, limit=QUEUE_ROWS)
    rows = _Rows(request.user, now=now)
    return render(
        request,
        "dealership/due_queue.html",
        {
            "rows_html": rows.html([rows.row(task) for task in tasks], request) if tasks else "",
            "role": role,
            "role_choices": Role.choices if sees_every_call(request.user) else None,
        },
    )


@role_required(*ALL_STAFF)
@require_POST
def due_complete(request, pk: int):
    task = get_object_or_404(DueTask.objects.select_related("customer"), pk=pk, for_person=True)
    if not may_act_on_call(request.user, task):
        raise PermissionDenied(_("This call is on another person's list."))
    kind = due.kind_get(task.kind)
    form = OutcomeForm(request.POST, kind=kind, prefix=f"t{task.pk}")
    if form.is_valid():
        try:
            task = due.due_task_record(
                task=task,
                actor=request.user,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            form.add_error("outcome", error.messages)
    if request.htmx:
        rows = _Rows(request.user)
        return HttpResponse(rows.html([rows.row(task, form=form)], request))
    if form.errors:
        messages.error(request, " ".join(form.errors.get("outcome", [_("Check the form.")])))
    else:
        messages.success(request, _("Outcome recorded."))
    return redirect("due_queue")


@role_required(Role.SERVICE_MANAGER)
def due_ops(request):
    summary = due.due_ops_summary()
    role_labels = dict(Role.choices)

    def rows(tasks):
        return [
            {
                "task": task,
                "label": due.kind_label(task.kind),
                "role_label": role_labels.get(task.role, ""),
            }
            for task in tasks
        ]

    stale = (
        summary.last_dispatch is None
        or (timezone.now() - summary.last_dispatch).total_seconds() > 300
    )
    return render(
        request,
        "dealership/due_ops.html",
        {
            "summary": summary,
            "dispatch_stale": stale,
            "failed": rows(summary.failed),
            "overdue": rows(summary.overdue),
            "missed": rows(summary.missed),
            "message_ops": message_ops_summary(),
        },
    )


@role_required(Role.SERVICE_MANAGER)
@require_POST
def due_retry(request, pk: int):
    task = get_object_or_404(DueTask, pk=pk)
    try:
        due.due_task_retry(task=task, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The task will be tried again within a minute."))
    return redirect("due_ops")
