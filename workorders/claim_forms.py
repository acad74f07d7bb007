"""Forms of the claims clerk's pages: bounded inputs; the rules are in `workorders.claims`."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .claims import CLAIM_NUMBER_MAX, REASON_MAX
from .models import REJECTED_CLAIM_PAYERS, Payer
from .states import ClaimStatus


class _Versioned(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2_000_000_000)


class ClaimSubmitForm(_Versioned):
    number = forms.CharField(label=_("Manufacturer's claim number"), max_length=CLAIM_NUMBER_MAX)


class ClaimApproveForm(_Versioned):
    approved_amount = forms.DecimalField(
        label=_("Approved amount (¥)"),
        max_digits=12,
        decimal_places=2,
        min_value=0,
        max_value=9_999_999_999,
    )


class ClaimRejectForm(_Versioned):
    rejection_reason = forms.CharField(label=_("The manufacturer's reason"), max_length=REASON_MAX)
    rejected_payer = forms.ChoiceField(
        label=_("Who pays the line instead"),
        choices=[(p, Payer(p).label) for p in REJECTED_CLAIM_PAYERS],
        widget=forms.RadioSelect,
    )


class ClaimFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All"))] + list(ClaimStatus.choices), required=False
    )
