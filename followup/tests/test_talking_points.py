"""Follow-up calls with something to say, at the time the customer chose (issue 20 item 9)."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Campaign
from appointments.tests.factories import make_workshop
from dealership.models import DueTask, MaintenancePlan
from dealership.tests.factories import CustomerFactory, VehicleFactory
from followup import duties as K
from followup.contact_time import at_preferred_time, window_of
from followup.talking_points import talking_points_for
from followup.tests.factories import delivered_visit
from reception.models import DeclinedWork


def _local(day_offset: int, hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate() + timedelta(days=day_offset)
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


@pytest.mark.parametrize(
    "text, window",
    [
        ("上午", "morning"),
        ("下午三点以后", "afternoon"),
        ("中午休息时", "noon"),
        ("晚上下班后", "evening"),
        ("Evening please", "evening"),
        ("any time", None),
        ("", None),
    ],
)
def test_the_window_named_in_the_customers_words(text, window):
    assert window_of(text) == window


def test_a_call_moves_to_the_start_of_the_chosen_window_never_earlier():
    assert at_preferred_time(_local(1, 10, 30), "下午") == _local(1, 14)
    assert at_preferred_time(_local(1, 15, 10), "下午") == _local(1, 15, 10)  # inside: kept
    assert at_preferred_time(_local(1, 19), "上午") == _local(2, 9)  # past it: next day
    assert at_preferred_time(_local(1, 19), "随时") == _local(1, 19)  # no window: kept


@pytest.mark.django_db
def test_the_care_call_is_scheduled_in_the_window_the_customer_chose():
    customer = CustomerFactory(preferred_contact_time="晚上", preferred_channel="wechat")
    visit = delivered_visit(customer=customer)
    earliest = visit.delivered_at + timedelta(hours=24)
    call = DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)
    local = timezone.localtime(call.due_at)
    assert 18 <= local.hour < 20
    assert earliest <= call.due_at < earliest + timedelta(days=1)
    assert call.payload["preferred_time"] == "晚上"


@pytest.mark.django_db
def test_talking_points_name_the_next_service_declined_work_and_open_campaigns():
    workshop = make_workshop()
    MaintenancePlan.objects.create(
        name_zh="保养", name_en="Service", interval_km=5000, interval_months=6
    ).operations.set([workshop["oil"]])
    today = timezone.localdate()
    vehicle = VehicleFactory(
        model="凯美瑞 Camry",
        registration_date=today - timedelta(days=990),
        last_odometer_km=39_600,
    )
    DeclinedWork.objects.create(vehicle=vehicle, description="更换雨刮")
    DeclinedWork.objects.create(vehicle=vehicle, description="已做的活", done_at=timezone.now())
    Campaign.objects.create(code="RC-7", name_zh="气囊召回", name_en="Airbag", models_match="camry")
    Campaign.objects.create(code="RC-8", name_zh="别的车型", name_en="Other", models_match="RAV4")

    points = talking_points_for(vehicle)
    assert points.next_service_km == 40_000
    assert points.next_service_on == today + timedelta(days=10)
    assert [work.description for work in points.declined] == ["更换雨刮"]
    assert [campaign.code for campaign in points.campaigns] == ["RC-7"]


@pytest.mark.django_db
def test_the_call_page_shows_the_talking_points(client, care):
    vehicle = VehicleFactory(owner=CustomerFactory())
    DeclinedWork.objects.create(vehicle=vehicle, description="更换刹车油")
    visit = delivered_visit(vehicle=vehicle)
    call = DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)
    client.force_login(care)
    page = client.get(reverse("followup:call", args=[call.pk])).content.decode()
    assert 'id="talking-points"' in page and "更换刹车油" in page


@pytest.mark.django_db
def test_a_car_with_nothing_to_say_shows_no_talking_points(client, care):
    visit = delivered_visit()
    call = DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)
    client.force_login(care)
    page = client.get(reverse("followup:call", args=[call.pk])).content.decode()
    assert 'id="talking-points"' not in page


@pytest.mark.django_db
def test_the_work_orders_follow_up_choice_wins_over_the_customer_record():
    from followup.services import followup_schedule_after_delivery
    from workorders.models import WorkOrder

    customer = CustomerFactory(preferred_contact_time="上午")
    visit = delivered_visit(customer=customer, schedule=False)
    WorkOrder.objects.create(visit=visit, followup_channel="wechat", followup_time="工作日下午")
    followup_schedule_after_delivery(visit=visit, actor=visit.advisor)
    call = DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)
    assert 14 <= timezone.localtime(call.due_at).hour < 18
    assert call.payload["channel"] == "wechat"
