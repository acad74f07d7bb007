from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .advisors import advisors_active
from .models import Customer, User, Vehicle
from .validators import normalize_phone, normalize_plate, normalize_vin


class CustomerAdvisorForm(forms.Form):
    """The customer's own advisor (专属顾问): any active advisor, or none."""

    advisor = forms.ModelChoiceField(
        label=_("Own advisor"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("None (online bookings by rotation)"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["advisor"].queryset = advisors_active()


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = Customer.EDITABLE_FIELDS
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def clean_mobile(self):
        return normalize_phone(self.cleaned_data["mobile"])

    def clean_mobile_alt(self):
        return normalize_phone(self.cleaned_data["mobile_alt"])


class VehicleForm(forms.ModelForm):
    class Meta:
        model = Vehicle
        fields = [
            "plate",
            "vin",
            "brand",
            "model",
            "colour",
            "production_date",
            "registration_date",
            "handover_date",
            "last_odometer_km",
        ]
        widgets = {
            "production_date": forms.DateInput(attrs={"type": "date"}),
            "registration_date": forms.DateInput(attrs={"type": "date"}),
            "handover_date": forms.DateInput(attrs={"type": "date"}),
            "vin": forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
            "plate": forms.TextInput(attrs={"autocapitalize": "characters"}),
        }

    def clean_vin(self):
        return normalize_vin(self.cleaned_data["vin"])

    def clean_plate(self):
        return normalize_plate(self.cleaned_data.get("plate") or "") or None

    def validate_unique(self):
        # Uniqueness of the VIN is the service's rule (it links to the existing vehicle).
        self._validate_unique = False


class ChangeOwnerForm(forms.Form):
    owner_mobile = forms.CharField(
        label=_("New owner's mobile"),
        max_length=20,
        help_text=_("The new owner must be registered as a customer first."),
    )

    def clean_owner_mobile(self):
        mobile = normalize_phone(self.cleaned_data["owner_mobile"])
        customer = Customer.objects.filter(mobile=mobile).order_by("id").first()
        if customer is None:
            raise forms.ValidationError(_("No customer has this mobile number."))
        self.new_owner = customer
        return mobile


class ApiTokenNameForm(forms.Form):
    """Issue or rename an API token (issue 18.2)."""

    name = forms.CharField(
        label=pgettext_lazy("token", "Name"),
        max_length=50,
        help_text=_("What the token is for, e.g. the system that uses it."),
    )


class LinkRevokeForm(forms.Form):
    """Revoke one customer link, or all (no `link`), with a reason (issue 18.3)."""

    link = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)
