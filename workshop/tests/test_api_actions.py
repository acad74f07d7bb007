"""The workshop pages' actions through the API (issue 18.1): findings with photos, proposing
from a finding, the customer's approval link, moving the promise. Same services, same roles,
same refusals (400 with the page's words, nothing changed)."""

import base64
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from dealership.models import DueTask, TimelineEvent
from dealership.tests.factories import LabourOperationFactory, PartFactory
from reception.models import Visit
from workshop import additions, duties, services
from workshop.models import Addition, Finding, FindingPhoto, Job
from workshop.states import AdditionStatus

from .factories import make_signed_visit, make_technician
from .test_images import png_bytes

pytestmark = pytest.mark.django_db


def _client(user, language: str = "en") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.force_authenticate(user)
    return client


def _png(name: str = "pads.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def _data_url() -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes()).decode()


@pytest.fixture
def working(controller, tech, bay):
    """A car with one job clocked on by `tech`."""
    visit = make_signed_visit(jobs=1, promised_in=timedelta(hours=3))
    services.jobs_materialise(visit_ids=[visit.pk])
    (job,) = services.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=bay,
        actor=controller,
    )
    services.job_clock_on(job=job, actor=tech.user)
    visit.refresh_from_db()
    return visit, Job.objects.get(pk=job.pk)


@pytest.fixture
def finding(working, tech):
    _visit, job = working
    return services.finding_report(job=job, actor=tech.user, note="前刹车片剩余2mm", photos=[])


@pytest.fixture
def proposed(working, finding, tech):
    visit, _job = working
    return additions.addition_propose(
        visit=visit,
        actor=tech.user,
        finding=finding,
        title="更换前刹车片",
        parts=[PartFactory(price="320.00")],
    )


# ---------------------------------------------------------------------------- findings


def test_a_technician_reports_a_finding_with_photos_as_files(working, tech):
    visit, job = working
    response = _client(tech.user).post(
        f"/api/workshop/jobs/{job.pk}/finding/",
        {"note": "左前轮胎鼓包", "photos": [_png("a.png"), _png("b.png")]},
        format="multipart",
    )
    assert response.status_code == 201, response.data
    finding = Finding.objects.get(pk=response.data["id"])
    assert (finding.visit, finding.job, finding.note) == (visit, job, "左前轮胎鼓包")
    assert finding.reported_by == tech.user
    assert sorted(response.data["photos"]) == sorted(finding.photos.values_list("pk", flat=True))
    # Re-encoded as the page's upload is: a fresh JPEG.
    assert [p.image.name.endswith(".jpg") for p in finding.photos.all()] == [True, True]
    assert TimelineEvent.objects.filter(kind="workshop.finding", subject_id=finding.pk).count() == 1


def test_a_photo_may_come_as_a_data_url(working, tech):
    _visit, job = working
    response = _client(tech.user).post(
        f"/api/workshop/jobs/{job.pk}/finding/",
        {"note": "排气管漏气", "photos": [_data_url()]},
        format="json",
    )
    assert response.status_code == 201, response.data
    (photo,) = FindingPhoto.objects.filter(finding_id=response.data["id"])
    assert photo.image.name.endswith(".jpg")


def test_a_finding_is_the_technicians_own_job_only(working, tech, make_staff):
    _visit, job = working
    url = f"/api/workshop/jobs/{job.pk}/finding/"
    assert _client(make_staff("advisor")).post(url, {"note": "x"}).status_code == 403
    other = make_technician(username="tech-other")
    refused = _client(other.user).post(url, {"note": "刹车盘有裂纹"}, format="json")
    assert refused.status_code == 400
    assert refused.data["non_field_errors"] == [f"Job {job} is dispatched to {tech}, not to you."]
    assert not Finding.objects.exists()


def test_bad_photos_are_refused_with_the_pages_words_and_nothing_is_saved(working, tech):
    _visit, job = working
    client = _client(tech.user)
    url = f"/api/workshop/jobs/{job.pk}/finding/"
    not_a_photo = client.post(
        url, {"note": "x", "photos": ["data:image/png;base64,bm90IGEgcGhvdG8="]}, format="json"
    )
    assert not_a_photo.status_code == 400
    assert not_a_photo.data == {"photos": ["This file is not a photo (JPEG, PNG, WebP or GIF)."]}
    text = SimpleUploadedFile("notes.png", b"plain text", content_type="image/png")
    as_file = client.post(url, {"note": "x", "photos": [text]}, format="multipart")
    assert as_file.status_code == 400
    assert as_file.data == {"photos": ["This file is not a photo (JPEG, PNG, WebP or GIF)."]}
    seven = client.post(url, {"note": "x", "photos": [_data_url()] * 7}, format="json")
    assert seven.status_code == 400
    assert seven.data == {"photos": ["At most 6 photos per finding."]}
    no_note = client.post(url, {"note": "  ", "photos": [_data_url()]}, format="json")
    assert no_note.status_code == 400 and list(no_note.data) == ["note"]
    assert not Finding.objects.exists() and not FindingPhoto.objects.exists()


