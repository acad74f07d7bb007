"""Help at the desk and the roster week through the API (workshop.api_desk_roster, issue
18.1): each call with a real API token; the right role, the wrong one (403), an unknown id
(404), bad input (400 by field, nothing changed) and the same records as the pages."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from appointments.tests.factories import days_ahead, make_workshop
from dealership.models import Technician, TimelineEvent
from dealership.tokens import api_token_issue
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory
from workshop.models import DeskCall, RosterEntry

from .factories import make_technician

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user, name='dms')[1]}")
    return client


# ---------------------------------------------------------------- help at the desk


def test_the_advisor_asks_and_the_controller_answers_as_on_the_pages(client, make_staff):
    advisor, controller = make_staff("advisor"), make_staff("workshop_controller")
    by_page, by_api = VisitFactory(), VisitFactory()
    client.force_login(advisor)
    client.post(reverse("workshop:desk_call_ask", args=[by_page.pk]), {"note": "异响"})
    asked = _api(advisor).post(
        f"/api/workshop/visits/{by_api.pk}/ask-desk/", {"note": "异响"}, format="json"
    )
    assert asked.status_code == 201, asked.content
    assert asked.json()["detail"] == "The workshop controller has been asked for a technician."
    page_call, api_call = DeskCall.objects.get(visit=by_page), DeskCall.objects.get(visit=by_api)
    assert (api_call.note, api_call.asked_by) == (page_call.note, page_call.asked_by)
    assert TimelineEvent.objects.filter(kind="workshop.desk_call_asked").count() == 2

    api = _api(controller)
    listed = api.get("/api/workshop/desk-calls/")
    assert [row["id"] for row in listed.json()] == [page_call.pk, api_call.pk]
    assert listed.json()[1]["waiting_minutes"] == 0

    technician = make_technician()
    answered = api.post(
        f"/api/workshop/desk-calls/{api_call.pk}/answer/",
        {"technician": technician.pk},
        format="json",
    )
    assert answered.status_code == 200, answered.content
    assert answered.json()["detail"] == f"{technician.name} is on the way to the desk."
    api_call.refresh_from_db()
    assert api_call.technician == technician and api_call.answered_by == controller
    assert [row["id"] for row in api.get("/api/workshop/desk-calls/").json()] == [page_call.pk]
    again = api.post(
        f"/api/workshop/desk-calls/{api_call.pk}/answer/",
        {"technician": technician.pk},
        format="json",
    )
    assert again.status_code == 400
    assert again.json() == {
        "non_field_errors": [f"Already answered: {technician.name} went to the desk."]
    }


def test_desk_refusals_by_field_role_and_unknown_ids(make_staff):
    advisor, controller = make_staff("advisor"), make_staff("workshop_controller")
    visit, gone = VisitFactory(), VisitFactory(status=VisitStatus.DELIVERED)
    api = _api(advisor)
    long_note = api.post(
        f"/api/workshop/visits/{visit.pk}/ask-desk/", {"note": "长" * 201}, format="json"
    )
    assert long_note.status_code == 400 and list(long_note.json()) == ["note"]
    left = api.post(f"/api/workshop/visits/{gone.pk}/ask-desk/", {}, format="json")
    assert left.status_code == 400
    assert "no longer at the store" in left.json()["non_field_errors"][0]
    assert api.post("/api/workshop/visits/999999999/ask-desk/", {}).status_code == 404
    assert not DeskCall.objects.exists()
    assert _api(controller).post(f"/api/workshop/visits/{visit.pk}/ask-desk/").status_code == 403

    call = DeskCall.objects.create(visit=visit, asked_by=advisor)
    refused = api.post(f"/api/workshop/desk-calls/{call.pk}/answer/", {"technician": 1})
    assert refused.status_code == 403
    inactive = make_technician()
    Technician.objects.filter(pk=inactive.pk).update(active=False)
    ctl = _api(controller)
    for value in (inactive.pk, 999999999, "x", None):
        bad = ctl.post(
            f"/api/workshop/desk-calls/{call.pk}/answer/", {"technician": value}, format="json"
        )
        assert bad.status_code == 400 and list(bad.json()) == ["technician"], bad.json()
    assert ctl.post("/api/workshop/desk-calls/999999999/answer/", {}).status_code == 404
    assert ctl.get("/api/workshop/desk-calls/999999999/").status_code == 404
    call.refresh_from_db()
    assert call.answered_at is None
    assert _api(make_staff("technician")).get("/api/workshop/desk-calls/").status_code == 403


# ---------------------------------------------------------------- the roster week


def test_the_controller_reads_sets_and_clears_a_cell_as_on_the_page(client, make_staff):
    controller = make_staff("workshop_controller")
    make_workshop()
    first, second = Technician.objects.filter(work_type="repair").order_by("pk")[:2]
    day = days_ahead(8)
    client.force_login(controller)
    page = {"day": day.isoformat(), "kind": "part_day", "hours_off": "4", "note": "家长会"}
    assert client.post(reverse("workshop:roster"), {**page, "technician": first.pk}).status_code
    api = _api(controller)
    saved = api.post("/api/workshop/roster/", {**page, "technician": second.pk}, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["detail"] == "Roster saved." and saved.json()["hours_off"] == "4.00"
    entries = RosterEntry.objects.filter(day=day).order_by("technician_id")
    assert [(e.kind, e.hours_off, e.note, e.updated_by) for e in entries] == [
        ("part_day", Decimal("4.00"), "家长会", controller)
    ] * 2

    week = api.get("/api/workshop/roster/", {"week": day.isoformat()})
    assert week.status_code == 200
    body = week.json()
    assert body["days"][day.weekday()] == day.isoformat()
    rows = {row["technician"]: row for row in body["rows"]}
    assert set(rows) == set(Technician.objects.filter(active=True).values_list("pk", flat=True))
    cell = rows[second.pk]["cells"][day.weekday()]
    assert cell["kind"] == "part_day" and cell["hours_off"] == "4.00" and cell["note"] == "家长会"

    cleared = api.post(
        "/api/workshop/roster/clear/",
        {"technician": second.pk, "day": day.isoformat()},
        format="json",
    )
    assert cleared.json() == {"cleared": True, "detail": "Day cleared: full hours again."}
    assert list(RosterEntry.objects.filter(day=day).values_list("technician", flat=True)) == [
        first.pk
    ]
    again = api.post(
        "/api/workshop/roster/clear/",
        {"technician": second.pk, "day": day.isoformat()},
        format="json",
    )
    assert again.json()["cleared"] is False


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "holiday"}, "kind"),
        ({"kind": "part_day"}, "hours_off"),
        ({"kind": "part_day", "hours_off": "8"}, "hours_off"),
        ({"kind": "part_day", "hours_off": "30"}, "hours_off"),
        ({"kind": "leave", "note": "x" * 201}, "note"),
        ({"kind": "leave", "day": "2020-01-01"}, "day"),
        ({"kind": "leave", "technician": 999999999}, "technician"),
    ],
)
def test_bad_roster_input_is_a_400_by_field_and_changes_nothing(make_staff, data, field):
    make_workshop()
    technician = Technician.objects.filter(work_type="repair").first()
    body = {"technician": technician.pk, "day": days_ahead(3).isoformat(), **data}
    response = _api(make_staff("service_manager")).post(
        "/api/workshop/roster/", body, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == [field], response.json()
    assert not RosterEntry.objects.exists()


def test_the_roster_is_the_controllers_and_the_managers(make_staff):
    advisor = _api(make_staff("advisor"))
    assert advisor.get("/api/workshop/roster/").status_code == 403
    assert advisor.post("/api/workshop/roster/clear/", {}).status_code == 403
    manager = _api(make_staff("service_manager"))
    assert manager.get("/api/workshop/roster/").status_code == 200
    for week in ("next week", "1999-01-01"):
        bad = manager.get("/api/workshop/roster/", {"week": week})
        assert bad.status_code == 400 and list(bad.json()) == ["week"]
