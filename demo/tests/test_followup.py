"""The follow-up demo puts work on today's lists, through the real delivery and call services."""

import pytest
from django.utils import timezone

from dealership.models import User
from demo.steps.followup import seed_followup_demo
from demo.store import seed_store
from followup import selectors
from followup.duties import CALL_LISTS
from followup.models import Complaint, Survey
from reception.states import VisitStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _role_groups():
    """The role groups come from a migration; an earlier transactional test's flush drops them."""
    from django.contrib.auth.models import Group

    from dealership.roles import Role

    for role in Role:
        Group.objects.get_or_create(name=role)


def test_the_demo_fills_todays_lists_once(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # hand-back signatures are files
    seed_store()
    visits = seed_followup_demo()
    assert [v.status for v in visits] == [VisitStatus.DELIVERED] * 4

    care, advisor = User.objects.get(username="care"), User.objects.get(username="advisor")
    now = timezone.now()
    care_rows = selectors.call_list_rows(call_list=CALL_LISTS["care"], user=care, now=now)
    assert [row.visit for row in care_rows] == visits[:2]
    # Issue 15 item 12: nothing overdue (the demo keeps calls inside today: from
    # 23:50 on they are due already); each call is due after its car left.
    if timezone.localtime(now).hour < 23:
        assert not care_rows[0].overdue and not care_rows[1].overdue
    assert all(row.task.due_at >= row.visit.delivered_at for row in care_rows)
    advisor_rows = selectors.call_list_rows(call_list=CALL_LISTS["advisor"], user=advisor, now=now)
    assert [row.visit for row in advisor_rows] == [visits[2]]
    assert {survey.visit for survey in Survey.objects.all()} == {visits[2], visits[3]}
    assert sorted(Complaint.objects.values_list("source", "severity")) == [
        ("phone", "important"),
        ("survey", "normal"),
    ]

    assert [v.pk for v in seed_followup_demo()] == [v.pk for v in visits]
    assert Complaint.objects.count() == 2