def test_a_body_too_large_for_data_urls_is_a_413_not_a_server_error(working, tech, settings):
    _visit, job = working
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's 2.5 MB
    huge = "data:image/png;base64," + "A" * 3_000_000
    response = _client(tech.user).post(
        f"/api/workshop/jobs/{job.pk}/finding/", {"note": "x", "photos": [huge]}, format="json"
    )
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request is too large (at most 2.5 MB without files); "
        "send the photos as files (multipart)."
    }
    assert not Finding.objects.exists()


def test_findings_are_read_by_the_workshop_not_the_cashier(finding, make_staff):
    response = _client(make_staff("qc_inspector")).get(
        f"/api/workshop/findings/?visit={finding.visit_id}"
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.data["results"]] == [finding.pk]
    assert _client(make_staff("cashier")).get("/api/workshop/findings/").status_code == 403


# ---------------------------------------------------------------------------- proposal


def test_a_finding_becomes_additional_work(finding, tech):
    operation = LabourOperationFactory(standard_hours="0.75", price="180.00", work_type="repair")
    part = PartFactory(price="320.00")
    response = _client(tech.user).post(
        f"/api/workshop/findings/{finding.pk}/propose/",
        {
            "title": "更换前刹车片",
            "explanation": "刹车片过薄",
            "operations": [operation.pk],
            "parts": [part.pk],
            "safety_related": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    addition = Addition.objects.get(pk=response.data["id"])
    assert (addition.finding, addition.visit, addition.found_on) == (
        finding,
        finding.visit,
        finding.job,
    )
    assert addition.status == AdditionStatus.PROPOSED
    assert addition.price == Decimal("500.00")  # 180.00 labour + 320.00 part
    assert addition.extra_minutes == 45  # 0.75 h standard
    assert DueTask.objects.filter(kind=duties.ADDITION_CALL, assigned_to=finding.visit.advisor)


def test_a_proposal_without_work_is_refused_and_the_cashier_may_not_propose(finding, make_staff):
    url = f"/api/workshop/findings/{finding.pk}/propose/"
    assert _client(make_staff("cashier")).post(url, {"title": "x"}).status_code == 403
    refused = _client(make_staff("advisor")).post(url, {"title": "换刹车片"}, format="json")
    assert refused.status_code == 400
    assert refused.data == {"operations": ["Choose at least one operation or part."]}
    assert not Addition.objects.exists()


# ---------------------------------------------------------------------------- approval link


def test_the_advisor_sends_the_approval_link(proposed):
    advisor = proposed.visit.advisor
    response = _client(advisor).post(f"/api/workshop/additions/{proposed.pk}/send-link/")
    assert response.status_code == 200, response.data
    url = response.data["url"]
    assert url.startswith("http://testserver/workshop/approve/")
    assert response.data["addition"]["link_sent_at"] is not None
    task = DueTask.objects.get(kind=duties.ADDITION_LINK)
    assert task.payload["url"] == url and task.customer == proposed.visit.customer
    assert Addition.objects.get(pk=proposed.pk).link_sent_at is not None


def test_a_link_is_not_sent_for_a_withdrawn_proposal_nor_by_the_technician(proposed, tech):
    url = f"/api/workshop/additions/{proposed.pk}/send-link/"
    assert _client(tech.user).post(url).status_code == 403
    advisor = proposed.visit.advisor
    additions.addition_withdraw(addition=proposed, actor=advisor, reason="客户已在别处更换")
    refused = _client(advisor).post(url)
    assert refused.status_code == 400
    assert refused.data == {"non_field_errors": ["This proposal was withdrawn."]}
    assert not DueTask.objects.filter(kind=duties.ADDITION_LINK).exists()
    assert Addition.objects.get(pk=proposed.pk).link_sent_at is None


# ---------------------------------------------------------------------------- promise


def test_the_advisor_moves_the_promise_and_the_customer_is_told(working):
    visit, _job = working
    new_time = (timezone.now() + timedelta(hours=5)).replace(microsecond=0)
    response = _client(visit.advisor).post(
        f"/api/workshop/visits/{visit.pk}/promise/",
        {"promised_at": new_time.isoformat(), "reason": "配件晚到一小时"},
        format="json",
    )
    assert response.status_code == 200, response.data
    visit.refresh_from_db()
    assert visit.promised_at == new_time
    assert visit.history.first().history_change_reason == "配件晚到一小时"
    notice = DueTask.objects.get(kind=duties.PROMISE_NOTICE)
    assert notice.payload["reason"] == "配件晚到一小时"
    assert datetime.fromisoformat(notice.payload["promised_at"]) == new_time


def test_a_promise_in_the_past_is_refused_and_the_controller_may_not_move_it(working, controller):
    visit, _job = working
    before = Visit.objects.get(pk=visit.pk).promised_at
    url = f"/api/workshop/visits/{visit.pk}/promise/"
    later = (timezone.now() + timedelta(hours=5)).isoformat()
    assert _client(controller).post(url, {"promised_at": later, "reason": "x"}).status_code == 403
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    refused = _client(visit.advisor).post(
        url, {"promised_at": past, "reason": "配件晚到"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.data == {"promised_at": ["The new time is in the past."]}
    in_chinese = _client(visit.advisor, "zh-hans").post(
        url, {"promised_at": past, "reason": "配件晚到"}, format="json"
    )
    assert in_chinese.data == {
        "promised_at": ["新的时间已经过去。"]
    }  # the page's words, translated
    assert Visit.objects.get(pk=visit.pk).promised_at == before
    assert not DueTask.objects.filter(kind=duties.PROMISE_NOTICE).exists()


# ------------------------------------------------------------ jobs of a just-signed order


def test_the_jobs_of_a_just_signed_order_are_listed_for_dispatch(controller, tech, bay):
    """As the board page, the API's reads make a signed order's labour lines into jobs: a
    client learns the ids to dispatch without anyone opening the board page first."""
    visit = make_signed_visit(jobs=2, promised_in=timedelta(hours=3))
    assert not Job.objects.filter(visit=visit).exists()
    client = _client(controller)
    response = client.get("/api/workshop/jobs/", {"visit": visit.pk})
    assert response.status_code == 200
    ids = [job["id"] for job in response.json()["results"]]
    assert len(ids) == 2 and set(ids) == set(
        Job.objects.filter(visit=visit).values_list("pk", flat=True)
    )
    response = client.post(
        "/api/workshop/jobs/dispatch/",
        {"visit": visit.pk, "jobs": ids, "technician": tech.pk, "bay": bay.pk},
        format="json",
    )
    assert response.status_code == 200
    assert {job["technician"] for job in response.json()} == {tech.pk}

    other = make_signed_visit(jobs=1, promised_in=timedelta(hours=3))
    assert client.get("/api/workshop/board/").status_code == 200
    assert Job.objects.filter(visit=other).count() == 1


def test_one_photo_over_the_per_file_limit_is_a_400_on_photos_in_the_pages_words(
    working, tech, monkeypatch, settings
):
    """The per-file rule (dealership.api.PhotoField): a file part or a data URL over
    MAX_PHOTO_BYTES is refused on `photos` with the page's message, before any decoding
    (the body itself is within the request limit, so this is not the 413)."""
    from dealership import images

    monkeypatch.setattr(images, "MAX_PHOTO_BYTES", 1024 * 1024)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
    _visit, job = working
    url = f"/api/workshop/jobs/{job.pk}/finding/"
    too_large = {"photos": ["A photo may be at most 1 MB; this one is 1.1 MB."]}
    big = SimpleUploadedFile("big.png", bytes(1_200_000), content_type="image/png")
    as_file = _client(tech.user).post(url, {"note": "x", "photos": [big]}, format="multipart")
    assert as_file.status_code == 400
    assert as_file.json() == too_large
    big_url = "data:image/png;base64," + "A" * 1_500_000
    as_url = _client(tech.user).post(url, {"note": "x", "photos": [big_url]}, format="json")
    assert as_url.status_code == 400
    assert as_url.json() == too_large
    assert not Finding.objects.exists() and not FindingPhoto.objects.exists()
