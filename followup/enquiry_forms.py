"""Forms of the enquiries page (`followup.enquiries`)."""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appointments.models import Appointment
from dealership.models import Customer
from dealership.text import NOTE_MAX_LENGTH
from dealership.widgets import DateTimeInput

from .models import ComplaintCategory, EnquiryChannel, EnquiryOutcome, EnquiryTopic


class EnquiryForm(forms.Form):
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.all(), required=False, widget=forms.HiddenInput
    )
    caller_mobile = forms.CharField(label=_("Mobile"), max_length=20, required=False)
    caller_name = forms.CharField(
        label=pgettext_lazy("person", "Name"), max_length=100, required=False
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=EnquiryChannel.choices)
    topic = forms.ChoiceField(label=_("About"), choices=EnquiryTopic.choices)
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    received_at = forms.DateTimeField(
        label=_("Received at"),
        required=False,
        help_text=_("Leave empty for now."),
        widget=DateTimeInput(),
    )


class EnquiryCloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=EnquiryOutcome.choices)
    appointment = forms.ModelChoiceField(
        label=_("Booked appointment"), queryset=Appointment.objects.none(), required=False
    )
    category = forms.ChoiceField(
        label=_("Complaint category"),
        choices=ComplaintCategory.choices,
        initial=ComplaintCategory.OTHER,
        required=False,
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, enquiry, **kwargs):
        super().__init__(*args, **kwargs)
        # The customer's appointments, or (someone new) the ones booked since the enquiry.
        since = enquiry.received_at - timedelta(hours=1)
        booked = Appointment.objects.select_related("vehicle", "customer")
        if enquiry.customer_id:
            booked = booked.filter(customer_id=enquiry.customer_id, start__gte=since)
        else:
            booked = booked.filter(created_at__gte=since, created_at__lte=timezone.now())
        self.fields["appointment"].queryset = booked.order_by("start")
