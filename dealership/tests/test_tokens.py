"""API tokens (issue 18.2): issued, named, renamed and revoked by their owner on a page;
expiring by the store's rule; the last use recorded; every write attributed in history."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dealership.models import ApiToken, Customer
from dealership.rules import rule_set
from dealership.tests.factories import CustomerFactory
from dealership.tokens import (
    api_token_issue,
    api_token_rename,
    api_token_revoke,
    history_reason_with_token,
)

pytestmark = pytest.mark.django_db


def _api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_user_holds_several_named_tokens_and_only_a_digest_is_kept(make_staff):
    user = make_staff("advisor")
    first, first_key = api_token_issue(user=user, name="DMS sync")
    second, second_key = api_token_issue(user=user, name="  WeChat  ")
    assert [t.name for t in ApiToken.objects.filter(user=user)] == ["WeChat", "DMS sync"]
    assert first_key != second_key and len(first_key) == 40
    assert first.prefix == first_key[:8]
    assert first_key not in first.digest  # the key itself is not stored
    assert _api(first_key).get("/api/customers/").status_code == 200
    assert _api(second_key).get("/api/customers/").status_code == 200


def test_a_token_expires_after_the_stores_rule(make_staff):
    rule_set("api.token_days", 30)
    token, key = api_token_issue(user=make_staff("advisor"), name="DMS")
    assert token.expires_at - token.created_at == timedelta(days=30)
    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save(update_fields=["expires_at"])
    response = _api(key).get("/api/customers/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_default_lifetime_is_ninety_days(make_staff):
    token, _key = api_token_issue(user=make_staff("advisor"), name="DMS")
    assert token.expires_at - token.created_at == timedelta(days=90)


def test_a_revoked_token_and_an_unknown_key_get_401(make_staff):
    user = make_staff("advisor")
    token, key = api_token_issue(user=user, name="DMS")
    api_token_revoke(token=token, user=user)
    assert _api(key).get("/api/customers/").status_code == 401
    assert _api("0" * 40).get("/api/customers/").status_code == 401
    assert _api("a b").get("/api/customers/").status_code == 401


def test_a_deactivated_users_token_gets_401(make_staff):
    user = make_staff("advisor")
    _token, key = api_token_issue(user=user, name="DMS")
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert _api(key).get("/api/customers/").status_code == 401


def test_the_last_use_is_recorded(make_staff):
    token, key = api_token_issue(user=make_staff("advisor"), name="DMS")
    assert token.last_used_at is None
    before = timezone.now()
    assert _api(key).get("/api/customers/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at >= before


def test_a_token_has_its_users_role(make_staff):
    _token, key = api_token_issue(user=make_staff("technician"), name="board")
    assert _api(key).get("/api/customers/").status_code == 403


def test_a_write_with_a_token_is_attributed_to_its_user_and_names_the_token(make_staff):
    user = make_staff("advisor")
    _token, key = api_token_issue(user=user, name="DMS sync")
    customer = CustomerFactory(name="李雷")
    response = _api(key).patch(f"/api/customers/{customer.pk}/", {"name": "李雷雷"}, format="json")
    assert response.status_code == 200, response.data
    entry = Customer.objects.get(pk=customer.pk).history.order_by("-history_id").first()
    assert entry.name == "李雷雷"
    assert entry.history_user == user
    assert entry.history_change_reason == "api-token:DMS sync"


def test_the_customer_page_history_names_the_token(client, make_staff):
    user = make_staff("advisor")
    _token, key = api_token_issue(user=user, name="DMS sync")
    customer = CustomerFactory(name="李雷")
    _api(key).patch(f"/api/customers/{customer.pk}/", {"name": "李雷雷"}, format="json")
    client.force_login(user)
    page = client.get(customer.get_absolute_url())
    assert page.context["history"][0].token == "DMS sync"
    assert "API 令牌“DMS sync”" in page.content.decode()  # the store's language, Chinese


def test_the_token_mark_keeps_within_the_reason_column():
    assert history_reason_with_token("", "DMS") == "api-token:DMS"
    assert history_reason_with_token("signed", "DMS") == "signed api-token:DMS"
    long = history_reason_with_token("x" * 100, "n" * 50)
    assert len(long) == 100 and long.endswith("api-token:" + "n" * 50)


def test_rename_and_revoke_only_ones_own_token(make_staff):
    owner, other = make_staff("advisor"), make_staff("advisor")
    token, _key = api_token_issue(user=owner, name="DMS")
    assert api_token_rename(token=token, user=owner, name="DMS nightly").name == "DMS nightly"
    with pytest.raises(ValidationError):
        api_token_rename(token=token, user=other, name="mine")
    with pytest.raises(ValidationError):
        api_token_revoke(token=token, user=other)
    api_token_revoke(token=token, user=owner)
    with pytest.raises(ValidationError):
        api_token_revoke(token=token, user=owner)
    token.refresh_from_db()
    assert token.name == "DMS nightly" and token.revoked_at is not None


def test_a_name_is_required_and_bounded(make_staff):
    user = make_staff("advisor")
    with pytest.raises(ValidationError) as blank:
        api_token_issue(user=user, name="   ")
    assert "name" in blank.value.message_dict
    with pytest.raises(ValidationError) as long:
        api_token_issue(user=user, name="x" * 51)
    assert "name" in long.value.message_dict
    assert not ApiToken.objects.exists()


def test_the_page_issues_shows_the_key_once_renames_and_revokes(client, make_staff):
    user = make_staff("cashier")
    client.force_login(user)
    page = client.get(reverse("api_tokens"))
    assert page.status_code == 200 and b"issue-token" in page.content
    issued = client.post(reverse("api_tokens"), {"name": "Invoice system"})
    assert issued.status_code == 200
    token = ApiToken.objects.get(user=user)
    key = issued.context["new_key"]
    assert key.startswith(token.prefix) and key.encode() in issued.content
    assert key.encode() not in client.get(reverse("api_tokens")).content  # shown once
    client.post(reverse("api_token_rename", args=[token.pk]), {"name": "Invoices"})
    token.refresh_from_db()
    assert token.name == "Invoices"
    client.post(reverse("api_token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert _api(key).get("/api/delivery/settlements/").status_code == 401


def test_the_page_shows_a_refused_name_and_saves_nothing(client, make_staff):
    user = make_staff("advisor")
    client.force_login(user)
    response = client.post(reverse("api_tokens"), {"name": "x" * 51})
    assert response.status_code == 200 and response.context["form"].errors["name"]
    token, _key = api_token_issue(user=user, name="DMS")
    renamed = client.post(reverse("api_token_rename", args=[token.pk]), {"name": ""}, follow=True)
    assert [str(m) for m in renamed.context["messages"]]
    token.refresh_from_db()
    assert token.name == "DMS" and ApiToken.objects.count() == 1


def test_nobody_renames_or_revokes_another_users_token_through_the_page(client, make_staff):
    token, _key = api_token_issue(user=make_staff("advisor"), name="DMS")
    client.force_login(make_staff("service_manager"))
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    assert (
        client.post(reverse("api_token_rename", args=[token.pk]), {"name": "x"}).status_code == 404
    )
    assert b"DMS" not in client.get(reverse("api_tokens")).content
    token.refresh_from_db()
    assert token.revoked_at is None and token.name == "DMS"


def test_the_page_needs_a_log_in(client):
    response = client.get(reverse("api_tokens"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_integration_account_gets_its_token_from_the_command(make_staff, capsys):
    account = make_staff("advisor", username="dms")
    account.set_unusable_password()  # it cannot log in to the pages
    account.save(update_fields=["password"])
    call_command("api_token_issue", "dms", "DMS sync")
    key = capsys.readouterr().out.strip()
    assert ApiToken.objects.get(user=account).name == "DMS sync"
    assert _api(key).get("/api/customers/").status_code == 200
