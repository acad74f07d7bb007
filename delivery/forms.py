from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from dealership.text import NOTE_MAX_LENGTH
from dealership.widgets import DateInput
from reception.models import ValuablesHandling
from workorders.models import PaymentMethod

from .models import ApprovalVia, OldPartsHandling, TaxInvoiceKind


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
    tax_invoice_kind = forms.ChoiceField(
        label=_("Official invoice (发票)"),
        choices=TaxInvoiceKind.choices,
        initial=TaxInvoiceKind.NONE,
        required=False,
        widget=forms.RadioSelect,
    )
    buyer_name = forms.CharField(
        label=_("Buyer (name on the invoice)"), max_length=100, required=False
    )
    buyer_tax_number = forms.CharField(
        label=_("Buyer's tax number (统一社会信用代码)"),
        max_length=30,
        required=False,
        help_text=_("18 characters; a private buyer of an ordinary invoice may leave it empty."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters"}),
    )
    buyer_address_phone = forms.CharField(
        label=_("Buyer's address and phone (special invoice)"), max_length=200, required=False
    )
    buyer_bank_account = forms.CharField(
        label=_("Buyer's bank and account (special invoice)"), max_length=200, required=False
    )

    TAX_INVOICE_FIELDS = (
        "tax_invoice_kind",
        "buyer_name",
        "buyer_tax_number",
        "buyer_address_phone",
        "buyer_bank_account",
    )

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

    def tax_invoice_request(self) -> dict[str, str]:
        request = {name: self.cleaned_data[name] for name in self.TAX_INVOICE_FIELDS}
        request["tax_invoice_kind"] = request["tax_invoice_kind"] or TaxInvoiceKind.NONE
        return request

    def tax_invoice_fields(self):
        return [self[name] for name in self.TAX_INVOICE_FIELDS]


class HandBackForm(forms.Form):
    """What goes back to the customer with the car: a tick for each item, document and key
    received at check-in (items the customer kept are not listed)."""

    signature = forms.CharField(widget=forms.HiddenInput, required=False)
    signer_name = forms.CharField(label=_("Name of the person signing"), max_length=100)
    returned_belongings = forms.TypedMultipleChoiceField(
        label=_("Items listed at check-in, handed back"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    belongings_returned = forms.BooleanField(label=_("Belongings handed back"), required=False)
    registration_returned = forms.BooleanField(
        label=_("Registration certificate (行驶证) handed back"), required=False
    )
    service_book_returned = forms.BooleanField(label=_("Service book handed back"), required=False)
    keys_returned = forms.BooleanField(label=_("Keys handed back"), required=False)
    covers_removed = forms.BooleanField(
        label=_("Protective covers removed in front of the customer"), required=False
    )
    old_parts_returned = forms.BooleanField(
        label=_("Replaced parts handed to the customer"), required=False
    )

    def __init__(self, *args, visit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["returned_belongings"].choices = [
            (item.pk, f"{item.description} · {item.get_handling_display()}")
            for item in visit.belongings.all()
            if item.handling != ValuablesHandling.TAKEN_BY_CUSTOMER
        ]
        if not self.fields["returned_belongings"].choices:
            del self.fields["returned_belongings"]
        if not visit.registration_received:
            del self.fields["registration_returned"]
        if not visit.service_book_received:
            del self.fields["service_book_returned"]
        self.fields["keys_returned"].label = ngettext(
            "The key handed back",
            "All %(count)d keys handed back",
            visit.key_count,
        ) % {"count": visit.key_count}
        if visit.keychain_notes:
            self.fields["keys_returned"].help_text = visit.keychain_notes


class TaxInvoiceIssueForm(forms.Form):
    number = forms.CharField(
        label=_("Number of the invoice issued"),
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )


class TaxInvoiceExportForm(forms.Form):
    start = forms.DateField(label=_("Settled from"), widget=DateInput())
    end = forms.DateField(label=_("Settled until"), widget=DateInput())

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end comes after the start."))
        return data


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason for voiding"), max_length=200)


class RefundForm(forms.Form):
    amount = _amount(_("Refund (¥)"))
    method = forms.ChoiceField(label=_("Paid back by"), choices=PaymentMethod.choices)
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].required = True
