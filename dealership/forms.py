from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .advisors import advisors_active
from .consent import consent_texts
from .models import (
    ConsentPurpose,
    ConsentSource,
    Customer,
    PrivacyRequestChannel,
    PrivacyRequestKind,
    User,
    Vehicle,
)
from .validators import normalize_phone, normalize_plate, normalize_vin
from .widgets import DateInput, DateTimeInput


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
            "production_date": DateInput(),
            "registration_date": DateInput(),
            "handover_date": DateInput(),
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


# ------------------------------------------------------------------ consent and privacy (PIPL)

# What staff record consent from; SMS replies, the portal and imports record it themselves.
STAFF_CONSENT_SOURCES = [
    (value, label)
    for value, label in ConsentSource.choices
    if value in (ConsentSource.DESK, ConsentSource.PHONE, ConsentSource.PAPER, ConsentSource.WECHAT)
]


class ConsentForm(forms.Form):
    """Record a grant or a withdrawal of one purpose, after reading its text to the customer."""

    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    granted = forms.TypedChoiceField(
        label=_("The customer"),
        choices=[("1", _("agrees")), ("0", _("withdraws"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )
    source = forms.ChoiceField(label=_("Given how"), choices=STAFF_CONSENT_SOURCES)


class ConsentOptIns(forms.Form):
    """The opt-ins a registration offers: unticked boxes, the text to read beside each."""

    OPT_INS = (ConsentPurpose.REMINDERS, ConsentPurpose.MARKETING)

    consent_reminders = forms.BooleanField(label=ConsentPurpose.REMINDERS.label, required=False)
    consent_marketing = forms.BooleanField(label=ConsentPurpose.MARKETING.label, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        texts = consent_texts()
        for purpose in self.OPT_INS:
            field = self.fields.pop(f"consent_{purpose}")  # after the registration's own fields
            field.help_text = texts[purpose]
            self.fields[f"consent_{purpose}"] = field

    def opt_ins(self) -> list[str]:
        return [purpose for purpose in self.OPT_INS if self.cleaned_data.get(f"consent_{purpose}")]

    @staticmethod
    def without_opt_ins(data: dict) -> dict:
        return {key: value for key, value in data.items() if not key.startswith("consent_")}


class CustomerCreateForm(ConsentOptIns, CustomerForm):
    """A new customer, with the opt-ins as unticked boxes."""


class PrivacyRequestForm(forms.Form):
    customer_mobile = forms.CharField(label=_("Customer's mobile"), max_length=20)
    kind = forms.ChoiceField(label=_("Request"), choices=PrivacyRequestKind.choices)
    channel = forms.ChoiceField(label=_("Received how"), choices=PrivacyRequestChannel.choices)
    received_at = forms.DateTimeField(label=_("Received at"), widget=DateTimeInput())
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_customer_mobile(self):
        mobile = normalize_phone(self.cleaned_data["customer_mobile"])
        customer = Customer.objects.filter(mobile=mobile).order_by("id").first()
        if customer is None:
            raise forms.ValidationError(_("No customer has this mobile number."))
        self.customer = customer
        return mobile


class PrivacyAnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("What was done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
