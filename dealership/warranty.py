"""The manufacturer's vehicle warranty (质量担保): months and km from the sale date, per brand.

The terms are one store rule, `vehicles.warranty_terms`, a small table written as text:
`丰田=36/100000; *=36/100000` (brand = months / km; `*` is every other brand). The sale
date is the car's new-car handover date, else its registration date; a car with neither
is "unknown", never "within". The km are the odometer read at check-in (else the last
reading on record).
"""

from dataclasses import dataclass
from datetime import date

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .daterange import add_months
from .errors import DomainError
from .models import Vehicle
from .rules import register, rule

ANY_BRAND = "*"
TERMS_MAX_LENGTH = 500
MAX_MONTHS = 240
MAX_KM = 2_000_000


class Coverage(models.TextChoices):
    WITHIN = "within", gettext_lazy("Within warranty")
    OUTSIDE = "outside", gettext_lazy("Outside warranty")
    UNKNOWN = "unknown", gettext_lazy("Warranty unknown (no sale date)")


@dataclass(frozen=True)
class Term:
    months: int
    km: int


@dataclass(frozen=True)
class WarrantyStatus:
    coverage: str
    term: Term | None
    sale_date: date | None
    ends_on: date | None
    km: int | None

    @property
    def label(self) -> str:
        return str(Coverage(self.coverage).label)

    @property
    def is_within(self) -> bool:
        return self.coverage == Coverage.WITHIN

    @property
    def needs_approval(self) -> bool:
        """A warranty line on this car needs the claims clerk ("when in doubt")."""
        return not self.is_within


def _bad_terms() -> DomainError:
    return DomainError(
        _(
            "Write the warranty as brand=months/km entries separated by “;”, with *=months/km "
            "for every other brand, e.g. 丰田=36/100000; *=36/100000."
        ),
        field="value",
        code="warranty_terms",
    )


def warranty_terms_parse(text: str) -> dict[str, Term]:
    """The brand → term table of the rule's text; refuses text it cannot read."""
    text = str(text or "")
    if len(text) > TERMS_MAX_LENGTH:
        raise DomainError(
            _("At most %(max)s characters.") % {"max": TERMS_MAX_LENGTH}, field="value"
        )
    table: dict[str, Term] = {}
    for entry in text.replace("；", ";").split(";"):
        if not entry.strip():
            continue
        brand, sep, limits = entry.partition("=")
        months, slash, km = limits.partition("/")
        brand = brand.strip()
        if not (sep and slash and brand and months.strip().isdigit() and km.strip().isdigit()):
            raise _bad_terms()
        term = Term(months=int(months), km=int(km))
        if not (0 < term.months <= MAX_MONTHS and 0 < term.km <= MAX_KM):
            raise _bad_terms()
        table[brand.casefold()] = term
    if ANY_BRAND not in table:
        raise _bad_terms()
    return table


def warranty_term(brand: str) -> Term:
    table = warranty_terms_parse(rule("vehicles.warranty_terms"))
    return table.get((brand or "").strip().casefold(), table[ANY_BRAND])


def warranty_status(vehicle: Vehicle, *, km: int | None = None, on: date | None = None):
    """Whether `vehicle` is within its brand's warranty on `on` (today) at `km`."""
    term = warranty_term(vehicle.brand)
    sale_date = vehicle.handover_date or vehicle.registration_date
    km = vehicle.last_odometer_km if km is None else km
    if sale_date is None:
        return WarrantyStatus(Coverage.UNKNOWN, term, None, None, km)
    ends_on = add_months(sale_date, term.months)
    on = on or timezone.localdate()
    within = on < ends_on and (km or 0) <= term.km
    coverage = Coverage.WITHIN if within else Coverage.OUTSIDE
    return WarrantyStatus(coverage, term, sale_date, ends_on, km)


def visit_warranty(visit) -> WarrantyStatus:
    """The warranty as it stood at the visit's check-in, at its odometer reading."""
    return warranty_status(
        visit.vehicle,
        km=visit.odometer_km,
        on=timezone.localdate(visit.checked_in_at),
    )


register(
    "vehicles.warranty_terms",
    "丰田=36/100000; *=36/100000",
    gettext_lazy(
        "Vehicle warranty per brand from the sale date: brand=months/km; *=any other brand"
    ),
    check=warranty_terms_parse,
)
