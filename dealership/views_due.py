"""Pages of the due-task mechanism: the call queue for staff and the ops page for managers."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import due
from .models import DueTask
from .notifications import message_ops_summary
from .roles import ALL_STAFF, Role, role_required
from .selectors import may_act_on_call, sees_every_call
from .urltools import url_for_pk


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"))
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)

    def __init__(self, *args, kind: due.DueKind, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = [("", "—"), *kind.outcomes]


def _row(task: DueTask, *, form=None, now=None, complete_url=None, role_labels=None) -> dict:
    """One call of the queue; the outcome form is plain HTML from the kind's outcomes.

    A bound form (a refused POST) brings back what was entered and its errors.
    """
    kind = due.KINDS.get(task.kind)
    prefix = f"t{task.pk}"
    data = form.data if form is not None and form.is_bound else {}
    return {
        "task": task,
        "label": kind.label if kind else task.kind,
        "outcome_label": kind.outcome_label(task.outcome) if kind and task.outcome else "",
        "role_label": (role_labels or dict(Role.choices)).get(task.role, ""),
        "overdue": task.due_at < (now or timezone.now()),
        "complete_url": (complete_url or url_for_pk("due_complete"))(task.pk),
        "choices": [("", "—"), *kind.outcomes] if kind else None,
        "outcome_name": f"{prefix}-outcome",
        "note_name": f"{prefix}-note",
        "outcome_value": data.get(f"{prefix}-outcome", ""),
        "note_value": data.get(f"{prefix}-note", ""),
        "errors": form.errors.get("outcome", []) if form is not None else [],
    }


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
    complete_url, role_labels = url_for_pk("due_complete"), dict(Role.choices)
    return render(
        request,
        "dealership/due_queue.html",
        {
            "rows": [
                _row(task, now=now, complete_url=complete_url, role_labels=role_labels)
                for task in tasks
            ],
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
        return render(request, "dealership/_due_row.html", {"row": _row(task, form=form)})
    if form.errors:
        messages.error(request, " ".join(form.errors.get("outcome", [_("Check the form.")])))
    else:
        messages.success(request, _("Outcome recorded."))
    return redirect("due_queue")


@role_required(Role.SERVICE_MANAGER)
def due_ops(request):
    summary = due.due_ops_summary()
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
            "failed": [_row(task) for task in summary.failed],
            "overdue": [_row(task) for task in summary.overdue],
            "missed": [_row(task) for task in summary.missed],
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
