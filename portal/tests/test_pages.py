"""The portal's pages: only the signed-in customer's things, the same services as the desk."""

import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from appointments.views.self_service import SESSION_VEHICLE
from dealership.due import State
from dealership.links import customer_link_create
from dealership.models import DueTask
from dealership.tests.factories import CustomerFactory, VehicleFactory
from followup import duties as K
from followup.models import Complaint, ComplaintSource, Survey
from followup.services import survey_answer_online
from portal import services
from reception.progress_push import PROGRESS_PURPOSE
from workshop.models import Addition
from workshop.states import AdditionStatus, AnswerChannel

from .helpers import booking, delivered_with_papers, proposed_addition, sign_in

pytestmark = pytest.mark.django_db

GOOD = {name: "9" for name in Survey.QUESTIONS}


def _care_call(visit) -> DueTask:
    return DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)


def test_home_shows_my_cars_and_the_car_in_the_workshop_only(client):
    visit, _addition = proposed_addition()
    mine = visit.customer
    other = VehicleFactory(owner=CustomerFactory())
    sign_in(client, mine)
    page = client.get(reverse("portal:home")).content.decode()
    assert f'id="car-{visit.vehicle.pk}"' in page
    assert f'id="current-visit-{visit.pk}"' in page
    assert f'id="car-{other.pk}"' not in page and other.plate not in page
    assert 'id="store-phone"' in page and 'id="store-address"' in page


