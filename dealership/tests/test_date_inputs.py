"""A browser's date and time pickers take only ISO values (`2026-12-01`, `2026-12-01T09:30`).

In Chinese, Django writes a date field's value in the language's input format
(`2026/12/01`): the browser shows the picker empty, and a form sent back without touching
it clears the date (a vehicle's registration date gone after editing its colour). Every
date and time picker of the staff pages writes ISO in both languages.
"""

import re
from datetime import date, datetime

import pytest
from django import forms
from django.utils import timezone, translation

from dealership.forms import PrivacyRequestForm, VehicleForm
from dealership.tests.factories import VehicleFactory
from delivery.day_close_views import DayForm
from delivery.forms import TaxInvoiceExportForm

pytestmark = pytest.mark.django_db

DAY = date(2026, 12, 1)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?")
MOMENT = timezone.make_aware(datetime(2026, 12, 1, 9, 30))


def _pickers(form: forms.Form) -> dict[str, str]:
    """Each date or time picker's value as the page writes it."""
    return {
        name: form[name].value() and form[name].as_widget().split('value="')[1].split('"')[0]
        for name, field in form.fields.items()
        if getattr(field.widget, "input_type", "") in {"date", "datetime-local"}
    }


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_date_picker_writes_an_iso_value(language):
    vehicle = VehicleFactory(production_date=DAY, registration_date=DAY, handover_date=DAY)
    with translation.override(language):
        forms_shown = [
            VehicleForm(instance=vehicle),
            TaxInvoiceExportForm(initial={"start": DAY, "end": DAY}),
            DayForm(initial={"day": DAY}),
            PrivacyRequestForm(initial={"received_at": MOMENT}),
        ]
        values = [_pickers(form) for form in forms_shown]
    assert values == [
        dict.fromkeys(["production_date", "registration_date", "handover_date"], "2026-12-01"),
        {"start": "2026-12-01", "end": "2026-12-01"},
        {"day": "2026-12-01"},
        {"received_at": "2026-12-01T09:30"},
    ]


def test_a_vehicle_sent_back_as_shown_keeps_its_dates():
    vehicle = VehicleFactory(production_date=DAY, registration_date=DAY, handover_date=DAY)
    with translation.override("zh-hans"):
        shown = VehicleForm(instance=vehicle)
        data = {name: shown[name].value() for name in shown.fields}
        # The browser sends a picker's value only when it could read it, else nothing.
        data.update(
            {name: value if ISO.fullmatch(value) else "" for name, value in _pickers(shown).items()}
        )
        sent = VehicleForm(data, instance=vehicle)
        assert sent.is_valid(), sent.errors
    sent.save()
    vehicle.refresh_from_db()
    assert (vehicle.production_date, vehicle.registration_date, vehicle.handover_date) == (
        DAY,
        DAY,
        DAY,
    )
