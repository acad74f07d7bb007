import io

import pytest
from django.core.management import call_command

from dealership.models import Customer, LabourOperation, Technician, User, Vehicle
from demo.scale import EXTRA_TECHNICIANS, PREFIX
from reception.models import Visit

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_a_store_and_is_safe_to_run_twice():
    call_command("seed_demo", "--scale", "40", stdout=io.StringIO())
    counts = (Customer.objects.count(), Vehicle.objects.count(), User.objects.count())
    call_command("seed_demo", "--scale", "40", stdout=io.StringIO())
    assert counts == (Customer.objects.count(), Vehicle.objects.count(), User.objects.count())
    # 40 customers with 48 cars, plus the 8 demo cars (and owners) of delivery and follow-up
    assert counts[0] == 40 + 8 and counts[1] == 48 + 8
    assert Technician.objects.count() == 6 + len(EXTRA_TECHNICIANS)  # --scale adds a year's crew
    assert Visit.objects.filter(number__startswith=PREFIX).count() == 32  # 0.8 visits a customer
    assert LabourOperation.objects.filter(name_zh="更换前制动片").exists()
    for role in (
        "advisor",
        "workshop_controller",
        "technician",
        "qc_inspector",
        "cashier",
        "customer_care",
        "service_manager",
    ):
        assert User.objects.filter(groups__name=role).exists(), role
