"""The check-in API refuses a call it cannot serve in the caller's language, by field."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "appointment", "vehicle"),
    [
        ("en", "No such appointment.", "Give the vehicle or the appointment."),
        ("zh-hans", "没有这个预约。", "请提供车辆或预约。"),
    ],
)
def test_a_check_in_without_a_known_booking_or_car_is_refused_by_field_in_the_callers_language(
    make_staff, language, appointment, vehicle
):
    client = APIClient()
    client.force_authenticate(make_staff("advisor"))
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    unknown = client.post(
        "/api/reception/visits/", {"appointment": 999999}, format="json", **headers
    )
    assert unknown.status_code == 400 and unknown.json()["appointment"] == [appointment]
    neither = client.post("/api/reception/visits/", {}, format="json", **headers)
    assert neither.status_code == 400 and neither.json()["vehicle"] == [vehicle]
