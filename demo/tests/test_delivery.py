"""The delivery demo puts one car at each delivery step, through the real services, once."""

import pytest

from delivery.models import Settlement
from demo.steps.delivery import seed_delivery_demo
from demo.store import seed_store
from reception.models import Visit
from reception.states import VisitStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_messages")]


@pytest.fixture(autouse=True)
def _role_groups():
    """The role groups come from a migration; an earlier transactional test's flush drops them."""
    from django.contrib.auth.models import Group

    from dealership.roles import Role

    for role in Role:
        Group.objects.get_or_create(name=role)


def test_the_demo_puts_a_car_at_each_step_once(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    seed_store()
    visits = [Visit.objects.get(pk=v.pk) for v in seed_delivery_demo()]
    assert [v.status for v in visits] == [
        VisitStatus.QC_PASSED,
        VisitStatus.READY_FOR_PICKUP,
        VisitStatus.READY_FOR_PICKUP,
        VisitStatus.SETTLED,
    ]
    assert visits[1].delivery.final_check_done
    # The third car's bill is above the +10 % limit: the cashier needs the customer's approval.
    from delivery.selectors import bill_for

    assert bill_for(visits[2]).needs_approval()
    assert visits[3].delivery.gate_pass_issued and Settlement.objects.count() == 1

    assert [v.pk for v in seed_delivery_demo()] == [v.pk for v in visits]
    assert Settlement.objects.count() == 1
