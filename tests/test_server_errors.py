"""Inputs that ended in a 500 are refused with a 400 and a message (issue 14, item 7).

Pages answer 400 with the message on the page; the API answers JSON, also on an error
nobody expected.
"""

import logging

import pytest
from django.urls import reverse

from dealership.models import DueTask
from followup import duties as K
from followup.models import Survey
from followup.tests.factories import delivered_visit

pytestmark = pytest.mark.django_db

FAR_DATES = ["0001-01-15", "9999-12-15"]
REPORT_PAGES = ["/reports/", "/reports/report.pdf", "/reports/export.xlsx", "/reports/export.csv"]


@pytest.fixture
def manager_client(client, make_staff):
    client.force_login(make_staff("service_manager"))
    return client


@pytest.mark.parametrize("day", FAR_DATES)
@pytest.mark.parametrize("period", ["month", "week", "day"])
@pytest.mark.parametrize("path", REPORT_PAGES)
def test_a_report_of_a_far_date_is_refused_with_a_message(manager_client, path, period, day):
    response = manager_client.get(path, {"period": period, "date": day})
    assert response.status_code == 400
    assert "2000-01-01" in response.content.decode()  # says which dates a report covers


@pytest.mark.parametrize("day", FAR_DATES)
@pytest.mark.parametrize("period", ["month", "week", "day"])
def test_the_report_api_refuses_a_far_date_in_json(manager_client, period, day):
    response = manager_client.get("/api/reports/figures/", {"period": period, "date": day})
    assert response.status_code == 400
    assert "date" in response.json()


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_the_appointment_board_of_a_far_day_is_refused_with_a_message(client, make_staff, day):
    client.force_login(make_staff("advisor"))
    response = client.get(reverse("appointments:board"), {"day": day})
    assert response.status_code == 400
    assert "2000-01-01" in response.content.decode()


GOOD = {"overall": 9, "explanation": 9, "on_time": 10, "car_clean": 8, "would_recommend": 9}


@pytest.mark.parametrize(
    ("survey", "field"),
    [
        ({**GOOD, "customer_words": 42}, "customer_words"),
        ({**GOOD, "customer_words": ["很好"]}, "customer_words"),
        ({**GOOD, "customer_words": "很好\x00"}, "customer_words"),
        ({**GOOD, "overall": "9" * 5000}, "overall"),
    ],
)
def test_the_call_outcome_api_refuses_bad_survey_answers(client, make_staff, survey, field):
    care = make_staff("customer_care")
    task = DueTask.objects.get(kind=K.CARE_CALL, subject_id=delivered_visit().pk)
    client.force_login(care)
    response = client.post(
        f"/api/followup/calls/{task.pk}/outcome/",
        {"outcome": "surveyed", "survey": survey},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Survey.objects.exists()


def test_an_unexpected_api_error_is_a_json_500_and_logged(manager_client, monkeypatch, caplog):
    from reports import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(selectors, "report_build", broken)
    with caplog.at_level(logging.ERROR):
        response = manager_client.get("/api/reports/figures/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json() and "disk on fire" not in response.json()["detail"]
    assert any("disk on fire" in (record.exc_text or "") for record in caplog.records)


@pytest.mark.parametrize("seen", ["<script>", "9" * 5000, "-1", "１"])
def test_not_reached_with_a_bad_attempt_count_is_refused_with_a_message(client, make_staff, seen):
    """Found by the page-form fuzzer: the hidden attempt count was read with int()."""
    care = make_staff("customer_care")
    task = DueTask.objects.get(kind=K.CARE_CALL, subject_id=delivered_visit().pk)
    client.force_login(care)
    response = client.post(
        reverse("followup:call_not_reached", args=[task.pk]), {"attempts_seen": seen}, follow=True
    )
    assert response.status_code == 200
    assert "请刷新列表" in response.content.decode()  # "… Reload the list."
    task.refresh_from_db()
    assert task.payload.get("attempts", []) == [] and task.state == "pending"


@pytest.mark.parametrize("value", ["1" + "0" * 30, "NaN", "Infinity"])
def test_a_target_too_large_is_refused_next_to_it_and_nothing_is_saved(manager_client, value):
    """Found by the page-form fuzzer: 10^30 overflowed the column (a 500), and the targets
    before it in the form were saved already."""
    from reports.figures import FIGURES
    from reports.models import ReportTarget

    first, second = list(FIGURES)[:2]
    response = manager_client.post(
        "/reports/targets/?date=2026-11-01", {first: "100", second: value}
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode() or "error" in response.content.decode()
    assert not ReportTarget.objects.exists()


def test_an_api_body_over_the_request_limit_is_a_413_not_a_500(client, make_staff, settings):
    """A JSON body bigger than DATA_UPLOAD_MAX_MEMORY_SIZE is refused in JSON, as too large."""
    client.force_login(make_staff("advisor"))
    body = '{"note": "' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + '"}'
    response = client.post("/api/customers/", body, content_type="application/json")
    assert response.status_code == 413
    assert "detail" in response.json()
