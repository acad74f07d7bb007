"""Signing a phone in to the portal: the signed link, the one-time code, the session."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dealership.links import customer_link_revoke_by_staff
from dealership.models import CustomerLink, Message
from dealership.tests.factories import CustomerFactory
from portal import services
from portal.models import SignInCode

pytestmark = pytest.mark.django_db

MOBILE = "13912345678"


def _code_from(outbox) -> str:
    return re.search(r"\b(\d{6})\b", outbox[-1]["text"]).group(1)


def _without_csrf(response) -> str:
    return re.sub(r'(value="|CSRFToken": ")[A-Za-z0-9]{64}', "", response.content.decode())


def _request_code(client, mobile=MOBILE):
    return client.post(reverse("portal:sign_in"), {"mobile": mobile})


def test_a_code_sent_to_the_mobile_on_file_signs_the_phone_in(client, sms):
    customer = CustomerFactory(mobile=MOBILE)
    response = _request_code(client)
    assert response.status_code == 302 and response["Location"] == reverse("portal:sign_in_code")
    assert len(sms) == 1 and sms[0]["to"] == MOBILE
    code = _code_from(sms)
    stored = SignInCode.objects.get(customer=customer)
    assert code not in stored.code_hash  # only the hash is kept
    assert stored.expires_at - stored.created_at == timedelta(minutes=5)

    response = client.post(reverse("portal:sign_in_code"), {"code": code})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert client.session[services.SESSION_CUSTOMER] == customer.pk
    assert client.session[services.SESSION_SIGNED_IN_AT]
    assert client.session.get_expiry_age() == 30 * 86400
    assert client.get(reverse("portal:home")).status_code == 200


def test_the_store_keeps_the_message_but_never_the_code(client, sms):
    from dealership.models import TimelineEvent

    customer = CustomerFactory(mobile=MOBILE)
    _request_code(client)
    code = _code_from(sms)
    stored = Message.objects.get(customer=customer, template="portal_code")
    assert code not in stored.body and "••••••" in stored.body
    lines = TimelineEvent.objects.filter(customer=customer, kind="message.sent")
    assert lines.count() == 1 and code not in lines.get().summary


def test_a_code_is_single_use(client, sms):
    CustomerFactory(mobile=MOBILE)
    _request_code(client)
    code = _code_from(sms)
    assert services.portal_code_verify(mobile=MOBILE, code=code, ip="10.0.0.1")
    with pytest.raises(services.DomainError) as refused:
        services.portal_code_verify(mobile=MOBILE, code=code, ip="10.0.0.1")
    assert refused.value.error_dict["code"][0].code == "wrong_code"


def test_an_expired_code_is_refused(client, sms):
    CustomerFactory(mobile=MOBILE)
    _request_code(client)
    code = _code_from(sms)
    SignInCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(reverse("portal:sign_in_code"), {"code": code})
    assert response.status_code == 400
    assert services.SESSION_CUSTOMER not in client.session


def test_five_wrong_tries_void_the_code_even_the_right_one_after(client, sms):
    CustomerFactory(mobile=MOBILE)
    _request_code(client)
    code = _code_from(sms)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = client.post(reverse("portal:sign_in_code"), {"code": wrong})
        assert response.status_code == 400
    assert SignInCode.objects.get().failed_tries == 5
    response = client.post(reverse("portal:sign_in_code"), {"code": code})
    assert response.status_code == 400
    assert services.SESSION_CUSTOMER not in client.session


def test_an_unknown_mobile_gets_the_same_answer_and_no_text(client, sms):
    CustomerFactory(mobile=MOBILE)
    known = _request_code(client)
    other = client.__class__()
    unknown = _request_code(other, "13700000000")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    page_known = _without_csrf(client.get(reverse("portal:sign_in_code")))
    page_unknown = _without_csrf(other.get(reverse("portal:sign_in_code")))
    assert page_known.replace("139****5678", "X") == page_unknown.replace("137****0000", "X")
    assert len(sms) == 1 and not SignInCode.objects.filter(mobile="13700000000").exists()


def test_codes_per_mobile_are_limited_whether_it_is_on_file_or_not(client, sms):
    CustomerFactory(mobile=MOBILE)
    for _ in range(3):
        assert _request_code(client).status_code == 302
    assert _request_code(client).status_code == 429
    assert len(sms) == 3
    for _ in range(3):
        assert _request_code(client, "13700000000").status_code == 302
    assert _request_code(client, "13700000000").status_code == 429
    # Only the newest code counts: the earlier ones are void.
    assert SignInCode.objects.filter(used_at=None).count() == 1


def test_tries_per_address_are_limited(client, sms):
    for number in range(30):
        assert _request_code(client, f"137000000{number:02d}").status_code == 302
    assert _request_code(client, "13700000099").status_code == 429


def test_a_bad_mobile_or_code_is_answered_next_to_the_field(client):
    response = client.post(reverse("portal:sign_in"), {"mobile": "12" * 30})
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    session = client.session
    session["portal_pending_mobile"] = MOBILE
    session.save()
    response = client.post(reverse("portal:sign_in_code"), {"code": "12ab"})
    assert response.status_code == 400 and 'class="errorlist"' in response.content.decode()


def test_the_signed_link_signs_in_and_staff_can_revoke_it(client, make_staff, sms):
    customer = CustomerFactory(mobile=MOBILE)
    advisor = make_staff("advisor")
    staff_client = client.__class__()
    staff_client.force_login(advisor)
    response = staff_client.post(reverse("portal:send_link", args=[customer.pk]))
    assert response.status_code == 302
    message = Message.objects.get(customer=customer, template="portal_link")
    path = re.search(r"https?://[^/]+(/portal/link/\S+/)", message.body).group(1)
    assert client.get(path)["Location"] == reverse("portal:home")
    assert client.session[services.SESSION_CUSTOMER] == customer.pk
    # The link shows on the customer's page as a live link and can be revoked there.
    link = CustomerLink.objects.get(customer=customer, purpose="portal")
    page = staff_client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert f'id="link-{link.pk}"' in page
    customer_link_revoke_by_staff(customer=customer, link_id=link.pk, actor=advisor, reason="lost")
    other = client.__class__()
    response = other.get(path)
    assert response.status_code == 404 and services.SESSION_CUSTOMER not in other.session
    # The phone signed in with the revoked link is signed out with it.
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("portal:sign_in")
    )


def test_a_phone_without_a_language_gets_the_customers(client, sms):
    customer = CustomerFactory(mobile=MOBILE, language="en")
    _request_code(client)
    response = client.post(reverse("portal:sign_in_code"), {"code": _code_from(sms)})
    assert response.cookies["django_language"].value == "en"
    assert "My cars" in client.get(reverse("portal:home")).content.decode()
    chosen = client.__class__()
    chosen.cookies["django_language"] = "zh-hans"
    token = services.portal_link_create(customer=customer)
    response = chosen.get(reverse("portal:link", args=[token]))
    assert "django_language" not in response.cookies


def test_a_session_older_than_the_setting_and_a_signed_out_phone_see_the_sign_in(client, settings):
    customer = CustomerFactory(mobile=MOBILE)
    session = client.session
    session[services.SESSION_CUSTOMER] = customer.pk
    session[services.SESSION_SIGNED_IN_AT] = (timezone.now() - timedelta(days=2)).isoformat()
    session.save()
    assert client.get(reverse("portal:home")).status_code == 200
    settings.PORTAL_SESSION_DAYS = 1
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("portal:sign_in")
    )
    settings.PORTAL_SESSION_DAYS = 30
    client.post(reverse("portal:sign_out"))
    assert client.get(reverse("portal:home")).status_code == 302


def test_after_signing_in_the_page_asked_for_opens(client, sms):
    customer = CustomerFactory(mobile=MOBILE)
    target = reverse("portal:complaints")
    response = client.get(target)
    assert response["Location"] == reverse("portal:sign_in") + "?next=%2Fportal%2Fcomplaints%2F"
    response = client.post(response["Location"], {"mobile": MOBILE})
    response = client.post(response["Location"], {"code": _code_from(sms)})
    assert response["Location"] == target
    assert client.session[services.SESSION_CUSTOMER] == customer.pk


def test_a_phone_that_came_through_wechat_binds_the_account_at_sign_in(client, sms):
    customer = CustomerFactory(mobile=MOBILE)
    session = client.session
    session[services.WECHAT_SESSION_OPENID] = "oQ7x_5AbCdEfGhIjKlMnOpQrStUv"
    session.save()
    _request_code(client)
    client.post(reverse("portal:sign_in_code"), {"code": _code_from(sms)})
    customer.refresh_from_db()
    assert customer.wechat_openid == "oQ7x_5AbCdEfGhIjKlMnOpQrStUv"
    # The next time WeChat names this account, the phone is signed in without a code.
    other = client.__class__()
    from dealership.wechat import portal_session_sign_in

    session = other.session
    assert portal_session_sign_in(session, "oQ7x_5AbCdEfGhIjKlMnOpQrStUv") == customer
    session.save()
    other.cookies["sessionid"] = session.session_key
    assert other.get(reverse("portal:home")).status_code == 200


def test_an_account_bound_to_someone_else_is_left_alone_and_the_sign_in_stands(client, sms):
    CustomerFactory(mobile="13700001111", wechat_openid="oQ7x_5AbCdEfGhIjKlMnOpQrStUv")
    customer = CustomerFactory(mobile=MOBILE)
    session = client.session
    session[services.WECHAT_SESSION_OPENID] = "oQ7x_5AbCdEfGhIjKlMnOpQrStUv"
    session.save()
    _request_code(client)
    response = client.post(reverse("portal:sign_in_code"), {"code": _code_from(sms)})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.wechat_openid == ""
    assert client.session[services.SESSION_CUSTOMER] == customer.pk
