from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dealership.due import DueKind
from dealership.models import Vehicle
from dealership.text import NOTE_MAX_LENGTH
from reception.models import Visit

from . import duties as K
from .models import (
    SCORE_MAX,
    SCORE_MIN,
    ActionKind,
    ComplaintCategory,
    ComplaintSource,
    Survey,
    ThirdParty,
)
from .selectors import complaint_owner_choices, customer_visits

SCORE_CHOICES = [(score, str(score)) for score in range(SCORE_MIN, SCORE_MAX + 1)]
SCORE_ERROR = _("Answer with a score from 1 to 10.")


class ScoreField(forms.TypedChoiceField):
    widget = forms.RadioSelect

    def __init__(self, **kwargs):
        super().__init__(
            choices=SCORE_CHOICES,
            coerce=int,
            required=False,
            empty_value=None,
            error_messages={"invalid_choice": SCORE_ERROR},
            **kwargs,
        )


class CallOutcomeForm(forms.Form):
    """The outcome of one call; the care call carries the satisfaction survey."""

    outcome = forms.ChoiceField(label=_("Outcome"), widget=forms.RadioSelect)
    attempts_seen = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    overall = ScoreField(label=Survey._meta.get_field("overall").verbose_name)
    explanation = ScoreField(label=Survey._meta.get_field("explanation").verbose_name)
    on_time = ScoreField(label=Survey._meta.get_field("on_time").verbose_name)
    car_clean = ScoreField(label=Survey._meta.get_field("car_clean").verbose_name)
    would_recommend = ScoreField(label=Survey._meta.get_field("would_recommend").verbose_name)
    customer_words = forms.CharField(
        label=_("What the customer said, in their own words"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    category = forms.ChoiceField(
        label=_("Complaint about"),
        required=False,
        choices=[("", "—"), *ComplaintCategory.choices],
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, kind: DueKind, booked_elsewhere=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        # Outcomes recorded by booking on the appointments pages are not offered here.
        self.fields["outcome"].choices = [
            (value, label) for value, label in kind.outcomes if value not in booked_elsewhere
        ]
        self.has_survey = kind.key == K.CARE_CALL
        if not self.has_survey:
            for name in (*Survey.QUESTIONS, "customer_words"):
                del self.fields[name]
        if K.ISSUE not in dict(kind.outcomes):
            del self.fields["category"]

    @property
    def survey_fields(self):
        return [self[name] for name in Survey.QUESTIONS if name in self.fields]

    def clean(self):
        data = super().clean()
        if self.has_survey and data.get("outcome") == "surveyed":
            for name in Survey.QUESTIONS:
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, _("Answer this question (1 to 10)."))
        return data

    def survey_answers(self) -> dict | None:
        if not self.has_survey or self.cleaned_data.get("outcome") != "surveyed":
            return None
        return {name: self.cleaned_data.get(name) for name in (*Survey.QUESTIONS, "customer_words")}


class FindCustomerForm(forms.Form):
    find = forms.CharField(label=_("Customer's mobile or plate"), max_length=30)


class ComplaintForm(forms.Form):
    source = forms.ChoiceField(
        label=_("Received"),
        choices=[c for c in ComplaintSource.choices if c[0] != ComplaintSource.SURVEY],
        initial=ComplaintSource.DESK,
    )
    category = forms.ChoiceField(label=_("Category"), choices=ComplaintCategory.choices)
    description = forms.CharField(
        label=_("The complaint in the customer's own words"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
    )
    vehicle = forms.ModelChoiceField(
        label=_("Vehicle"), queryset=Vehicle.objects.none(), required=False
    )
    visit = forms.ModelChoiceField(
        label=_("Visit"), queryset=Vehicle.objects.none(), required=False
    )
    safety_related = forms.BooleanField(label=_("Safety-related"), required=False)
    amount = forms.DecimalField(
        label=_("Amount in dispute (yuan)"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
    )
    third_parties = forms.MultipleChoiceField(
        label=_("Outside parties involved"),
        choices=ThirdParty.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    owner = forms.ModelChoiceField(
        label=pgettext_lazy("complaint", "Owner"),
        queryset=complaint_owner_choices(),
        required=False,
        help_text=_("Empty: you; an important complaint goes to the service manager."),
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["vehicle"].queryset = customer.vehicles.order_by("plate")
        self.fields["visit"].queryset = Visit.objects.filter(
            pk__in=[visit.pk for visit in customer_visits(customer)]
        ).select_related("vehicle")
        self.fields["owner"].queryset = complaint_owner_choices()


class ComplaintEditForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    category = ComplaintForm.base_fields["category"]
    description = ComplaintForm.base_fields["description"]
    visit = forms.ModelChoiceField(
        label=_("Visit"), queryset=Vehicle.objects.none(), required=False
    )
    safety_related = ComplaintForm.base_fields["safety_related"]
    amount = ComplaintForm.base_fields["amount"]
    third_parties = ComplaintForm.base_fields["third_parties"]

    def __init__(self, *args, complaint, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "version": complaint.version,
                "category": complaint.category,
                "description": complaint.description,
                "visit": complaint.visit_id,
                "safety_related": complaint.safety_related,
                "amount": complaint.amount,
                "third_parties": complaint.third_parties,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["visit"].queryset = Visit.objects.filter(
            pk__in=[visit.pk for visit in customer_visits(complaint.customer)]
        ).select_related("vehicle")


class ComplaintActionForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What was done"),
        choices=[
            (ActionKind.RESPONSE, _("Answered the customer / told them when the answer comes")),
            (ActionKind.CALL, ActionKind.CALL.label),
            (ActionKind.NOTE, _("Internal note")),
        ],
        widget=forms.RadioSelect,
        initial=ActionKind.RESPONSE,
    )
    text = forms.CharField(
        label=_("Details"), widget=forms.Textarea(attrs={"rows": 2}), max_length=NOTE_MAX_LENGTH
    )


class ComplaintAssignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("New owner"), queryset=complaint_owner_choices())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = complaint_owner_choices()


class ComplaintCloseForm(forms.Form):
    """Resolution and satisfaction are checked by the service, which says what is missing."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    resolution = forms.CharField(
        label=_("Resolution"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    customer_satisfied = forms.TypedChoiceField(
        label=_("Was the customer satisfied with the resolution?"),
        choices=[("yes", _("Yes, satisfied")), ("no", _("No, not satisfied"))],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
