"""The day close pages (日结): the day's figures, the close form, its PDF, the past closes.

The forms live here with the views: they are the day close's only forms.
"""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from dealership.pdf import render_pdf
from dealership.roles import Role, has_role, role_required
from dealership.rules import rule
from dealership.web import submit
from dealership.widgets import DateInput

from . import day_close
from .access import CASHIERS

COUNT_LABELS = {
    "cash": gettext_lazy("Cash counted in the drawer (¥)"),
    "card": gettext_lazy("Card terminal statement (¥)"),
    "alipay": gettext_lazy("Alipay statement (¥)"),
    "wechat": gettext_lazy("WeChat Pay statement (¥)"),
    "transfer": gettext_lazy("Bank statement, transfers (¥)"),
}


class DayForm(forms.Form):
    day = forms.DateField(
        label=gettext_lazy("Day"),
        required=False,
        widget=DateInput(),
    )

    def clean_day(self):
        day = self.cleaned_data["day"]
        if day is not None:
            try:
                day_close.refuse_day_out_of_range(day)
            except ValidationError as error:
                raise ValidationError(error.messages) from error
        return day


class DayCloseForm(forms.Form):
    day = forms.DateField(widget=forms.HiddenInput)
    variance_reason = forms.CharField(
        label=gettext_lazy("Reason for any variance"),
        required=False,
        max_length=day_close.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for method in day_close.METHODS:
            self.fields[f"counted_{method}"] = forms.DecimalField(
                label=COUNT_LABELS[method],
                max_digits=12,
                decimal_places=2,
                min_value=Decimal("0"),
                max_value=day_close.MAX_COUNT,
                widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
            )
        # The reason after the counts.
        self.order_fields([*(f"counted_{m}" for m in day_close.METHODS), "variance_reason"])

    def counts(self) -> dict:
        return {m: self.cleaned_data[f"counted_{m}"] for m in day_close.METHODS}


class DayReopenForm(forms.Form):
    day = forms.DateField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=gettext_lazy("Reason for reopening"), max_length=day_close.REOPEN_REASON_MAX_LENGTH
    )


def _day_asked(request):
    """The day of `?day=` (today when absent); a day that cannot be read is said, and today
    shown."""
    form = DayForm(request.GET)
    if form.is_valid() and form.cleaned_data["day"]:
        return form.cleaned_data["day"]
    if not form.is_valid():
        messages.error(request, _("Enter a day as YYYY-MM-DD; today is shown."))
    return timezone.localdate()


def _page_url(day) -> str:
    return f"{reverse('delivery:day_close')}?day={day:%Y-%m-%d}"


def _render(request, day, *, close_form=None, reopen_form=None, status=200):
    summary = day_close.day_summary(day)
    if close_form is None:
        close_form = DayCloseForm(initial={"day": day})
    if reopen_form is None:
        reopen_form = DayReopenForm(initial={"day": day})
    context = {
        "summary": summary,
        "day": day,
        "today": timezone.localdate(),
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "close_form": close_form,
        "reopen_form": reopen_form,
        "can_reopen": has_role(request.user, [Role.SERVICE_MANAGER]),
    }
    return render(request, "delivery/day_close.html", context, status=status)


@role_required(*CASHIERS)
def day_close_page(request):
    return _render(request, _day_asked(request))


@role_required(*CASHIERS)
@require_http_methods(["POST"])
def day_close_submit(request):
    form = DayCloseForm(request.POST)
    return submit(
        request,
        form,
        lambda data: day_close.day_close(
            day=data["day"],
            actor=request.user,
            counted=form.counts(),
            variance_reason=data["variance_reason"],
        ),
        message=lambda close: _("The day %(day)s is closed.") % {"day": f"{close.day:%Y-%m-%d}"},
        done=lambda close: redirect(_page_url(close.day)),
        show_form=lambda form: _render(
            request,
            _form_day(form),
            close_form=form,
            status=400,
        ),
    )


@role_required(Role.SERVICE_MANAGER)
@require_http_methods(["POST"])
def day_close_reopen(request):
    form = DayReopenForm(request.POST)
    return submit(
        request,
        form,
        lambda data: day_close.day_reopen(
            day=data["day"], actor=request.user, reason=data["reason"]
        ),
        message=lambda close: (
            _("The day %(day)s is open again.") % {"day": f"{close.day:%Y-%m-%d}"}
        ),
        done=lambda close: redirect(_page_url(close.day)),
        show_form=lambda form: _render(request, _form_day(form), reopen_form=form, status=400),
    )


def _form_day(form):
    """The day a refused form was about (today when even that could not be read)."""
    return getattr(form, "cleaned_data", {}).get("day") or timezone.localdate()


def day_close_pdf_response(day) -> HttpResponse:
    """The day's close sheet as a PDF answer (the page's link and the API give the same)."""
    context = {
        "summary": day_close.day_summary(day),
        "store_name": rule("store.name"),
        "printed_at": timezone.now(),
    }
    response = HttpResponse(
        render_pdf("delivery/pdf/day_close.html", context), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="day-close-{day:%Y-%m-%d}.pdf"'
    return response


@role_required(*CASHIERS)
def day_close_pdf(request):
    return day_close_pdf_response(_day_asked(request))


@role_required(*CASHIERS)
def day_close_list(request):
    return render(request, "delivery/day_close_list.html", {"closes": day_close.day_closes()})
