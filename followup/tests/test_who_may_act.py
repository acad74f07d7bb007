"""Who may record a call: one selector (`dealership.selectors.may_act_on_call`) for the
due queue, the follow-up pages and the API.

An advisor's 7-day call is assigned to that advisor. The service manager and the
administrator may record any call: DESIGN.md lists the administrator among the roles
and `role_required` lets the administrator pass every check, so a call no one else can
reach is never stuck.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from dealership.models import DueTask
from dealership.roles import Role
from dealership.selectors import may_act_on_call
from followup import duties as K
from followup.tests.factories import delivered_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def advisor_call():
    task = DueTask.objects.get(kind=K.ADVISOR_CALL, subject_id=delivered_visit().pk)
    DueTask.objects.filter(pk=task.pk).update(due_at=timezone.now(), run_after=timezone.now())
    task.refresh_from_db()
    return task


def test_an_assigned_call_is_its_persons_the_managers_and_the_administrators(
    advisor_call, make_staff
):
    task = advisor_call
    assert may_act_on_call(task.assigned_to, task)
    assert not may_act_on_call(make_staff(Role.ADVISOR), task)
    assert not may_act_on_call(make_staff(Role.CUSTOMER_CARE), task)
    assert may_act_on_call(make_staff(Role.SERVICE_MANAGER), task)
    assert may_act_on_call(make_staff(Role.ADMIN), task)


def test_an_unassigned_call_is_its_roles(advisor_call, make_staff):
    task = advisor_call
    DueTask.objects.filter(pk=task.pk).update(assigned_to=None)
    task.refresh_from_db()
    assert may_act_on_call(make_staff(Role.ADVISOR), task)
    assert not may_act_on_call(make_staff(Role.CUSTOMER_CARE), task)


def test_the_administrator_records_another_persons_call_on_the_queue(
    client, advisor_call, make_staff
):
    client.force_login(make_staff(Role.ADMIN))
    task = advisor_call
    response = client.post(
        reverse("due_complete", args=[task.pk]),
        {f"t{task.pk}-outcome": "satisfied", f"t{task.pk}-note": "客户满意"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == DueTask.State.DONE and task.outcome == "satisfied"


def test_the_pages_and_the_api_refuse_another_advisor_alike_in_the_users_language(
    client, advisor_call, make_staff
):
    task = advisor_call
    client.force_login(make_staff(Role.ADVISOR))
    page = client.get(reverse("followup:call", args=[task.pk]))
    queue = client.post(reverse("due_complete", args=[task.pk]), {f"t{task.pk}-outcome": "x"})
    api = client.get(f"/api/followup/calls/{task.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert (page.status_code, queue.status_code, api.status_code) == (403, 403, 403)
    assert api.json()["detail"] == "此电话在其他人的清单上。"
    client.force_login(make_staff(Role.ADMIN))
    assert client.get(f"/api/followup/calls/{task.pk}/").status_code == 200
    assert client.get(reverse("followup:call", args=[task.pk])).status_code == 200


def test_the_api_refuses_a_list_of_another_role_in_the_users_language(client, make_staff):
    client.force_login(make_staff(Role.CUSTOMER_CARE))
    response = client.get(
        "/api/followup/calls/", {"list": "advisor"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "此回访列表属于其他岗位。"
