from django import forms
from django.utils.translation import gettext_lazy as _

from dealership.widgets import DateTimeInput
from reception.models import FuelLevel
from workshop.forms import MultipleImageField

from .models import CarStatus, LoanCar
from .services import LICENCE_MAX, MAX_KM

FUEL_CHOICES = [("", "—"), *FuelLevel.choices]
DATETIME = DateTimeInput()


class LoanCarForm(forms.ModelForm):
    class Meta:
        model = LoanCar
        fields = ["plate", "model", "status", "km", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["km"].max_value = MAX_KM
        self.fields["km"].widget.attrs["max"] = MAX_KM


class BookForm(forms.Form):
    car = forms.ModelChoiceField(
        label=_("Courtesy car"), queryset=LoanCar.objects.exclude(status=CarStatus.MAINTENANCE)
    )


class CheckOutForm(forms.Form):
    car = forms.ModelChoiceField(
        label=_("Courtesy car"), queryset=LoanCar.objects.filter(status=CarStatus.AVAILABLE)
    )
    driver_name = forms.CharField(label=_("Driver"), max_length=100)
    licence_number = forms.CharField(label=_("Driving licence number"), max_length=LICENCE_MAX)
    fuel = forms.TypedChoiceField(label=_("Fuel"), choices=FUEL_CHOICES, coerce=int)
    km = forms.IntegerField(label=_("Odometer (km)"), min_value=0, max_value=MAX_KM)
    due_back_at = forms.DateTimeField(label=_("Agreed return"), widget=DATETIME)
    photos = MultipleImageField(label=_("Photos of the car"), required=False)
    signature = forms.CharField(widget=forms.HiddenInput, required=False)


class ReturnForm(forms.Form):
    fuel = forms.TypedChoiceField(label=_("Fuel"), choices=FUEL_CHOICES, coerce=int)
    km = forms.IntegerField(label=_("Odometer (km)"), min_value=0, max_value=MAX_KM)
    photos = MultipleImageField(label=_("Photos of the car"), required=False)
    damage_note = forms.CharField(
        label=_("Damage"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Empty when the car came back as it left."),
    )
    damage_photos = MultipleImageField(label=_("Photos of the damage"), required=False)
