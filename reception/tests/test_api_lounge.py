"""The lounge display's link through the API (reception.api_lounge, issue 18.1): the
service manager makes it (the key in that answer only), reads its settings, makes a new
one (the old address stops working) and switches it off, as on the settings page."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from dealership.tokens import api_token_issue
from reception.models import LoungeDisplay

pytestmark = pytest.mark.django_db

LOUNGE = "/api/reception/lounge-display/"


def _api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user, name='dms')[1]}")
    return client


def _tv_path(body) -> str:
    return urlsplit(body["url"]).path


def test_the_manager_makes_rotates_and_switches_off_the_lounge_link(make_staff):
    manager = make_staff("service_manager")
    api = _api(manager)
    assert api.get(LOUNGE).json() == {"active": False, "display": None}

    made = api.post(LOUNGE, {"show_all_cars": True}, format="json")
    assert made.status_code == 201, made.content
    assert "no-store" in made["Cache-Control"]
    first = made.json()
    assert len(first["key"]) >= 32 and first["url"].endswith(f"/{first['key']}/")
    assert first["show_all_cars"] is True and first["created_by"] == str(manager)
    tv = Client()
    assert tv.get(_tv_path(first)).status_code == 200

    state = api.get(LOUNGE)
    assert state.json()["active"] and state.json()["display"]["id"] == first["id"]
    assert first["key"] not in state.content.decode()

    second = api.post(LOUNGE, {}, format="json").json()
    assert second["show_all_cars"] is False and second["key"] != first["key"]
    assert tv.get(_tv_path(first)).status_code == 404
    assert tv.get(_tv_path(second)).status_code == 200
    assert LoungeDisplay.objects.filter(active=True).count() == 1

    off = api.post(f"{LOUNGE}switch-off/")
    assert off.json() == {"switched_off": 1, "detail": "The lounge link is switched off."}
    assert tv.get(_tv_path(second)).status_code == 404
    assert api.get(LOUNGE).json() == {"active": False, "display": None}
    again = api.post(f"{LOUNGE}switch-off/")
    assert again.json() == {"switched_off": 0, "detail": "No lounge link is in use."}


def test_only_the_manager_and_bad_input_is_a_400(make_staff):
    for role in ("advisor", "workshop_controller", "cashier"):
        api = _api(make_staff(role))
        assert api.get(LOUNGE).status_code == 403
        assert api.post(LOUNGE, {}, format="json").status_code == 403
        assert api.post(f"{LOUNGE}switch-off/").status_code == 403
    bad = _api(make_staff("service_manager")).post(
        LOUNGE, {"show_all_cars": "perhaps"}, format="json"
    )
    assert bad.status_code == 400 and "show_all_cars" in bad.json()
    assert not LoungeDisplay.objects.exists()
