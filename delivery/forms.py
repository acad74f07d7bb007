from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from dealership.text import NOTE_MAX_LENGTH
from workorders.models import PaymentMethod

from .models import ApprovalVia, OldPartsHandling


def _amount(label, **kwargs):
    return forms.DecimalField(
        label=label,
        max_digits=12,
        decimal_places=2,
        required=False,
        min_value=Decimal("0"),
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        **kwargs,
    )


class ReadyForm(forms.Form):
    wash_done = forms.BooleanField(label=_("The car is washed"), required=False)


class FinalCheckForm(forms.Form):
    lines = forms.TypedMultipleChoiceField(
        label=_("Jobs on the order done"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    odometer_km = forms.IntegerField(label=_("Odometer now (km)"), min_value=0)
    exterior_matches = forms.BooleanField(
        label=_("Body and paint as recorded at the walk-around"), required=False
    )
    no_tools_left = forms.BooleanField(label=_("No tools or rags left in the car"), required=False)
    settings_restored = forms.BooleanField(
        label=_("Seats, clock and radio restored"), required=False
    )
    belongings_present = forms.BooleanField(label=_("Belongings all present"), required=False)
    old_parts_handling = forms.ChoiceField(
        label=_("Replaced parts"), choices=OldPartsHandling.choices
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=NOTE_MAX_LENGTH,
    )

    def __init__(self, *args, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        lines = list(order.lines.all()) if order is not None else []
        self.fields["lines"].choices = [
            (line.pk, f"{line.code} {line.name}".strip()) for line in lines
        ]


class OverrunApprovalForm(forms.Form):
    amount = _amount(_("Customer agrees to pay up to (¥)"))
    via = forms.ChoiceField(label=_("Approved how"), choices=ApprovalVia.choices)
    note = forms.CharField(
        label=_("What the customer said"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=NOTE_MAX_LENGTH,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].required = True


# Methods the cashier takes, each with its own amount box: several filled in = a split payment.
PAYMENT_METHODS = (
    PaymentMethod.CASH,
    PaymentMethod.CARD,
    PaymentMethod.ALIPAY,
    PaymentMethod.WECHAT,
    PaymentMethod.TRANSFER,
)


class SettlementForm(forms.Form):
    adjustment_amount = forms.DecimalField(
        label=_("Adjustment of the amount due (¥, minus to lower it)"),
        max_digits=12,
        decimal_places=2,
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    adjustment_reason = forms.CharField(
        label=_("Reason for the adjustment"), max_length=200, required=False
    )
    cash_tendered = _amount(_("Cash handed over (¥, for change)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for method in PAYMENT_METHODS:
            self.fields[f"{method}_amount"] = _amount(PaymentMethod(method).label)
            if method != PaymentMethod.CASH:
                self.fields[f"{method}_reference"] = forms.CharField(
                    label=_("Transaction reference"), max_length=60, required=False
                )

    def payment_rows(self):
        """(method label, amount field, reference field) for the template."""
        return [
            (
                PaymentMethod(method).label,
                self[f"{method}_amount"],
                self[f"{method}_reference"] if method != PaymentMethod.CASH else None,
            )
            for method in PAYMENT_METHODS
        ]

    def payments(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {
                "method": method,
                "amount": data[f"{method}_amount"],
                "reference": data.get(f"{method}_reference", ""),
            }
            for method in PAYMENT_METHODS
            if data.get(f"{method}_amount")
        ]


class HandBackForm(forms.Form):
    signature = forms.CharField(widget=forms.HiddenInput, required=False)
    signer_name = forms.CharField(label=_("Name of the person signing"), max_length=100)
    belongings_returned = forms.BooleanField(label=_("Belongings handed back"), required=False)
    keys_returned = forms.BooleanField(label=_("Keys handed back"), required=False)
    covers_removed = forms.BooleanField(
        label=_("Protective covers removed in front of the customer"), required=False
    )
    old_parts_returned = forms.BooleanField(
        label=_("Replaced parts handed to the customer"), required=False
    )


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason for voiding"), max_length=200)


class RefundForm(forms.Form):
    amount = _amount(_("Refund (¥)"))
    method = forms.ChoiceField(label=_("Paid back by"), choices=PaymentMethod.choices)
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].required = True
