"""Security headers: a Content-Security-Policy without inline scripts, no-store on what is
private, swagger-ui from our own static files, and Django's rule for the production key."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from reception.progress_push import visit_progress_token
from reception.services import visit_walkaround_sign
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory, WalkedAroundVisitFactory, signature_data_url
from tests.test_production_settings import PROD_ENV, _manage

pytestmark = pytest.mark.django_db
ROOT = Path(settings.BASE_DIR)


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_every_page_carries_a_policy_that_refuses_inline_scripts(advisor_client):
    for response in (advisor_client.get(reverse("home")), Client().get(reverse("login"))):
        policy = response["Content-Security-Policy"]
        directives = dict(
            (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
        )
        assert directives["default-src"] == ["'self'"]
        assert directives["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
        assert directives["frame-ancestors"] == ["'none'"]


def test_no_template_has_an_inline_script_or_event_handler():
    offenders = []
    for path in ROOT.rglob("*.html"):
        if ".venv" in path.parts or "var" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.I):
            if "src=" not in tag:
                offenders.append(f"{path.relative_to(ROOT)}: inline <script>")
        if re.search(r"\son[a-z]+\s*=|\shx-on[:-]", text, flags=re.I):
            offenders.append(f"{path.relative_to(ROOT)}: inline event handler")
        if re.search(r"hx-trigger=\"[^\"]*\[", text):  # htmx evaluates [filters] with eval
            offenders.append(f"{path.relative_to(ROOT)}: hx-trigger filter")
    assert offenders == []


def test_staff_pages_pdfs_signatures_and_customer_links_are_not_stored(advisor_client, make_staff):
    visit = WalkedAroundVisitFactory(key_tag="K77")
    visit_walkaround_sign(
        visit=visit, actor=make_staff("advisor"), signature=signature_data_url(), signer_name="陈静"
    )
    staff = [
        reverse("reception:on_site"),
        reverse("reception:key_tag", args=[visit.pk]),  # a PDF
        reverse("reception:walkaround_signature", args=[visit.pk]),  # a signature image
    ]
    for url in staff:
        response = advisor_client.get(url)
        assert response.status_code == 200, url
        assert _no_store(response), url
    signed = VisitFactory(status=VisitStatus.ORDER_SIGNED)
    link = reverse("reception:progress", args=[visit_progress_token(visit=signed, actor=None)])
    response = Client().get(link)  # the customer's page: no log-in, a token in the URL
    assert response.status_code == 200
    assert _no_store(response)


def test_static_files_stay_cacheable(settings):
    settings.WHITENOISE_USE_FINDERS = True  # serve from the source folders in this test
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client()
    response = client.get(settings.STATIC_URL + "js/app.js")
    assert response.status_code == 200
    assert not _no_store(response)


def test_api_docs_load_swagger_ui_from_our_own_static_files(advisor_client):
    response = advisor_client.get(reverse("api-docs"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "cdn.jsdelivr.net" not in body and "unpkg" not in body and "@latest" not in body
    scripts = re.findall(r"<script\b([^>]*)>", body)
    sources = [re.search(r'src="([^"]*)"', attrs) for attrs in scripts]
    assert all(sources)  # the start-up code is a file too (the split view)
    assert all(src.group(1).startswith("/") for src in sources)  # all from this site
    assert any("swagger-ui-dist/swagger-ui-bundle" in src.group(1) for src in sources)


def test_production_refuses_a_weak_secret_key():
    for weak in ("k9" * 40, "django-insecure-" + "a1b2c3d4e5f6g7h8i9j0" * 3):
        result = _manage("check", env_overrides={**PROD_ENV, "SECRET_KEY": weak})
        assert result.returncode != 0, weak
        assert "SECRET_KEY" in result.stderr


@pytest.mark.browser
def test_swagger_ui_and_the_admin_log_in_run_under_the_policy(page, login, make_staff):
    """swagger-ui from the sidecar package starts without a CSP error (the `page` fixture
    fails the test on any), and so does the admin's log-in page."""
    page.goto(page.base_url + "/admin/login/")
    page.wait_for_selector("input[name=username]")
    login(make_staff("advisor"))
    page.goto(page.base_url + "/api/docs/")
    page.wait_for_selector(".swagger-ui .information-container .title")
    assert "Service desk API" in page.inner_text(".swagger-ui .information-container .title")
