"""Log-in throttling, CSRF on every form, session settings, secrets from the environment,
personal data masked in lists and logs, and the API's error format."""

import logging
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from dealership import security
from dealership.security import PersonalDataFilter, mask_personal_data, mask_phone
from dealership.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(settings.BASE_DIR)
APPS = ("dealership", "appointments", "reception", "workorders", "workshop", "delivery", "followup")


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def _log_in(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


# ----------------------------------------------------------------------- log-in throttling


def _user(username, password="right-pass-123", **kwargs):  # noqa: S107 - a test password
    user = UserFactory(username=username, **kwargs)
    user.set_password(password)
    user.save()
    return user


def test_log_in_is_locked_after_repeated_failures_with_a_clear_message():
    _user("zhang")
    client = Client()
    locked_text = "登录失败次数过多"  # the UI speaks Chinese by default
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _log_in(client, "zhang", "wrong")
        assert response.status_code == 200
        assert locked_text not in response.content.decode()
    locked = _log_in(client, "zhang", "wrong")
    assert locked.status_code == 429
    assert locked_text in locked.content.decode()
    assert '<form method="post"' in locked.content.decode()  # the log-in page, with the message
    # Locked: even the right password is refused, the form says why.
    refused = _log_in(client, "zhang", "right-pass-123")
    assert refused.status_code == 429
    assert locked_text in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_from_one_address_do_not_lock_the_account_out_at_another():
    """Someone guessing the manager's password at desk A does not lock the manager out at B."""
    _user("manager")
    attacker = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        _log_in(attacker, "manager", "guess", ip="10.0.0.66")
    assert _log_in(attacker, "manager", "right-pass-123", ip="10.0.0.66").status_code == 429
    manager = Client()
    assert _log_in(manager, "manager", "right-pass-123", ip="10.0.0.2").status_code == 302
    # And another user at the attacker's address is not locked out either.
    _user("wang")
    assert _log_in(Client(), "wang", "right-pass-123", ip="10.0.0.66").status_code == 302


def test_behind_the_trusted_proxy_the_forwarded_address_counts(settings):
    """Behind the compose TLS proxy every request comes from the proxy's address; the
    client's address is the one the proxy wrote into X-Forwarded-For."""
    settings.TRUSTED_PROXY_COUNT = 1
    _user("manager")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            reverse("login"),
            {"username": "manager", "password": "guess"},
            REMOTE_ADDR="172.18.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.66",
        )
    # The real manager comes through the same proxy from another address: not locked.
    response = Client().post(
        reverse("login"),
        {"username": "manager", "password": "right-pass-123"},
        REMOTE_ADDR="172.18.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert response.status_code == 302
    # The attacker cannot pick a fresh address by sending the header itself: the proxy
    # appends the address it saw, and only that one is believed.
    response = Client().post(
        reverse("login"),
        {"username": "manager", "password": "guess"},
        REMOTE_ADDR="172.18.0.2",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.66",
    )
    assert response.status_code == 429


def test_client_address_ignores_forwarded_headers_without_a_trusted_proxy(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = rf.get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert security.client_ip(request) == "10.1.1.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert security.client_ip(request) == "6.6.6.6"
    garbage = rf.get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="<script>")
    assert security.client_ip(garbage) == "10.1.1.1"


def test_the_admin_log_in_is_throttled_too():
    _user("boss", is_staff=True, is_superuser=True)
    client = Client()
    url = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(
            url, {"username": "boss", "password": "wrong"}, REMOTE_ADDR="10.0.0.9"
        )
        assert response.status_code == 200
    locked = client.post(url, {"username": "boss", "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.content.decode()
    refused = client.post(
        url, {"username": "boss", "password": "right-pass-123"}, REMOTE_ADDR="10.0.0.9"
    )
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_message_is_translated():
    with translation.override("zh-hans"):
        assert security.lockout_message() != translation.override("en")(security.lockout_message)()


def test_a_successful_log_in_clears_the_failures():
    _user("li")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _log_in(client, "li", "wrong")
    assert _log_in(client, "li", "right-pass-123").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _log_in(Client(), "li", "wrong").status_code == 200


# ------------------------------------------------------------------------------ CSRF


# The one exception: the SMS providers' receipt and reply callbacks are posted by the
# provider's servers, which carry no CSRF token and no cookie. They authenticate by the
# secret in their path, compared in constant time (dealership/tests/test_sms.py: a forged
# one gets 403 and changes nothing), and no browser session can do anything there.
CSRF_EXEMPT_ALLOWED = {"dealership/sms/views.py"}


def test_no_view_of_ours_is_csrf_exempt():
    offenders = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.parts and "csrf_exempt" in path.read_text(encoding="utf-8")
    ]
    assert sorted(set(offenders) - CSRF_EXEMPT_ALLOWED) == []


@pytest.mark.django_db
def test_the_provider_callbacks_refuse_a_wrong_secret_before_anything_else(client, settings):
    settings.SMS_CALLBACK_SECRET = "cb-right-secret"
    for name in (
        "sms_aliyun_report",
        "sms_aliyun_reply",
        "sms_tencent_report",
        "sms_tencent_reply",
    ):
        response = client.post(
            reverse(name, args=["cb-wrong-secret"]), data="[]", content_type="application/json"
        )
        assert response.status_code == 403, name


def test_every_template_form_that_posts_carries_the_token():
    missing = []
    for app in (*APPS, "templates"):
        for path in (ROOT / app).rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            for form in re.findall(r"<form\b[^>]*>.*?</form>", text, flags=re.S | re.I):
                if re.search(r"method=[\"']?post", form, flags=re.I) and "csrf_token" not in form:
                    missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_a_post_without_the_token_is_refused(make_staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff("advisor"))
    response = client.post(reverse("customer_create"), {"name": "x", "mobile": "13812345678"})
    assert response.status_code == 403
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post(reverse("login"), {"username": "a", "password": "b"}).status_code == 403


def test_the_api_with_a_session_needs_the_token_too(make_staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff("advisor"))
    response = client.post(
        "/api/customers/", {"name": "x", "mobile": "13812345678"}, content_type="application/json"
    )
    assert response.status_code == 403


# -------------------------------------------------------------------- session, secrets


def test_session_cookies_are_short_lived_and_out_of_reach_of_scripts():
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.X_FRAME_OPTIONS == "DENY"


def test_secrets_come_from_the_environment():
    text = (ROOT / "dealership" / "settings.py").read_text(encoding="utf-8")
    for name in ("SECRET_KEY", "NOTIFICATION_SMS_TOKEN"):
        assert re.search(rf"^{name} = os\.environ\.get\(", text, flags=re.M), name
    assert not re.search(r"^(?!_DEFAULT_)\w*(PASSWORD|TOKEN|SECRET)\w* = [\"']", text, flags=re.M)


# ------------------------------------------------------------------ personal data


def test_mask_phone_hides_the_middle_digits():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == ""
    assert mask_phone(None) == ""
    rendered = Template("{% load pii %}{{ m|mask_phone }}").render(Context({"m": "13912340000"}))
    assert rendered == "139****0000"


def test_personal_data_is_masked_in_log_records():
    text = (
        "sms to 13812345678 (+86 139-1234-5678) for wang.fang@example.com "
        "id 110101199003071234 address=北京市朝阳区建国路88号, ok"
    )
    masked = mask_personal_data(text)
    assert "13812345678" not in masked and "138****5678" in masked
    assert "1234-5678" not in masked
    assert "wang.fang" not in masked
    assert "199003071234" not in masked
    assert "建国路" not in masked and masked.endswith(", ok")


def test_the_log_filter_masks_messages_and_arguments():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(PersonalDataFilter())
    logger = logging.getLogger("tests.pii")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("message to %s: %s", "13812345678", "您好")
        try:
            raise ValueError("bad mobile 13912345678")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    joined = "\n".join(records)
    assert "13812345678" not in joined and "138****5678" in joined
    assert "13912345678" not in joined


def test_customer_link_tokens_are_masked_in_logs():
    from dealership.links import customer_link_create
    from dealership.tests.factories import CustomerFactory

    token = customer_link_create(obj=CustomerFactory(), purpose="progress")
    masked = mask_personal_data(f"sms: open /progress/{token}/ to see your car")
    assert token not in masked
    assert token.split(":")[-1] not in masked  # not even the signature part
    assert masked.startswith("sms: open /progress/") and masked.endswith("/ to see your car")


def test_the_configured_log_handler_masks_personal_data():
    """settings.LOGGING puts the filter on the console handler every process logs through."""
    import io

    handlers = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert handlers, "the console handler of settings.LOGGING is missing"
    for handler in handlers:
        assert any(isinstance(f, PersonalDataFilter) for f in handler.filters)
        stream = io.StringIO()
        previous = handler.setStream(stream)
        try:
            logging.getLogger("dealership.notifications").warning(
                "message [sms] to %s: %s", "13812345678", "您好"
            )
        finally:
            handler.setStream(previous)
        assert "138****5678" in stream.getvalue()
        assert "13812345678" not in stream.getvalue()


# ------------------------------------------------------------------- API error format


def test_domain_errors_become_field_messages():
    from rest_framework.views import exception_handler  # noqa: F401 - DRF is configured

    from dealership.api import api_exception_handler
    from dealership.errors import DomainError

    response = api_exception_handler(DomainError("Slot is full.", field="start"), {})
    assert response.status_code == 400 and response.data == {"start": ["Slot is full."]}
    response = api_exception_handler(DomainError("Not now."), {})
    assert response.data == {"non_field_errors": ["Not now."]}


def test_phones_are_masked_for_the_workshop_and_shown_to_the_front_desk(client, make_staff):
    from reception.tests.factories import VisitFactory

    visit = VisitFactory(vehicle__owner__mobile="13812345678")
    url = reverse("reception:visit", kwargs={"pk": visit.pk})
    client.force_login(make_staff("workshop_controller"))
    page = client.get(url).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    client.force_login(make_staff("advisor"))
    assert "13812345678" in client.get(url).content.decode()


# The technician opens no customer record at all (tests/test_access_table.py).
WORKSHOP_ROLES = ("qc_inspector", "workshop_controller")
FRONT_DESK_ROLES = ("advisor", "customer_care", "cashier", "service_manager", "admin")
ADDRESS = "苏州市工业园区星湖街328号"


@pytest.fixture
def known_customer():
    """A customer with two phones and an address, whose number and address were edited once
    (so the change history carries the old ones too), and a car."""
    from dealership.services import customer_update
    from dealership.tests.factories import CustomerFactory, VehicleFactory

    customer = CustomerFactory(
        name="赵敏", mobile="13912340689", mobile_alt="13700001111", address="苏州市旧地址1号"
    )
    customer = customer_update(customer=customer, actor=None, mobile="13912340689", address=ADDRESS)
    customer = customer_update(customer=customer, actor=None, mobile="13800002222")
    customer = customer_update(customer=customer, actor=None, mobile="13912340689")
    vehicle = VehicleFactory(owner=customer, plate="苏E6A0689")
    return customer, vehicle


def _customer_pages(client, customer, vehicle) -> dict[str, str]:
    search = reverse("search")
    return {
        "search": client.get(search, {"q": "赵敏"}).content.decode(),
        "search by plate": client.get(search, {"q": "E6A068"}).content.decode(),
        "search partial": client.get(
            search, {"q": "赵敏"}, HTTP_HX_REQUEST="true"
        ).content.decode(),
        "customer": client.get(reverse("customer_detail", args=[customer.pk])).content.decode(),
        "vehicle": client.get(reverse("vehicle_detail", args=[vehicle.pk])).content.decode(),
    }


@pytest.mark.parametrize("role", WORKSHOP_ROLES)
def test_the_workshop_sees_masked_phones_and_no_address_on_the_customer_pages(
    client, make_staff, known_customer, role
):
    customer, vehicle = known_customer
    client.force_login(make_staff(role))
    for name, page in _customer_pages(client, customer, vehicle).items():
        assert "赵敏" in page, name
        assert "139****0689" in page, name
        for secret in ("13912340689", "13700001111", "13800002222", ADDRESS, "旧地址"):
            assert secret not in page, (name, secret)
    customer_page = _customer_pages(client, customer, vehicle)["customer"]
    assert "137****1111" in customer_page and "138****2222" in customer_page  # and in history


@pytest.mark.parametrize("role", FRONT_DESK_ROLES)
def test_the_front_desk_sees_phones_and_addresses_in_full(client, make_staff, known_customer, role):
    customer, vehicle = known_customer
    client.force_login(make_staff(role))
    pages = _customer_pages(client, customer, vehicle)
    for name, page in pages.items():
        assert "13912340689" in page and "139****0689" not in page, name
    assert ADDRESS in pages["customer"] and "苏州市旧地址1号" in pages["customer"]
    assert "13700001111" in pages["customer"] and "13800002222" in pages["customer"]


def test_the_customers_api_masks_phones_and_empties_the_address_for_the_workshop(
    make_staff, known_customer
):
    from rest_framework.test import APIClient

    customer, _vehicle = known_customer
    technician, advisor = APIClient(), APIClient()
    technician.force_authenticate(make_staff("qc_inspector"))
    advisor.force_authenticate(make_staff("advisor"))

    masked = technician.get(f"/api/customers/{customer.pk}/").json()
    assert (masked["mobile"], masked["mobile_alt"], masked["address"]) == (
        "139****0689",
        "137****1111",
        "",
    )
    listed = technician.get("/api/customers/", {"q": "赵敏"}).json()["results"]
    assert [row["mobile"] for row in listed] == ["139****0689"]
    assert ADDRESS not in technician.get("/api/customers/").content.decode()
    assert "13912340689" not in technician.get("/api/vehicles/").content.decode()

    full = advisor.get(f"/api/customers/{customer.pk}/").json()
    assert (full["mobile"], full["mobile_alt"], full["address"]) == (
        "13912340689",
        "13700001111",
        ADDRESS,
    )


def test_the_web_servers_access_log_masks_link_tokens_and_phones():
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from dealership.gunicorn_log import MaskingLogger

    token = (
        "eyJ0IjoiMjE3NmZiODEtOWQ4OC00NzQ4LWI0MjktZDA2NDA1YThkMTExIn0"
        ":1xVSHr:-tHFqXn5ms1lffIpIPZP89CT7lkzzZp7UQwu67BFG7w"
    )
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/appointments/my/{token}/?q=13812345678",
        "PATH_INFO": f"/appointments/my/{token}/",
        "QUERY_STRING": "q=13812345678",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = MaskingLogger(Config()).atoms(response, [], environ, timedelta(milliseconds=5))
    logged = " ".join(str(value) for value in atoms.values())
    assert token[-20:] not in logged
    assert "13812345678" not in logged and "138****5678" in atoms["q"]
    assert atoms["U"].startswith("/appointments/my/") and atoms["s"] == "200"
