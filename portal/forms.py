from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dealership.text import COMPLAINT_MAX_LENGTH
from followup.forms import ScoreField
from followup.models import ComplaintCategory, Survey


class MobileForm(forms.Form):
    mobile = forms.CharField(
        label=_("Your mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code from the text"),
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class SurveyForm(forms.Form):
    """The care call's questions, answered by the customer."""

    customer_words = forms.CharField(
        label=_("Anything you want to tell us (optional)"),
        required=False,
        max_length=COMPLAINT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fields = {}
        for name in Survey.QUESTIONS:
            fields[name] = ScoreField(label=Survey._meta.get_field(name).verbose_name)
        fields["customer_words"] = self.fields["customer_words"]
        self.fields = fields

    def clean(self):
        data = super().clean()
        for name in Survey.QUESTIONS:
            if data.get(name) is None and name not in self.errors:
                self.add_error(name, _("Answer this question (1 to 10)."))
        return data


class ComplaintForm(forms.Form):
    visit = forms.TypedChoiceField(label=_("About the visit"), coerce=int)
    category = forms.ChoiceField(label=_("What about"), choices=ComplaintCategory.choices)
    description = forms.CharField(
        label=_("What happened"),
        max_length=COMPLAINT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, visits=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visit"].choices = [
            (
                visit.pk,
                f"{timezone.localtime(visit.checked_in_at):%Y-%m-%d}"
                f" · {visit.vehicle.plate or visit.vehicle.vin} · {visit.number}",
            )
            for visit in visits
        ]
