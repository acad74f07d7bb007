"""The store of the whole-flow tests: the browser one (tests/test_whole_flow.py) and the API
one (tests/test_api_flow.py) drive the same car through the same store.

`flow_store` (the fixture in tests/conftest.py) builds it: staff of every role, two
technicians, a bay, the catalogue (oil change, front brake pads with their care note, the
pads part, the minor service plan) and one customer with her car; the store's clock reads
10:xx (`morning_zone`), so the flow fits in one working day whenever the test runs.
"""

from datetime import UTC, datetime

from django.contrib.auth.models import Group
from django.core.cache import cache

from dealership.models import MaintenancePlan
from dealership.roles import Role
from dealership.tests.factories import (
    BayFactory,
    CustomerFactory,
    LabourOperationFactory,
    PartFactory,
    TechnicianFactory,
    UserFactory,
    VehicleFactory,
)

STAFF = (
    (Role.ADVISOR, "李顾问"),
    (Role.WORKSHOP_CONTROLLER, "赵调度"),
    (Role.QC_INSPECTOR, "孙质检"),
    (Role.CASHIER, "钱收银"),
    (Role.CUSTOMER_CARE, "周客服"),
    (Role.SERVICE_MANAGER, "吴经理"),
)


def morning_zone() -> str:
    """A fixed-offset zone in which the store's clock reads 10:xx right now.

    The store's zone is a setting (`TIME_ZONE`); choosing it this way lets the
    whole flow happen inside one working day whenever the test runs: the customer
    books a slot later today, the car is checked in today. Nothing else is moved.
    """
    offset = (10 - datetime.now(UTC).hour) % 24
    if offset > 14:
        offset -= 24
    # Etc/GMT-8 is UTC+8: the sign is inverted in these zone names.
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def build_flow_store(settings, tmp_path) -> dict:
    """The store's master data (see the module's docstring), as a dict by name."""
    zone = settings.TIME_ZONE = morning_zone()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()  # the rate limits of the booking and log-in pages
    for role in Role:  # an earlier transactional test's flush removes the migration's groups
        Group.objects.get_or_create(name=role)
    people = {
        role: UserFactory(username=f"flow-{role}", roles=[role], first_name="", last_name=name)
        for role, name in STAFF
    }
    tech_user = UserFactory(username="flow-tech", roles=[Role.TECHNICIAN], last_name="郑技师")
    tech = TechnicianFactory(user=tech_user, name="郑技师", team="机修组", work_type="maintenance")
    TechnicianFactory(name="冯技师", team="机修组", work_type="repair")
    bay = BayFactory(code="M1", name="机修工位1")
    oil = LabourOperationFactory(
        code="M-OIL",
        name_zh="更换机油及机油滤清器",
        name_en="Oil and oil filter change",
        work_type="maintenance",
        standard_hours="0.50",
        price="120.00",
    )
    pads = LabourOperationFactory(
        code="R-BRPF",
        name_zh="更换前制动片",
        name_en="Replace front brake pads",
        work_type="repair",
        standard_hours="1.00",
        price="200.00",
        care_note_zh="新制动片需要磨合，前200公里请保持车距，避免急刹车。",
        care_note_en="New brake pads need bedding in: keep your distance for the first 200 km.",
    )
    plan = MaintenancePlan.objects.create(
        name_zh="小保养 10000公里",
        name_en="Minor service 10 000 km",
        interval_km=10_000,
        interval_months=12,
    )
    plan.operations.set([oil])
    pad_set = PartFactory(
        part_number="04465-02220", name_zh="前制动片", name_en="Front brake pads", price="380.00"
    )
    customer = CustomerFactory(name="陈静", mobile="13612345678")
    vehicle = VehicleFactory(
        owner=customer,
        plate="苏E7K2M9",
        brand="丰田",
        model="凯美瑞 Camry",
        last_odometer_km=41_800,
    )
    return {
        "zone": zone,
        "people": people,
        "tech": tech,
        "bay": bay,
        "oil": oil,
        "pads": pads,
        "pad_set": pad_set,
        "customer": customer,
        "vehicle": vehicle,
    }
