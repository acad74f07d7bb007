"""The call queue (staff) and the scheduled-work page (managers)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dealership.due import due_task_schedule, due_tasks_dispatch
from dealership.models import DueTask
from dealership.roles import Role
from dealership.tests.factories import CustomerFactory, VehicleFactory

from .test_due import FAILURES  # also registers the test kinds

pytestmark = pytest.mark.django_db
State = DueTask.State


def call(vehicle, *, minutes=-30, slot="", **kwargs):
    return due_task_schedule(
        kind="test.call",
        subject=vehicle,
        due_at=timezone.now() + timedelta(minutes=minutes),
        slot=slot,
        customer=vehicle.owner,
        **kwargs,
    )


@pytest.fixture
def care_client(client, make_staff):
    user = make_staff(Role.CUSTOMER_CARE)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def manager_client(client, make_staff):
    client.force_login(make_staff(Role.SERVICE_MANAGER))
    return client


def test_customer_care_sees_its_calls_and_records_an_outcome(care_client):
    vehicle = VehicleFactory(owner=CustomerFactory(name="韩梅梅"))
    task = call(vehicle, minutes=-120)
    page = care_client.get(reverse("due_queue"))
    html = page.content.decode()
    assert page.status_code == 200 and "韩梅梅" in html and "逾期" in html
    response = care_client.post(
        reverse("due_complete", args=[task.pk]),
        {f"t{task.pk}-outcome": "reached", f"t{task.pk}-note": "很满意"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "已联系上客户" in response.content.decode()
    task.refresh_from_db()
    assert (task.state, task.outcome, task.result) == (State.DONE, "reached", {"note": "很满意"})
    assert "韩梅梅" not in care_client.get(reverse("due_queue")).content.decode()


def test_recording_twice_is_refused_next_to_the_field(care_client):
    task = call(VehicleFactory())
    url = reverse("due_complete", args=[task.pk])
    care_client.post(url, {f"t{task.pk}-outcome": "reached"})
    response = care_client.post(url, {f"t{task.pk}-outcome": "not_reached"}, HTTP_HX_REQUEST="true")
    task.refresh_from_db()
    assert task.outcome == "reached"
    html = response.content.decode()
    assert 'role="alert"' in html and "已由" in html


def test_an_outcome_is_required(care_client):
    task = call(VehicleFactory())
    response = care_client.post(
        reverse("due_complete", args=[task.pk]), {f"t{task.pk}-outcome": ""}, HTTP_HX_REQUEST="true"
    )
    assert 'aria-invalid="true"' in response.content.decode()
    task.refresh_from_db()
    assert task.state == State.PENDING


def test_another_roles_call_cannot_be_recorded(client, make_staff):
    client.force_login(make_staff(Role.ADVISOR))
    task = call(VehicleFactory())
    response = client.post(
        reverse("due_complete", args=[task.pk]), {f"t{task.pk}-outcome": "reached"}
    )
    assert response.status_code == 403
    assert "韩" not in client.get(reverse("due_queue")).content.decode()


def test_queue_page_queries_do_not_grow_with_calls(care_client, django_assert_max_num_queries):
    for n in range(3):
        call(VehicleFactory(), slot=str(n))
    care_client.get(reverse("due_queue"))
    with django_assert_max_num_queries(12) as few:
        care_client.get(reverse("due_queue"))
    for n in range(30):
        call(VehicleFactory(), slot=f"more{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = care_client.get(reverse("due_queue"))
    assert response.content.decode().count('id="due-') == 33


def test_managers_see_counts_and_retry_a_failed_task(manager_client, settings):
    FAILURES["left"] = 99
    vehicle = VehicleFactory()
    failed = due_task_schedule(
        kind="test.flaky", subject=vehicle, due_at=timezone.now(), customer=vehicle.owner
    )
    DueTask.objects.filter(pk=failed.pk).update(
        state=State.FAILED, attempts=3, last_error="ConnectionError: provider down"
    )
    call(vehicle, minutes=-60)
    call(vehicle, slot="later", minutes=24 * 60)
    page = manager_client.get(reverse("due_ops"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "provider down" in html and f'id="failed-{failed.pk}"' in html
    summary = page.context["summary"]
    assert (summary.totals["failed"], summary.totals["overdue"], summary.totals["upcoming"]) == (
        1,
        1,
        1,
    )
    assert "调度器尚未运行" in html  # beat never ran in tests: the manager is warned
    response = manager_client.post(reverse("due_retry", args=[failed.pk]), follow=True)
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == (State.PENDING, 0)
    assert due_tasks_dispatch() == 1
    response = manager_client.post(reverse("due_retry", args=[failed.pk]), follow=True)
    assert "只有失败的任务才能重试" in response.content.decode()


def test_ops_page_queries_do_not_grow_with_tasks(manager_client, django_assert_max_num_queries):
    vehicle = VehicleFactory()
    call(vehicle, slot="0")
    manager_client.get(reverse("due_ops"))
    with django_assert_max_num_queries(14) as few:
        manager_client.get(reverse("due_ops"))
    for n in range(20):
        call(VehicleFactory(), slot=str(n), minutes=-60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        manager_client.get(reverse("due_ops"))


def test_the_admin_lists_due_tasks_and_messages_read_only(admin_client):
    call(VehicleFactory())
    assert admin_client.get("/admin/dealership/duetask/").status_code == 200
    assert admin_client.get("/admin/dealership/message/").status_code == 200
    assert admin_client.get("/admin/dealership/duetask/add/").status_code == 403


def test_a_call_about_the_customer_links_them_without_reading_them_twice(
    care_client, django_assert_num_queries
):
    from dealership.due import due_queue
    from dealership.roles import user_roles

    customers = [CustomerFactory(name=f"顾客{n}") for n in range(3)]
    for customer in customers:
        due_task_schedule(
            kind="test.call",
            subject=customer,
            due_at=timezone.now() - timedelta(minutes=5),
            customer=customer,
        )
    user_roles(care_client.user)
    with django_assert_num_queries(1):  # the calls with their customers; no second read
        tasks = due_queue(user=care_client.user)
    assert [task.subject for task in tasks] == [task.customer for task in tasks]
    html = care_client.get(reverse("due_queue")).content.decode()
    for customer in customers:
        link = f'<a href="{reverse("customer_detail", args=[customer.pk])}">{customer}</a'
        assert link in html


def test_the_queue_shows_the_due_time_in_the_store_time_zone_and_one_outcome_list_per_row(
    care_client,
):
    vehicle = VehicleFactory()
    first = call(vehicle, minutes=-90)
    second = call(vehicle, minutes=-60, slot="again")
    html = care_client.get(reverse("due_queue")).content.decode()
    for task in (first, second):
        shown = timezone.localtime(task.due_at).strftime("%m-%d %H:%M")
        assert f'<tr id="due-{task.pk}">\n  <td style="white-space:nowrap">{shown}' in html
        assert f'name="t{task.pk}-outcome"' in html
    assert html.count('<option value="reached"') == 2
    assert html.count(">已联系上客户</option>") == 2


def test_the_queue_rows_forms_carry_each_visitors_own_token(make_staff):
    task = call(VehicleFactory(owner=CustomerFactory(name="韩梅梅")))
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(make_staff(Role.CUSTOMER_CARE))
    first.get(reverse("due_queue"))  # the rows are cached now, with no token of anyone's in them
    second.force_login(make_staff(Role.CUSTOMER_CARE))

    page = second.get(reverse("due_queue")).content.decode()
    token = page.split(f'id="due-{task.pk}"')[1].split('name="csrfmiddlewaretoken" value="')[1]
    response = second.post(
        reverse("due_complete", args=[task.pk]),
        {"csrfmiddlewaretoken": token.split('"')[0], f"t{task.pk}-outcome": "reached"},
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == State.DONE


def test_a_call_changed_since_the_queue_was_shown_is_shown_changed(care_client):
    task = call(VehicleFactory(owner=CustomerFactory(name="韩梅梅")))
    assert "韩梅梅" in care_client.get(reverse("due_queue")).content.decode()

    task.customer.name = "李雷"
    task.customer.save()

    html = care_client.get(reverse("due_queue")).content.decode()
    assert "李雷" in html and "韩梅梅" not in html
