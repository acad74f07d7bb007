from django import forms
from django.utils.translation import gettext_lazy as _

from dealership.forms import ConsentOptIns
from dealership.models import Vehicle
from dealership.services import customer_with_vehicle_errors
from dealership.text import CONCERN_MAX_LENGTH, NOTE_MAX_LENGTH
from dealership.validators import normalize_phone, normalize_plate, normalize_vin

from .models import Belonging, DamageKind, DamageMark, FuelLevel, Visit, WarningLamp
from .services import KEY_FIELDS, WALKAROUND_FIELDS


class VersionMixin(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class PlateLookupForm(forms.Form):
    q = forms.CharField(
        label=_("Plate, VIN or mobile"),
        max_length=30,
        required=False,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocapitalize": "characters", "placeholder": "苏E12345"}
        ),
    )


class WalkInRegisterForm(ConsentOptIns):
    """A walk-in whose car is not registered yet: customer and vehicle in one go, and the
    opt-ins the customer agrees to (`dealership.consent`)."""

    name = forms.CharField(label=_("Customer name"), max_length=100)
    mobile = forms.CharField(label=_("Mobile"), max_length=20)
    plate = forms.CharField(
        label=_("Plate"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocapitalize": "characters"}),
    )
    vin = forms.CharField(
        label=_("VIN"),
        max_length=25,
        required=False,
        help_text=_(
            "Registration not at hand? Leave it empty: the car is flagged and the VIN must be "
            "completed before the customer signs the work order."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    brand = forms.CharField(label=_("Brand"), max_length=50, required=False)
    model = forms.CharField(label=_("Model"), max_length=100)
    colour = forms.CharField(label=_("Colour"), max_length=30, required=False)

    def clean_mobile(self):
        return normalize_phone(self.cleaned_data["mobile"])

    def clean_plate(self):
        return normalize_plate(self.cleaned_data["plate"])

    def clean_vin(self):
        return normalize_vin(self.cleaned_data["vin"]) or None

    def clean(self):
        """Check the customer and the car as the service will: every error in one round."""
        data = super().clean()
        fields = ("name", "mobile", "plate", "vin", "brand", "model", "colour")
        errors = customer_with_vehicle_errors(**{name: data.get(name) or "" for name in fields})
        for name, messages in errors.items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, messages)
        return data


class CheckInForm(forms.Form):
    concern_text = forms.CharField(
        label=_("Concern in the customer's own words"),
        max_length=CONCERN_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Write what the customer says, as they say it. Locked once they sign."),
    )
    customer_waits = forms.BooleanField(
        label=_("Customer waits at the store"),
        required=False,
        help_text=_("Their car goes first on the workshop board."),
    )
    is_quick_service = forms.BooleanField(label=_("Quick service"), required=False)
    is_comeback = forms.BooleanField(label=_("Comeback / repeat repair"), required=False)
    comeback_of = forms.ModelChoiceField(
        label=_("Earlier visit"), queryset=Visit.objects.none(), required=False
    )
    technician_assist_requested = forms.BooleanField(
        label=_("Ask a technician to help diagnose"), required=False
    )
    advisor_notes = forms.CharField(
        label=_("Advisor's notes"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=NOTE_MAX_LENGTH,
    )

    def __init__(self, *args, vehicle: Vehicle, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["comeback_of"].queryset = Visit.objects.filter(vehicle=vehicle).order_by(
            "-checked_in_at"
        )


class ConcernForm(VersionMixin, forms.ModelForm):
    class Meta:
        model = Visit
        fields = [
            "concern_text",
            "advisor_notes",
            "diagnosis",
            "technician_assist_requested",
            "is_quick_service",
            "customer_waits",
            "is_comeback",
            "comeback_of",
        ]
        widgets = {
            "concern_text": forms.Textarea(attrs={"rows": 3}),
            "advisor_notes": forms.Textarea(attrs={"rows": 2}),
            "diagnosis": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        visit = self.instance
        self.fields["comeback_of"].queryset = Visit.objects.filter(
            vehicle_id=visit.vehicle_id
        ).exclude(pk=visit.pk)
        if visit.walkaround_signed:
            self.fields["concern_text"].disabled = True
        self.fields["version"].initial = visit.version


class WalkaroundForm(VersionMixin, forms.ModelForm):
    warning_lamps = forms.MultipleChoiceField(
        label=_("Warning lamps on"),
        choices=WarningLamp.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    fuel_level = forms.TypedChoiceField(
        label=_("Fuel level"),
        choices=FuelLevel.choices,
        coerce=int,
        empty_value=None,
        widget=forms.RadioSelect,
        required=False,
    )

    class Meta:
        model = Visit
        fields = [*WALKAROUND_FIELDS, *KEY_FIELDS]
        widgets = {
            "covers": forms.RadioSelect,
            "exterior_notes": forms.Textarea(attrs={"rows": 2}),
            "interior_notes": forms.Textarea(attrs={"rows": 2}),
            "odometer_km": forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}),
            "charge_percent": forms.NumberInput(
                attrs={"inputmode": "numeric", "min": 0, "max": 100}
            ),
            "key_tag": forms.TextInput(attrs={"autocapitalize": "characters"}),
            "key_count": forms.NumberInput(attrs={"inputmode": "numeric", "min": 1, "max": 9}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        visit = self.instance
        self.fields["version"].initial = visit.version
        # A battery-electric car has a charge level and no engine oil: no fuel, no oil lamp.
        if visit.vehicle.is_battery_electric:
            del self.fields["fuel_level"]
            self.fields["warning_lamps"].choices = [
                choice for choice in WarningLamp.choices if choice[0] != WarningLamp.OIL
            ]
        else:
            del self.fields["charge_percent"]
        # A form from before the keychain was asked keeps the count on record.
        self.fields["key_count"].required = False
        if visit.walkaround_signed:
            for name in WALKAROUND_FIELDS:
                if name in self.fields:
                    self.fields[name].disabled = True

    def clean_key_count(self):
        count = self.cleaned_data.get("key_count")
        return self.instance.key_count if count is None else count

    def _post_clean(self):
        # The service validates and saves; the form only converts the input.
        pass


class DamageForm(forms.ModelForm):
    class Meta:
        model = DamageMark
        fields = ["kind", "x", "y", "note", "photo"]
        widgets = {
            "kind": forms.RadioSelect,
            "x": forms.HiddenInput,
            "y": forms.HiddenInput,
            "photo": forms.ClearableFileInput(
                attrs={"accept": "image/*", "capture": "environment"}
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = DamageKind.choices
        self.fields["kind"].initial = DamageKind.SCRATCH


class BelongingForm(forms.ModelForm):
    class Meta:
        model = Belonging
        fields = ["description", "is_valuable", "handling"]


class SignatureForm(VersionMixin, forms.Form):
    signer_name = forms.CharField(label=_("Name of the person signing"), max_length=100)
    signature = forms.CharField(widget=forms.HiddenInput, required=False)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=300)
