"""Test data of the portal: a car with work proposed, a delivered car with its papers."""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from appointments.services import appointment_book
from appointments.tests.factories import local, make_workshop
from dealership.tests.factories import BayFactory, LabourOperationFactory, PartFactory
from delivery import services as delivery_services
from delivery.tests.factories import settled_visit, staff
from portal import services
from reception.tests.factories import signature_data_url
from workshop import additions
from workshop import services as workshop_services
from workshop.models import Job
from workshop.tests.factories import make_signed_visit, make_technician
from workshop.tests.test_images import png_bytes


def sign_in(client, customer) -> None:
    session = client.session
    session[services.SESSION_CUSTOMER] = customer.pk
    session[services.SESSION_SIGNED_IN_AT] = timezone.now().isoformat()
    session.save()


def proposed_addition(**visit_kwargs):
    """A car in the workshop whose technician proposed front brake pads (with a photo)."""
    controller = staff("workshop_controller")
    tech = make_technician()
    visit = make_signed_visit(jobs=1, promised_in=timedelta(hours=3), **visit_kwargs)
    workshop_services.jobs_materialise(visit_ids=[visit.pk])
    (job,) = workshop_services.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=BayFactory(),
        actor=controller,
    )
    workshop_services.job_clock_on(job=job, actor=tech.user)
    finding = workshop_services.finding_report(
        job=job,
        actor=tech.user,
        note="前刹车片剩余2mm",
        photos=[SimpleUploadedFile("pads.png", png_bytes(), content_type="image/png")],
    )
    addition = additions.addition_propose(
        visit=visit,
        actor=tech.user,
        finding=finding,
        title="更换前刹车片",
        explanation="刹车片过薄，继续使用会损伤刹车盘",
        operations=[LabourOperationFactory(standard_hours="0.75", price="180.00")],
        parts=[PartFactory(price="320.00")],
        safety_related=True,
    )
    visit.refresh_from_db()
    return visit, addition


def hand_back(visit):
    delivery_services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    return delivery_services.visit_hand_back(
        visit=visit,
        actor=visit.advisor,
        signature=signature_data_url(),
        signer_name=visit.customer.name,
        belongings_returned=True,
        keys_returned=True,
        covers_removed=True,
    )


def delivered_with_papers():
    """A visit paid, given its gate pass and handed back: every paper exists."""
    visit, order, settlement = settled_visit()
    hand_back(visit)
    visit.refresh_from_db()
    return visit, order, settlement


def booking(customer, vehicle):
    day = timezone.localdate() + timedelta(days=6)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    workshop = make_workshop()
    return appointment_book(
        customer=customer,
        vehicle=vehicle,
        start=local(day, 10),
        operations=[workshop["oil"]],
        actor=staff("advisor"),
    )
