from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from dealership.tests.factories import (
    CustomerFactory,
    LabourOperationFactory,
    PartFactory,
    TechnicianFactory,
    VehicleFactory,
)


def local(day, hour: int, minute: int = 0) -> datetime:
    """An aware datetime at the store's local time."""
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


def days_ahead(n: int):
    return timezone.localdate() + timedelta(days=n)


def make_workshop():
    """Two maintenance, two repair and one body technician (8 h each) and a small catalogue."""
    for work_type, count in (("maintenance", 2), ("repair", 2), ("body_paint", 1)):
        for _ in range(count):
            TechnicianFactory(work_type=work_type, hours_per_day=Decimal("8"))
    return {
        "oil": LabourOperationFactory(
            code="M-OIL",
            work_type="maintenance",
            standard_hours=Decimal("0.5"),
            price=Decimal("120"),
        ),
        "inspect": LabourOperationFactory(
            code="M-INSP",
            work_type="maintenance",
            standard_hours=Decimal("1.0"),
            price=Decimal("100"),
        ),
        "brakes": LabourOperationFactory(
            code="R-BRPF", work_type="repair", standard_hours=Decimal("1.0"), price=Decimal("200")
        ),
        "clutch": LabourOperationFactory(
            code="R-CLTH", work_type="repair", standard_hours=Decimal("6.0"), price=Decimal("1000")
        ),
        "filter": PartFactory(part_number="OIL-FLT", price=Decimal("58.00"), stock_on_hand=3),
        "windscreen": PartFactory(part_number="WSHL", price=Decimal("3280.00"), stock_on_hand=0),
    }


def make_vehicle(**kwargs):
    owner = kwargs.pop("owner", None) or CustomerFactory()
    return VehicleFactory(owner=owner, **kwargs)
