from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from dealership.models import Bay, LabourOperation, Part, Technician
from dealership.text import NOTE_MAX_LENGTH, REASON_MAX_LENGTH
from dealership.widgets import DateTimeInput

from .additions import MAX_EXTRA_MINUTES
from .models import RosterKind
from .states import QC_ITEMS, SELF_CHECK_ITEMS, AnswerChannel, PauseReason

APPROVE, DECLINE = "approve", "decline"
DECISIONS = ((APPROVE, _("Approved")), (DECLINE, _("Declined")))
PASS, FAIL = "pass", "fail"


class DispatchForm(forms.Form):
    jobs = forms.TypedMultipleChoiceField(label=_("Jobs"), coerce=int)
    technician = forms.ModelChoiceField(
        label=_("Technician"), queryset=Technician.objects.filter(active=True)
    )
    bay = forms.ModelChoiceField(
        label=_("Bay"), queryset=Bay.objects.filter(active=True), required=False
    )

    def __init__(self, *args, job_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jobs"].choices = [(pk, pk) for pk in job_ids]
        self.fields["jobs"].error_messages["invalid_choice"] = _(
            "A job is no longer on this order. Reload the board."
        )

    def expected(self) -> dict[int, int | None]:
        """The technician the controller saw on each job (hidden `expect-<job>` fields)."""
        seen = {}
        for key, value in self.data.items():
            if key.startswith("expect-") and key[7:].isdigit():
                seen[int(key[7:])] = int(value) if str(value).isdigit() else None
        return seen


class PauseForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why"), choices=PauseReason.choices)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ClockOffForm(forms.Form):
    self_check = forms.MultipleChoiceField(
        label=_("Self-check"),
        choices=SELF_CHECK_ITEMS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.ImageField):
    """Several photos in one input (the phone's camera or gallery)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if not data:
            return [] if not self.required else [single(data, initial)]
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class FindingForm(forms.Form):
    note = forms.CharField(
        label=_("What did you find?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
    )
    photos = MultipleImageField(label=_("Photos"), required=False)


class AdditionForm(forms.Form):
    title = forms.CharField(label=_("Work proposed"), max_length=150)
    explanation = forms.CharField(
        label=_("Cause and risk, for the customer"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("What was found, why it matters, what happens if it is not done."),
    )
    operations = forms.ModelMultipleChoiceField(
        label=_("Labour operations"),
        queryset=LabourOperation.objects.filter(active=True).order_by("code"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    parts = forms.ModelMultipleChoiceField(
        label=_("Parts"),
        queryset=Part.objects.filter(active=True).order_by("part_number"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    extra_minutes = forms.IntegerField(
        label=_("Extra time (minutes)"),
        min_value=0,
        max_value=MAX_EXTRA_MINUTES,
        required=False,
        help_text=_("Leave empty to use the operations' standard hours."),
    )
    safety_related = forms.BooleanField(label=_("Safety-related"), required=False)


class PhoneAnswerForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("The customer's answer"), choices=DECISIONS, widget=forms.RadioSelect
    )
    answered_by = forms.CharField(label=_("Answered by"), max_length=100)
    note = forms.CharField(
        label=_("What the customer said"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    reason = forms.CharField(label=_("Reason for declining"), max_length=200, required=False)

    channel = AnswerChannel.PHONE


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Why withdraw"), max_length=200)


class LinkAnswerForm(forms.Form):
    decision = forms.ChoiceField(choices=DECISIONS)
    reason = forms.CharField(
        label=_("Reason (optional)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. I will do it next time")}),
    )


class PromiseForm(forms.Form):
    promised_at = forms.DateTimeField(
        label=_("New promised time"),
        widget=DateTimeInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    reason = forms.CharField(label=_("Reason given to the customer"), max_length=200)


class QCForm(forms.Form):
    checklist = forms.MultipleChoiceField(
        label=_("Inspector's checklist"),
        choices=QC_ITEMS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    decision = forms.ChoiceField(
        label=_("Result"),
        choices=((PASS, _("Pass")), (FAIL, _("Fail: rework"))),
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("What must be redone"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    jobs = forms.TypedMultipleChoiceField(
        label=_("Jobs to redo"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, jobs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jobs"].choices = [(job.pk, str(job)) for job in jobs]


class DeskCallForm(forms.Form):
    note = forms.CharField(label=_("What it is about"), max_length=200, required=False)


class DeskAnswerForm(forms.Form):
    technician = forms.ModelChoiceField(
        label=_("Technician"), queryset=Technician.objects.filter(active=True)
    )


class RosterForm(forms.Form):
    """One cell of the roster week: set the technician's day, or clear it."""

    SET, CLEAR = "set", "clear"

    technician = forms.ModelChoiceField(
        label=_("Technician"), queryset=Technician.objects.filter(active=True)
    )
    day = forms.DateField(label=_("Day"))
    action = forms.ChoiceField(
        choices=((SET, _("Save")), (CLEAR, _("Clear"))), initial=SET, required=False
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=RosterKind.choices, required=False)
    hours_off = forms.DecimalField(
        label=_("Hours off"),
        max_digits=4,
        decimal_places=2,
        min_value=Decimal("0.25"),
        max_value=Decimal("24"),
        required=False,
        help_text=_("Empty for the whole day."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("action") != self.CLEAR and not data.get("kind"):
            self.add_error("kind", _("Choose leave, training or a part day."))
        return data
