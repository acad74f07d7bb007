"""Webhook subscriptions and the caller's own API tokens through the API
(dealership.api_integrations), each call with a real API token as an integration sends it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dealership.due import due_tasks_dispatch
from dealership.events import Event, publish
from dealership.models import ApiToken, WebhookDelivery, WebhookSubscription
from dealership.tests.test_webhooks import Receiver
from dealership.tokens import api_token_issue
from dealership.webhooks import subscription_create

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/integrations/webhooks/"
DELIVERIES = "/api/integrations/webhook-deliveries/"
TOKENS = "/api/integrations/tokens/"
PUBLIC_URL = "https://93.184.215.14/hook"


def _api(user, name="integration") -> APIClient:
    client = APIClient()
    key = api_token_issue(user=user, name=name)[1]
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def manager(make_staff):
    return make_staff("service_manager")


@pytest.fixture
def manager_api(manager):
    return _api(manager)


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.release.set()
    receiver.server.shutdown()
    receiver.server.server_close()


# ---------------------------------------------------------------- webhooks


def test_the_manager_subscribes_and_sees_the_secret_only_in_that_answer(manager_api, settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    made = manager_api.post(
        WEBHOOKS, {"url": PUBLIC_URL, "events": ["visit.ready", "visit.settled"]}, format="json"
    )
    assert made.status_code == 201, made.content
    body = made.json()
    subscription = WebhookSubscription.objects.get()
    assert body["secret"] == subscription.secret and len(body["secret"]) == 64
    assert body["events"] == ["visit.ready", "visit.settled"] and body["active"]
    listed = manager_api.get(WEBHOOKS)
    one = manager_api.get(f"{WEBHOOKS}{subscription.pk}/")
    for answer in (listed, one):
        assert answer.status_code == 200
        assert subscription.secret not in answer.content.decode()
    assert [row["url"] for row in listed.json()["results"]] == [PUBLIC_URL]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://dms.example.com/hook", "events": ["visit.ready"]}, "url"),
        ({"url": "https://10.0.0.5/hook", "events": ["visit.ready"]}, "url"),
        ({"url": "https://localhost/hook", "events": ["visit.ready"]}, "url"),
        ({"url": "not an address", "events": ["visit.ready"]}, "url"),
        ({"url": "https://x.example.com/" + "a" * 500, "events": ["visit.ready"]}, "url"),
        ({"url": PUBLIC_URL, "events": ["visit.stolen"]}, "events"),
        ({"url": PUBLIC_URL, "events": []}, "events"),
        ({"url": PUBLIC_URL}, "events"),
    ],
)
def test_bad_subscriptions_are_a_400_by_field_and_make_nothing(manager_api, settings, body, field):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    response = manager_api.post(WEBHOOKS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not WebhookSubscription.objects.exists()


def test_a_private_address_is_refused_with_the_pages_words(manager_api, settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    response = manager_api.post(
        WEBHOOKS,
        {"url": "https://127.0.0.1/hook", "events": ["visit.ready"]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.json()["url"] == [
        "This address leads into a private network (127.0.0.1): events go only to public addresses."
    ]


def test_the_manager_edits_a_subscription_and_the_secret_stays(manager_api, manager, settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    subscription, secret = subscription_create(
        url=PUBLIC_URL, events=["visit.ready"], actor=manager
    )
    url = f"{WEBHOOKS}{subscription.pk}/"
    paused = manager_api.patch(url, {"active": False, "events": ["visit.settled"]}, format="json")
    assert paused.status_code == 200, paused.content
    assert (paused.json()["active"], paused.json()["events"]) == (False, ["visit.settled"])
    refused = manager_api.patch(url, {"url": "https://192.168.0.9/hook"}, format="json")
    assert refused.status_code == 400 and "url" in refused.json()
    subscription.refresh_from_db()
    assert (subscription.url, subscription.active, subscription.secret) == (
        PUBLIC_URL,
        False,
        secret,
    )
    assert manager_api.patch(f"{WEBHOOKS}999999/", {"active": True}).status_code == 404


def test_rotating_the_secret_answers_the_new_one_once(manager_api, manager):
    subscription, old = subscription_create(url=PUBLIC_URL, events=["visit.ready"], actor=manager)
    response = manager_api.post(f"{WEBHOOKS}{subscription.pk}/rotate-secret/")
    assert response.status_code == 200
    body = response.json()
    subscription.refresh_from_db()
    assert body["secret"] == subscription.secret != old
    assert subscription.previous_secret == old
    assert body["previous_secret_until"] is not None
    assert subscription.secret not in manager_api.get(WEBHOOKS).content.decode()
    assert manager_api.post(f"{WEBHOOKS}999999/rotate-secret/").status_code == 404


def test_deliveries_are_listed_with_their_state_and_a_dead_letter_is_replayed(
    receiver, manager, manager_api, django_capture_on_commit_callbacks, eager
):
    subscription, _secret = subscription_create(
        url=receiver.url, events=["visit.ready"], actor=manager
    )
    subscription_create(url=receiver.url, events=["visit.settled"], actor=manager)
    receiver.script["visit.ready"] = ["410"]  # the receiver refuses it for good
    with django_capture_on_commit_callbacks(execute=True):
        publish(Event.VISIT_READY, visit_id=3, data={})
        publish(Event.VISIT_SETTLED, visit_id=4, data={})
    with django_capture_on_commit_callbacks(execute=True):
        due_tasks_dispatch(now=timezone.now())
    dead = WebhookDelivery.objects.get(subscription=subscription)

    listed = manager_api.get(DELIVERIES, {"subscription": subscription.pk})
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert (row["id"], row["status"], row["response_status"], row["attempts"]) == (
        dead.pk,
        "dead",
        410,
        1,
    )
    assert "HTTP 410" in row["last_error"]
    assert len(manager_api.get(DELIVERIES).json()["results"]) == 2
    assert manager_api.get(DELIVERIES, {"subscription": "x"}).status_code == 400

    replayed = manager_api.post(f"{DELIVERIES}{dead.pk}/replay/")
    assert replayed.status_code == 200
    assert (replayed.json()["status"], replayed.json()["replays"]) == ("sending", 1)
    # On its way again: a second replay is refused with the page's words.
    again = manager_api.post(f"{DELIVERIES}{dead.pk}/replay/", HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 400
    assert again.json()["non_field_errors"] == [
        "This event is still on its way; it will be sent without a replay."
    ]
    with django_capture_on_commit_callbacks(execute=True):
        due_tasks_dispatch(now=timezone.now() + timedelta(minutes=1))
    assert manager_api.get(f"{DELIVERIES}{dead.pk}/").json()["status"] == "acknowledged"
    assert manager_api.post(f"{DELIVERIES}999999/replay/").status_code == 404


@pytest.mark.parametrize("role", ["advisor", "cashier", "customer_care", "technician"])
def test_other_roles_may_not_use_the_webhooks_api(make_staff, manager, role):
    subscription, _secret = subscription_create(
        url=PUBLIC_URL, events=["visit.ready"], actor=manager
    )
    api = _api(make_staff(role))
    assert api.get(WEBHOOKS).status_code == 403
    assert api.get(DELIVERIES).status_code == 403
    made = api.post(WEBHOOKS, {"url": PUBLIC_URL, "events": ["visit.ready"]}, format="json")
    assert made.status_code == 403
    rotate = api.post(f"{WEBHOOKS}{subscription.pk}/rotate-secret/")
    assert rotate.status_code == 403
    assert WebhookSubscription.objects.count() == 1
    assert WebhookSubscription.objects.get().previous_secret == ""


def test_anonymous_gets_401():
    assert APIClient().get(WEBHOOKS).status_code == 401
    assert APIClient().post(TOKENS, {"name": "x"}).status_code == 401


# ---------------------------------------------------------------- the caller's tokens


@pytest.mark.parametrize("role", ["technician", "cashier", "service_manager"])
def test_a_staff_member_issues_lists_and_revokes_their_own_tokens(make_staff, role):
    user = make_staff(role)
    api = _api(user, name="first")
    issued = api.post(TOKENS, {"name": "DMS nightly"}, format="json")
    assert issued.status_code == 201, issued.content
    body = issued.json()
    key = body["key"]
    assert body["name"] == "DMS nightly" and body["state"] == "active"
    assert key.startswith(body["prefix"]) and len(key) == 40

    listed = api.get(TOKENS)
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [row["name"] for row in rows] == ["DMS nightly", "first"]
    assert key not in listed.content.decode() and "digest" not in listed.content.decode()

    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert fresh.get(TOKENS).status_code == 200  # the new key opens the API

    revoked = api.post(f"{TOKENS}{body['id']}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    assert fresh.get(TOKENS).status_code == 401
    twice = api.post(f"{TOKENS}{body['id']}/revoke/")
    assert twice.status_code == 400 and "non_field_errors" in twice.json()


@pytest.mark.parametrize(("name", "status"), [("", 400), ("   ", 400), ("长" * 51, 400)])
def test_a_bad_token_name_is_a_400_by_field(make_staff, name, status):
    user = make_staff("advisor")
    api = _api(user)
    response = api.post(TOKENS, {"name": name}, format="json")
    assert response.status_code == status
    assert "name" in response.json()
    assert ApiToken.objects.filter(user=user).count() == 1  # only the caller's own


def test_another_persons_token_is_not_found_and_stays(make_staff):
    owner = make_staff("advisor")
    theirs, their_key = api_token_issue(user=owner, name="theirs")
    api = _api(make_staff("advisor"))
    assert "theirs" not in api.get(TOKENS).content.decode()
    assert api.get(f"{TOKENS}{theirs.pk}/").status_code == 404
    assert api.post(f"{TOKENS}{theirs.pk}/revoke/").status_code == 404
    assert api.post(f"{TOKENS}999999/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    owner_client = APIClient()
    owner_client.credentials(HTTP_AUTHORIZATION=f"Token {their_key}")
    assert owner_client.get(TOKENS).status_code == 200