def test_another_customers_car_visit_papers_photos_and_answers_answer_404(client):
    visit, addition = proposed_addition()
    delivered, order, settlement = delivered_with_papers()
    stranger = CustomerFactory()
    VehicleFactory(owner=stranger)
    sign_in(client, stranger)
    photo = addition.finding.photos.first()
    urls = [
        reverse("portal:vehicle", args=[visit.vehicle.pk]),
        reverse("portal:visit", args=[visit.pk]),
        reverse("portal:visit", args=[delivered.pk]),
        reverse("portal:photo", args=[photo.pk]),
        reverse("portal:survey", args=[delivered.pk]),
        *[
            reverse("portal:document", args=[delivered.pk, kind])
            for kind in ("order", "sheet", "receipt", "warranty")
        ],
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    posts = [
        (reverse("portal:addition_answer", args=[visit.pk, addition.pk]), {"decision": "approve"}),
        (reverse("portal:book", args=[visit.vehicle.pk]), {}),
        (reverse("portal:survey", args=[delivered.pk]), GOOD),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    addition.refresh_from_db()
    assert addition.status == AdditionStatus.PROPOSED
    assert not Survey.objects.exists()
    assert SESSION_VEHICLE not in client.session


def test_approving_proposed_work_goes_through_the_additions_service(client):
    visit, addition = proposed_addition()
    sign_in(client, visit.customer)
    page = client.get(reverse("portal:visit", args=[visit.pk])).content.decode()
    assert f'id="approve-{addition.pk}"' in page and "前刹车片剩余2mm" in page
    photo = addition.finding.photos.first()
    assert client.get(reverse("portal:photo", args=[photo.pk])).status_code == 200
    url = reverse("portal:addition_answer", args=[visit.pk, addition.pk])
    response = client.post(url, {"decision": "approve"})
    assert response.status_code == 302
    addition = Addition.objects.get(pk=addition.pk)
    assert addition.status == AdditionStatus.APPROVED
    assert addition.answer_channel == AnswerChannel.LINK and addition.revision is not None
    # A second answer is refused by the same rules, and nothing changes.
    response = client.post(url, {"decision": "decline", "reason": "太贵"})
    assert response.status_code == 400
    assert Addition.objects.get(pk=addition.pk).status == AdditionStatus.APPROVED


def test_declining_keeps_the_reason(client):
    visit, addition = proposed_addition()
    sign_in(client, visit.customer)
    url = reverse("portal:addition_answer", args=[visit.pk, addition.pk])
    client.post(url, {"decision": "decline", "reason": "下次再做"})
    addition.refresh_from_db()
    assert addition.status == AdditionStatus.DECLINED and "下次再做" in addition.decline_reason


def test_the_papers_of_a_delivered_visit_and_its_history(client):
    visit, order, settlement = delivered_with_papers()
    sign_in(client, visit.customer)
    page = client.get(reverse("portal:visit", args=[visit.pk])).content.decode()
    for kind in ("order", "sheet", "receipt", "warranty"):
        url = reverse("portal:document", args=[visit.pk, kind])
        assert url in page
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
    assert client.get(reverse("portal:document", args=[visit.pk, "gate"])).status_code == 404
    history = client.get(reverse("portal:vehicle", args=[visit.vehicle.pk])).content.decode()
    assert f'id="history-{visit.pk}"' in history
    assert f"¥{settlement.customer_total}" in history
    assert order.lines.first().name_zh in history


def test_no_receipt_before_payment(client):
    visit, _addition = proposed_addition()
    sign_in(client, visit.customer)
    assert client.get(reverse("portal:document", args=[visit.pk, "receipt"])).status_code == 404
    assert client.get(reverse("portal:document", args=[visit.pk, "order"])).status_code == 200


def test_the_survey_drops_the_care_call_and_a_low_score_opens_a_complaint(client):
    visit, _order, _settlement = delivered_with_papers()
    sign_in(client, visit.customer)
    assert _care_call(visit).state == State.PENDING
    url = reverse("portal:survey", args=[visit.pk])
    assert client.get(url).status_code == 200
    answers = {**GOOD, "on_time": "3", "customer_words": "晚了两个小时"}
    response = client.post(url, answers)
    assert response.status_code == 302
    call = _care_call(visit)
    assert call.state == State.DONE and call.outcome == "surveyed"
    assert call.result["channel"] == "portal" and call.completed_by is None
    survey = Survey.objects.get(visit=visit)
    assert survey.on_time == 3 and survey.taken_by is None and survey.call == call
    complaint = Complaint.objects.get(survey=survey)
    assert complaint.source == ComplaintSource.SURVEY and complaint.customer == visit.customer
    # One survey per visit.
    response = client.post(url, GOOD)
    assert Survey.objects.filter(visit=visit).count() == 1
    assert 'id="survey-done"' in response.content.decode()


def test_a_survey_answer_out_of_range_is_refused_by_the_field(client):
    visit, _order, _settlement = delivered_with_papers()
    sign_in(client, visit.customer)
    response = client.post(reverse("portal:survey", args=[visit.pk]), {**GOOD, "overall": "11"})
    assert response.status_code == 400 and 'class="errorlist"' in response.content.decode()
    assert not Survey.objects.exists() and _care_call(visit).state == State.PENDING


def test_a_complaint_opened_in_the_portal_shows_with_its_deadline(client):
    visit, _order, _settlement = delivered_with_papers()
    other_visit, _o, _s = delivered_with_papers()
    sign_in(client, visit.customer)
    url = reverse("portal:complaints")
    data = {"visit": other_visit.pk, "category": "quality", "description": "异响还在"}
    assert client.post(url, data).status_code == 400  # not my visit: refused by the field
    assert not Complaint.objects.exists()
    response = client.post(url, {**data, "visit": visit.pk})
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert complaint.source == ComplaintSource.PORTAL and complaint.visit == visit
    page = client.get(url).content.decode()
    assert f'id="complaint-{complaint.pk}"' in page and complaint.number in page
    assert f"{timezone.localtime(complaint.close_by):%Y-%m-%d}" in page
    response = client.post(url, {**data, "visit": visit.pk, "description": "x" * 5001})
    assert response.status_code == 400 and Complaint.objects.count() == 1
    for _ in range(services.COMPLAINTS_PER_DAY - 1):
        assert client.post(url, {**data, "visit": visit.pk}).status_code == 302
    assert client.post(url, {**data, "visit": visit.pk}).status_code == 429
    assert Complaint.objects.count() == services.COMPLAINTS_PER_DAY


def test_booking_uses_the_online_booking_with_my_car_and_moving_uses_the_booking_page(client):
    visit, _addition = proposed_addition()
    customer = visit.customer
    sign_in(client, customer)
    response = client.post(reverse("portal:book", args=[visit.vehicle.pk]))
    assert response["Location"] == reverse("appointments:self_book")
    assert client.session[SESSION_VEHICLE] == visit.vehicle.pk
    page = client.get(response["Location"]).content.decode()
    assert visit.vehicle.plate in page
    appointment = booking(customer, visit.vehicle)
    assert f'id="booking-{appointment.pk}"' in client.get(reverse("portal:home")).content.decode()
    response = client.post(reverse("portal:appointment_manage", args=[appointment.pk]))
    assert response.status_code == 302
    manage = client.get(response["Location"])
    assert manage.status_code == 200 and 'id="my-appointment"' in manage.content.decode()
    assert 'id="open-portal"' in manage.content.decode()


def test_the_progress_page_offers_the_portal(client):
    visit, _addition = proposed_addition()
    token = customer_link_create(obj=visit, purpose=PROGRESS_PURPOSE, customer=visit.customer)
    page = client.get(reverse("reception:progress", args=[token])).content.decode()
    assert reverse("portal:home") in page


@pytest.mark.django_db(transaction=True)
def test_two_answers_at_once_make_one_survey(require_postgres):
    from django.contrib.auth.models import Group

    from dealership.roles import Role

    for role in Role:
        Group.objects.get_or_create(name=role)
    visit, _order, _settlement = delivered_with_papers()
    barrier = threading.Barrier(2)
    outcomes = []

    def answer():
        try:
            barrier.wait()
            survey_answer_online(visit=visit, answers=GOOD)
            outcomes.append("ok")
        except services.DomainError as error:
            outcomes.append(error.messages[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2 and outcomes.count("ok") == 1
    assert Survey.objects.filter(visit=visit).count() == 1
