from decimal import Decimal

import pytest
from django.utils import translation

from dealership.models import MaintenancePlan, MaintenancePlanPart
from dealership.tests.factories import LabourOperationFactory, PartFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every visit has an advisor: hashing their test password the production way costs ~0.2 s.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Signatures are files: keep them out of the shared var/ folder.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _english_messages():
    # Service tests match the English messages; pages are requested with their own language.
    with translation.override("en"):
        yield


@pytest.fixture
def plans():
    """The store's maintenance plans: first service at 5 000 km, then every 10 000 km."""
    oil = LabourOperationFactory(
        name_zh="更换机油及机油滤清器", price=Decimal("120"), standard_hours=Decimal("0.5")
    )
    check = LabourOperationFactory(
        name_zh="常规保养检查", price=Decimal("100"), standard_hours=Decimal("0.5")
    )
    filters = LabourOperationFactory(
        name_zh="更换空气滤清器", price=Decimal("40"), standard_hours=Decimal("0.2")
    )
    oil_filter = PartFactory(name_zh="机油滤清器", price=Decimal("45"))
    made = {}
    for km, months, name, operations in (
        (5000, 6, "首保 5000公里", [oil, check]),
        (10000, 12, "小保养 10000公里", [oil, check]),
        (20000, 24, "中保养 20000公里", [oil, check, filters]),
    ):
        plan = MaintenancePlan.objects.create(
            name_zh=name, name_en=name, interval_km=km, interval_months=months
        )
        plan.operations.set(operations)
        MaintenancePlanPart.objects.create(plan=plan, part=oil_filter, quantity=1)
        made[km] = plan
    return made
