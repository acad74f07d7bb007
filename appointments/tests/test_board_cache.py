"""The board's days are rendered once and kept under a digest of what they show
(`selectors.board_key`): every change behind a card, the language and the viewer's links
give other HTML, never yesterday's."""

import pytest
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.urls import reverse

from appointments import services
from dealership.fragments import templates_digest
from dealership.models import Customer

from .factories import days_ahead, local, make_vehicle
from .test_views import book

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]


def _board(client, day, **params):
    response = client.get(reverse("appointments:board"), {"day": day.isoformat(), **params})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("view", ["day", "week"])
def test_a_second_look_at_the_board_comes_from_the_cache(client, advisor, workshop, view):
    day = days_ahead(3)
    book(workshop, advisor, local(day, 9))
    client.force_login(advisor)
    response = client.get(reverse("appointments:board"), {"day": day.isoformat(), "view": view})
    key = make_template_fragment_key(
        "appointment-board",
        [
            response.context["board_key"],
            "zh-hans",
            "/reception/on-site/",
            templates_digest(),
        ],
    )
    assert cache.get(key) is not None
    again = _board(client, day, view=view)
    assert again.split("<main")[1] == response.content.decode().split("<main")[1]


@pytest.mark.parametrize("view", ["day", "week"])
def test_a_deploy_that_changes_the_board_shows_no_old_html(
    client, advisor, workshop, deploy_template, view
):
    day = days_ahead(3)
    book(workshop, advisor, local(day, 9))
    client.force_login(advisor)
    assert "data-deployed" not in _board(client, day, view=view)
    # A changed line inside the cached part of the page.
    deploy_template(
        "appointments/board.html", "templates_digest %}", "templates_digest %}<i data-deployed></i>"
    )
    assert "data-deployed" in _board(client, day, view=view)


def test_a_renamed_customer_and_a_cancelled_appointment_show_at_once(client, advisor, workshop):
    day = days_ahead(3)
    appointment = book(workshop, advisor, local(day, 9))
    client.force_login(advisor)
    assert "已预约" in _board(client, day)
    Customer.objects.filter(pk=appointment.customer_id).update(name="改名后的客户")
    services.appointment_cancel(appointment=appointment, actor=advisor, reason="test")
    body = _board(client, day)
    assert "改名后的客户" in body and "已取消" in body
    week = _board(client, day, view="week")
    assert "<del" in week  # the week strikes the cancelled car through


def test_a_moved_plate_shows_on_the_week(client, advisor, workshop):
    day = days_ahead(3)
    vehicle = make_vehicle(plate="苏E11111")
    book(workshop, advisor, local(day, 9), vehicle=vehicle)
    client.force_login(advisor)
    assert "苏E11111" in _board(client, day, view="week")
    type(vehicle).objects.filter(pk=vehicle.pk).update(plate="苏E22222")
    week = _board(client, day, view="week")
    assert "苏E22222" in week and "苏E11111" not in week


def test_each_language_gets_its_own_board(client, advisor, workshop):
    day = days_ahead(3)
    book(workshop, advisor, local(day, 9))
    client.force_login(advisor)
    assert "已预约" in _board(client, day)
    english = client.get(
        reverse("appointments:board"), {"day": day.isoformat()}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Booked" in english and "已预约" not in english


def test_only_roles_that_open_visits_get_the_walk_ins_link(client, advisor, make_staff):
    reception = pytest.importorskip("reception.services")
    visit = reception.visit_check_in(vehicle=make_vehicle(), actor=advisor, concern_text="异响")
    visit_url = reverse("reception:visit", args=[visit.pk])
    client.force_login(advisor)
    assert visit_url in _board_today(client)
    client.force_login(make_staff("customer_care"))  # sees the board, not the visits
    body = _board_today(client)
    assert visit.vehicle.plate in body and visit_url not in body


def _board_today(client):
    response = client.get(reverse("appointments:board"))
    assert response.status_code == 200
    return response.content.decode()
