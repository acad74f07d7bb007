"""Customers' signed links on the real public pages: a link opens its own object only,
and an altered, expired, revoked, forged or other-purpose token opens nothing."""

from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse

from appointments import services as appointment_services
from appointments.tests.factories import local, make_vehicle, make_workshop
from dealership.links import customer_link_create, customer_links_revoke
from dealership.tests.factories import PartFactory
from reception.progress_push import PROGRESS_PURPOSE
from reception.tests.factories import VisitFactory
from workshop import additions as workshop_additions
from workshop import services as workshop_services
from workshop.models import Job
from workshop.tests.factories import make_signed_visit, make_technician

pytestmark = pytest.mark.django_db


def _tampered(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


def _forged(purpose: str) -> str:
    return signing.dumps({"t": "00000000-0000-0000-0000-000000000000", "p": purpose}, salt="x")


def _workday(days: int = 3):
    from django.utils import timezone

    day = timezone.localdate() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@pytest.fixture
def appointments(make_staff):
    workshop = make_workshop()
    advisor = make_staff("advisor")
    booked = []
    for hour in (9, 10):
        vehicle = make_vehicle()
        booked.append(
            appointment_services.appointment_book(
                customer=vehicle.owner,
                vehicle=vehicle,
                start=local(_workday(), hour),
                operations=[workshop["oil"]],
                actor=advisor,
            )
        )
    return advisor, booked


def _manage(client, token):
    return client.get(reverse("appointments:manage", kwargs={"token": token}))


def test_an_appointment_link_opens_its_own_appointment_only(client, appointments):
    _advisor, (first, second) = appointments
    token = appointment_services.appointment_link_create(appointment=first)
    page = _manage(client, token)
    assert page.status_code == 200
    text = page.content.decode()
    assert first.vehicle.plate in text and second.vehicle.plate not in text
    other = _manage(client, appointment_services.appointment_link_create(appointment=second))
    assert second.vehicle.plate in other.content.decode()
    assert first.vehicle.plate not in other.content.decode()


def test_an_altered_or_forged_appointment_link_opens_nothing(client, appointments):
    _advisor, (first, _second) = appointments
    token = appointment_services.appointment_link_create(appointment=first)
    assert _manage(client, _tampered(token)).status_code == 404
    assert _manage(client, token + "x").status_code == 404
    assert _manage(client, _forged(appointment_services.LINK_PURPOSE)).status_code == 404
    assert _manage(client, "not-a-token").status_code == 404


def test_an_expired_appointment_link_opens_nothing(client, appointments):
    _advisor, (first, _second) = appointments
    token = customer_link_create(
        obj=first,
        purpose=appointment_services.LINK_PURPOSE,
        customer=first.customer,
        max_age=timedelta(seconds=-1),
    )
    assert _manage(client, token).status_code == 404


def test_a_cancelled_appointment_revokes_its_link(client, appointments):
    advisor, (first, _second) = appointments
    token = appointment_services.appointment_link_create(appointment=first)
    assert _manage(client, token).status_code == 200
    appointment_services.appointment_cancel(appointment=first, actor=advisor, reason="改期")
    assert _manage(client, token).status_code == 404


def test_a_link_for_another_purpose_or_object_type_opens_nothing(client, appointments):
    _advisor, (first, _second) = appointments
    # A progress link (a visit's) on the appointment page, and an appointment link on the
    # progress page: the purpose is signed into the token, so neither opens.
    visit = VisitFactory()
    progress = customer_link_create(obj=visit, purpose=PROGRESS_PURPOSE)
    assert _manage(client, progress).status_code == 404
    booking = appointment_services.appointment_link_create(appointment=first)
    assert client.get(reverse("reception:progress", kwargs={"token": booking})).status_code == 404
    # The right purpose bound to the wrong kind of object is refused too.
    wrong_type = customer_link_create(obj=visit, purpose=appointment_services.LINK_PURPOSE)
    assert _manage(client, wrong_type).status_code == 404


def test_the_progress_page_checks_its_link(client):
    visit, other = VisitFactory(), VisitFactory()
    token = customer_link_create(obj=visit, purpose=PROGRESS_PURPOSE)
    url = reverse("reception:progress", kwargs={"token": token})
    page = client.get(url)
    assert page.status_code == 200 and visit.number in page.content.decode()
    assert other.number not in page.content.decode()
    for bad in (_tampered(token), _forged(PROGRESS_PURPOSE)):
        assert client.get(reverse("reception:progress", kwargs={"token": bad})).status_code == 404
    customer_links_revoke(obj=visit)
    assert client.get(url).status_code == 404
    expired = customer_link_create(
        obj=visit, purpose=PROGRESS_PURPOSE, max_age=timedelta(seconds=-1)
    )
    assert client.get(reverse("reception:progress", kwargs={"token": expired})).status_code == 404


@pytest.fixture
def addition(make_staff):
    tech = make_technician()
    controller = make_staff("workshop_controller")
    visit = make_signed_visit(jobs=1)
    workshop_services.jobs_materialise(visit_ids=[visit.pk])
    (job,) = workshop_services.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=None,
        actor=controller,
    )
    workshop_services.job_clock_on(job=job, actor=tech.user)
    return workshop_additions.addition_propose(
        visit=visit, actor=tech.user, title="更换空调滤芯", parts=[PartFactory(price="120.00")]
    )


def test_the_approval_page_checks_its_link(client, addition):
    token = addition.link_token or workshop_additions.addition_link_token(addition, actor=None)
    url = reverse("workshop:approve", kwargs={"token": token})
    assert client.get(url).status_code == 200
    for bad in (
        _tampered(token),
        _forged(workshop_additions.ADDITION_PURPOSE),
        customer_link_create(obj=addition.visit, purpose=PROGRESS_PURPOSE),
        customer_link_create(
            obj=addition, purpose=workshop_additions.ADDITION_PURPOSE, max_age=timedelta(-1)
        ),
    ):
        response = client.get(reverse("workshop:approve", kwargs={"token": bad}))
        assert response.status_code == 404
        assert "更换空调滤芯" not in response.content.decode()
    customer_links_revoke(obj=addition)
    assert client.get(url).status_code == 404
