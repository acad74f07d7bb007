from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dealership.models import LabourOperation, MaintenancePlan, Part, User, WorkType
from dealership.money import PaymentMethod
from dealership.roles import Role
from dealership.text import CONCERN_MAX_LENGTH
from dealership.validators import normalize_phone, normalize_plate, validate_mobile, validate_plate
from dealership.widgets import DateInput

from .models import Campaign, Channel, Holiday, OpeningHours

START_FORMAT = "%Y-%m-%dT%H:%M"


class OperationChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} · {obj.standard_hours} h · ¥{obj.price}"


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class PartChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.part_number} {obj.name} · ¥{obj.price}"


def parse_start(value: str) -> datetime | None:
    """'2026-11-24T10:30' in the store's time zone → aware datetime (None if malformed)."""
    try:
        naive = datetime.strptime((value or "").strip(), START_FORMAT)
    except ValueError:
        return None
    return timezone.make_aware(naive, timezone.get_default_timezone())


class StartField(forms.CharField):
    widget = forms.HiddenInput

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        start = parse_start(value)
        if start is None:
            raise forms.ValidationError(_("Choose an arrival time."))
        return start


class ServicesMixin(forms.Form):
    plan = PlanChoiceField(
        label=_("Maintenance plan"),
        queryset=MaintenancePlan.objects.order_by("interval_km"),
        required=False,
    )
    operations = OperationChoiceField(
        label=_("Services"),
        queryset=LabourOperation.objects.filter(active=True).order_by("work_type", "code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def _chosen(self, name: str) -> set[str]:
        if self.is_bound:
            return set(self.data.getlist(name)) if hasattr(self.data, "getlist") else set()
        return {str(v) for v in self.initial.get(name, [])}

    def operations_by_type(self):
        """[(work type label, [(operation, checked)])] — plain rows, so the page renders the
        checkboxes itself (one widget template per option is slow on a long catalogue)."""
        chosen = self._chosen("operations")
        labels = dict(WorkType.choices)
        groups = {value: [] for value in labels}
        for op in self.fields["operations"].queryset:
            groups[op.work_type].append((op, str(op.pk) in chosen))
        return [(labels[key], items) for key, items in groups.items() if items]


class BookingForm(ServicesMixin):
    vehicle = forms.IntegerField(widget=forms.HiddenInput)
    parts = PartChoiceField(
        label=_("Extra parts"),
        queryset=Part.objects.filter(active=True).order_by("part_number"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
        help_text=_("Parts of the plan are added by themselves."),
    )
    day = forms.DateField(label=_("Day"), widget=DateInput())
    start = StartField(label=_("Arrival time"))
    concern_text = forms.CharField(
        label=_("Request in the customer's own words"),
        max_length=CONCERN_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    advisor = forms.ModelChoiceField(
        label=_("Preferred advisor"), queryset=User.objects.none(), required=False
    )
    waiting = forms.TypedChoiceField(
        label=_("While we work"),
        choices=[("0", _("Drops the car off")), ("1", _("Waits at the store"))],
        coerce=lambda v: v == "1",
        initial="0",
        widget=forms.RadioSelect,
    )
    channel = forms.ChoiceField(
        label=_("Booked by"),
        choices=[(Channel.PHONE, Channel.PHONE.label), (Channel.DESK, Channel.DESK.label)],
        initial=Channel.PHONE,
    )
    parts_expected_on = forms.DateField(
        label=_("Ordered parts expected on"),
        required=False,
        widget=DateInput(),
        help_text=_("Empty: the usual delivery time."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["advisor"].queryset = User.objects.filter(
            groups__name=Role.ADVISOR, is_active=True
        ).order_by("username")

    def part_choices(self):
        """[(part, selected)] for the extra-parts list, rendered by the page itself."""
        chosen = self._chosen("parts")
        return [(part, str(part.pk) in chosen) for part in self.fields["parts"].queryset]


class QuickCustomerForm(forms.Form):
    """A new customer with one vehicle, in one step at the phone."""

    name = forms.CharField(label=_("Name"), max_length=100)
    mobile = forms.CharField(label=_("Mobile"), max_length=20, validators=[validate_mobile])
    plate = forms.CharField(label=_("Plate"), max_length=12, validators=[validate_plate])
    vin = forms.CharField(label=_("VIN"), max_length=20)
    brand = forms.CharField(label=_("Brand"), max_length=50, required=False)
    model = forms.CharField(label=_("Model"), max_length=100)

    def clean_mobile(self):
        return normalize_phone(self.cleaned_data["mobile"])

    def clean_plate(self):
        return normalize_plate(self.cleaned_data["plate"])


class RescheduleForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=DateInput())
    start = StartField(label=_("Arrival time"))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class DepositForm(forms.Form):
    # Text, not a number field: the service words every refusal of the amount (by the field).
    amount = forms.CharField(label=_("Deposit received (¥)"), max_length=20)
    method = forms.ChoiceField(label=_("Payment method"), choices=PaymentMethod.choices)


class DepositRefundForm(forms.Form):
    amount = forms.CharField(label=_("Amount refunded (¥)"), max_length=20)
    method = forms.ChoiceField(label=_("Refunded how"), choices=PaymentMethod.choices)
    reason = forms.CharField(label=_("Reason"), max_length=200)


class CallOutcomeForm(forms.Form):
    outcome = forms.CharField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


# --- self-service --------------------------------------------------------------------


class SelfServiceIdentifyForm(forms.Form):
    plate = forms.CharField(
        label=_("Plate"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_plate(self):
        plate = normalize_plate(self.cleaned_data["plate"])
        validate_plate(plate)
        return plate

    def clean_mobile(self):
        mobile = normalize_phone(self.cleaned_data["mobile"])
        validate_mobile(mobile)
        return mobile


class SelfServiceBookingForm(ServicesMixin):
    day = forms.DateField(label=_("Day"), widget=DateInput())
    start = StartField(label=_("Arrival time"))
    concern_text = forms.CharField(
        label=_("Anything we should know? Describe it in your own words"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    waiting = forms.TypedChoiceField(
        label=_("While we work"),
        choices=[("0", _("I leave the car")), ("1", _("I wait at the store"))],
        coerce=lambda v: v == "1",
        initial="0",
        widget=forms.RadioSelect,
    )


# --- settings (service manager) -----------------------------------------------------


class OpeningHoursForm(forms.ModelForm):
    class Meta:
        model = OpeningHours
        fields = ["opens", "closes", "closed"]
        widgets = {
            "opens": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "closes": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }


class HolidayForm(forms.ModelForm):
    class Meta:
        model = Holiday
        fields = ["day", "name"]
        widgets = {
            "day": DateInput(),
            "name": forms.TextInput(attrs={"placeholder": _("Name, e.g. Spring Festival")}),
        }

    def validate_unique(self):
        # The service refuses a duplicate day with its own message.
        self._validate_unique = False


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "code",
            "kind",
            "name_zh",
            "name_en",
            "models_match",
            "vin_from",
            "vin_to",
            "labour_operation",
            "instructions",
            "ends_on",
            "active",
        ]
        widgets = {
            "instructions": forms.Textarea(attrs={"rows": 3}),
            "ends_on": DateInput(),
        }

    vin_list = forms.BooleanField(
        label=_("Matched by the brand's VIN list (imported after saving)"), required=False
    )

    def clean(self):
        data = super().clean()
        listed = data.get("vin_list") or (self.instance.pk and self.instance.vins.exists())
        if (
            not listed
            and not data.get("models_match")
            and not data.get("vin_from")
            and not data.get("vin_to")
        ):
            raise forms.ValidationError(
                _("Give models or a VIN range, or both, or match by an imported VIN list.")
            )
        return data


class RecallUploadForm(forms.Form):
    file = forms.FileField(
        label=_("VIN list (.xlsx or .csv)"),
        help_text=_("One VIN per row in the first column or the column headed VIN / 车架号."),
    )
