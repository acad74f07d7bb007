from django import forms
from django.utils.translation import gettext_lazy as _

from dealership.models import LabourOperation, Part
from dealership.text import REASON_MAX_LENGTH
from dealership.widgets import DateTimeInput

from .lines import MAX_HOURS, MAX_QUANTITY, MAX_UNIT_PRICE
from .models import MANUAL_KINDS, JobType, LineKind, WorkOrder

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


def _yes_no(value):
    return {"yes": True, "no": False}.get(value)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class LineAddForm(VersionForm):
    """A catalogue line (operation or part) or a manual line (name, reason, price)."""

    kind = forms.ChoiceField(choices=LineKind.choices, widget=forms.HiddenInput)
    operation = forms.ModelChoiceField(
        queryset=LabourOperation.objects.all(), required=False, widget=forms.HiddenInput
    )
    part = forms.ModelChoiceField(
        queryset=Part.objects.all(), required=False, widget=forms.HiddenInput
    )
    name = forms.CharField(label=_("Work"), max_length=150, required=False)
    manual_reason = forms.CharField(label=_("Why a manual line"), max_length=200, required=False)
    quantity = forms.DecimalField(
        label=_("Quantity"), initial=1, max_digits=8, decimal_places=2, max_value=MAX_QUANTITY
    )
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        required=False,
        max_digits=10,
        decimal_places=2,
        max_value=MAX_UNIT_PRICE,
    )
    hours = forms.DecimalField(
        label=_("Hours"), required=False, max_digits=6, decimal_places=2, max_value=MAX_HOURS
    )
    discount_percent = forms.DecimalField(
        label=_("Discount %"), initial=0, required=False, max_digits=5, decimal_places=2
    )
    job_type = forms.ChoiceField(label=_("Work type"), choices=JobType.choices)
    group = forms.CharField(label=_("System / symptom"), max_length=60, required=False)

    @property
    def is_manual(self) -> bool:
        return not (self.data.get("operation") or self.data.get("part"))

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        if data["operation"] is not None or data["part"] is not None:
            data.pop("name")
            data.pop("manual_reason")
            if data["hours"] is None:
                data.pop("hours")
        if data["discount_percent"] is None:
            data["discount_percent"] = 0
        return data


class ManualLineForm(LineAddForm):
    """A hand-typed line: the advisor says what it is. Labour goes to the workshop as a job."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[("", "---------"), *((k.value, k.label) for k in MANUAL_KINDS)],
        help_text=_(
            "Labour is work for the workshop: it is dispatched, clocked and checked like "
            "any job. Fees, sublet and consumables are billed without a job."
        ),
    )
    field_order = ["kind", "name", "manual_reason", "hours", "quantity", "unit_price"]


class LineUpdateForm(VersionForm):
    quantity = forms.DecimalField(
        label=_("Quantity"), max_digits=8, decimal_places=2, max_value=MAX_QUANTITY
    )
    unit_price = forms.DecimalField(
        label=_("Unit price"), max_digits=10, decimal_places=2, max_value=MAX_UNIT_PRICE
    )
    discount_percent = forms.DecimalField(label=_("Discount %"), max_digits=5, decimal_places=2)
    job_type = forms.ChoiceField(label=_("Work type"), choices=JobType.choices)
    group = forms.CharField(label=_("System / symptom"), max_length=60, required=False)
    customer_supplied = forms.BooleanField(label=_("Customer's own part"), required=False)
    non_genuine = forms.BooleanField(label=_("Non-genuine"), required=False)
    # A comeback within the store's repair warranty (repair_warranty): why a line leaves
    # the store's account.
    job_type_reason = forms.CharField(
        label=_("Why not billed to the store"), max_length=REASON_MAX_LENGTH, required=False
    )


class TermsForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    promised_at = forms.DateTimeField(
        label=_("Promised delivery"),
        required=False,
        widget=DateTimeInput(),
    )

    class Meta:
        model = WorkOrder
        fields = [
            "pricing_method",
            "payment_method",
            "promised_at",
            "promised_reason",
            "followup_channel",
            "followup_time",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        self.fields["payment_method"].required = False
        # The care call is placed in the window of day named here (followup.contact_time).
        self.fields["followup_time"].help_text = _(
            "Morning, noon, afternoon or evening: the care call is placed in that part of the day."
        )

    def _post_clean(self):
        # The service validates and saves; the form only converts the input.
        pass


class SignForm(VersionForm):
    confirm_items = forms.BooleanField(
        label=_("1. The customer agrees to the items on the order"), required=False
    )
    confirm_cost = forms.BooleanField(
        label=_("2. The customer accepts the estimated cost"), required=False
    )
    confirm_time = forms.BooleanField(
        label=_("3. The customer accepts the time needed and the promised time"),
        required=False,
    )
    keep_old_parts = forms.TypedChoiceField(
        label=_("4. Keep the replaced parts?"),
        choices=YES_NO,
        coerce=_yes_no,
        empty_value=None,
        widget=forms.RadioSelect,
        required=False,
    )
    wash = forms.TypedChoiceField(
        label=_("5. Wash the car?"),
        choices=YES_NO,
        coerce=_yes_no,
        empty_value=None,
        widget=forms.RadioSelect,
        required=False,
    )
    signer_name = forms.CharField(label=_("Name of the person signing"), max_length=100)
    signature = forms.CharField(widget=forms.HiddenInput, required=False)


class ReviseForm(forms.Form):
    reason = forms.CharField(label=_("Why the order changes"), max_length=200)
