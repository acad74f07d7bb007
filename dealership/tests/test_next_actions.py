"""Issue 15 item 9: customer and vehicle pages carry the desk's next actions; the owner change
sits behind a button; a visit waiting for an addition's approval links to that addition."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dealership.tests.factories import CustomerFactory, VehicleFactory
from reception.tests.factories import VisitFactory
from workshop.models import Addition

pytestmark = pytest.mark.django_db


def test_the_vehicle_page_offers_booking_check_in_and_archive(advisor_client):
    vehicle = VehicleFactory()
    page = advisor_client.get(f"/vehicles/{vehicle.pk}/").content.decode()
    assert f'href="/appointments/new/?vehicle={vehicle.pk}"' in page
    assert f'href="/reception/check-in/?vehicle={vehicle.pk}"' in page
    assert 'id="archive-link"' in page
    # The owner change is behind a button, not half the page.
    assert '<details id="change-owner">' in page


def test_a_car_on_site_offers_its_open_visit_instead_of_a_check_in(advisor_client):
    visit = VisitFactory()
    page = advisor_client.get(f"/vehicles/{visit.vehicle.pk}/").content.decode()
    assert f'href="/reception/visits/{visit.pk}/"' in page and visit.number in page
    assert "/reception/check-in/?vehicle=" not in page
    customer_page = advisor_client.get(f"/customers/{visit.customer.pk}/").content.decode()
    assert f'href="/reception/visits/{visit.pk}/"' in customer_page
    assert f'href="/appointments/new/?vehicle={visit.vehicle.pk}"' in customer_page


def test_a_technician_is_not_offered_actions_of_the_desk(client, make_staff):
    vehicle = VehicleFactory()
    client.force_login(make_staff("technician"))
    page = client.get(f"/vehicles/{vehicle.pk}/").content.decode()
    assert "/appointments/new/" not in page and "/reception/check-in/" not in page


def test_a_visit_waiting_for_approval_links_to_the_addition(advisor_client):
    visit = VisitFactory(status="on_hold", hold_reason="awaiting_approval")
    addition = Addition.objects.create(visit=visit, title="更换雨刮片")
    page = advisor_client.get(f"/reception/visits/{visit.pk}/").content.decode()
    assert f'href="/workshop/additions/{addition.pk}/"' in page
    assert "发送确认链接" in page


def test_the_work_order_page_links_each_pending_addition_too(advisor_client):
    from django.utils import timezone

    from workshop.tests.factories import make_signed_visit

    visit = make_signed_visit(jobs=1, status="on_hold", hold_reason="awaiting_approval")
    unsent = Addition.objects.create(visit=visit, title="更换雨刮片")
    sent = Addition.objects.create(visit=visit, title="更换空调滤芯", link_sent_at=timezone.now())
    order = visit.work_orders.get()
    page = advisor_client.get(f"/orders/{order.pk}/").content.decode()
    assert "等待客户确认" in page
    assert f'href="/workshop/additions/{unsent.pk}/"' in page and "发送确认链接" in page
    assert f'href="/workshop/additions/{sent.pk}/"' in page and "已发送链接" in page


def _customer_page_queries(client, vehicles: int, on_site: int) -> int:
    cars = VehicleFactory.create_batch(vehicles, owner=CustomerFactory())
    for car in cars[:on_site]:
        VisitFactory(vehicle=car, customer=car.owner)
    url = f"/customers/{cars[0].owner_id}/"
    client.get(url)  # the session's user and the store's rules are cached from now on
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    assert page.count('data-action="book"') == vehicles
    assert page.count('data-action="open-visit"') == on_site
    return len(queries)


def test_the_customer_page_asks_once_for_all_its_cars_actions(advisor_client):
    """Issue 21: the customer page's query count does not grow with the customer's cars."""
    one_car = _customer_page_queries(advisor_client, vehicles=1, on_site=0)
    assert _customer_page_queries(advisor_client, vehicles=4, on_site=2) == one_car
