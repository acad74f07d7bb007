"""A list's HTML is kept under a digest of everything it shows (`dealership.fragments`): a
change, a language and a role each get their own HTML, and the CSRF token is the visitor's."""

import re

import pytest
from django.core.cache import cache
from django.template import engines
from django.template.loader import get_template
from django.urls import reverse
from django.utils import translation

from dealership import fragments
from dealership.tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

ROWS = "reception/_on_site_table.html"


def _row(**changes) -> dict:
    row = {
        "pk": 7,
        "number": "RO1",
        "status": "order_signed",
        "status_label": "Order signed",
        "is_walk_in": True,
        "customer_waits": False,
        "is_comeback": False,
        "key_tag": "K1",
        "parking_spot": "",
        "url": "/reception/visits/7/",
        "plate": "苏E12345",
        "nev": False,
        "customer_name": "张伟",
        "advisor_name": "王顾问",
        "checked_in_text": "12-05 09:00",
        "promised_text": "",
        "handed_over_text": "",
        "receiver_name": "",
    }
    return row | changes


def _render(rows, *, visitor="T1", can_hand_over=True):
    return fragments.cached_fragment(
        ROWS,
        {"visits": rows, "can_hand_over": can_hand_over},
        spliced={"csrf_token": visitor},
    )


def test_the_second_render_comes_from_the_cache_with_this_visitors_token(monkeypatch):
    cache.clear()
    first = _render([_row()], visitor="FIRST")
    assert 'value="FIRST"' in first
    renders = []
    monkeypatch.setattr(fragments, "get_template", lambda name: renders.append(name))
    second = _render([_row()], visitor="SECOND")
    assert renders == []  # from the cache
    assert 'value="SECOND"' in second and "FIRST" not in second
    assert second.replace("SECOND", "FIRST") == first


def test_a_changed_row_and_another_language_get_their_own_html():
    assert "李娜" in _render([_row(customer_name="李娜")])
    assert "张伟" in _render([_row()])
    with translation.override("en"):
        assert "Sign for order, key and car" in _render([_row()])
    with translation.override("zh-hans"):
        assert "Sign for order, key and car" not in _render([_row()])


def test_the_search_page_shows_each_role_the_mobile_it_may_see(client, make_staff):
    owner = CustomerFactory(name="张伟", mobile="13812345678")
    VehicleFactory(owner=owner, plate="苏E12345")
    client.force_login(make_staff("advisor"))
    assert "13812345678" in client.get(reverse("search"), {"q": "E123"}).content.decode()
    client.force_login(make_staff("workshop_controller"))
    masked = client.get(reverse("search"), {"q": "E123"}).content.decode()
    assert "苏E12345" in masked and "13812345678" not in masked
    owner.name = "张伟伟"
    owner.save()
    assert "张伟伟" in client.get(reverse("search"), {"q": "E123"}).content.decode()


def test_the_search_results_alone_for_htmx(advisor_client):
    VehicleFactory(plate="苏E12345")
    response = advisor_client.get(reverse("search"), {"q": "E123"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="vehicle-results"' in body and "<html" not in body


FRAGMENTS = [
    "reception/_on_site_table.html",
    "delivery/_board_table.html",
    "delivery/_cashier_lists.html",
    "delivery/_settled_today.html",
    "appointments/_call_groups.html",
    "appointments/_call_actions.html",
    "dealership/_search_results.html",
    "dealership/_plate.html",
    "followup/_archive_boxes.html",
    "followup/_archive_visits.html",
]


@pytest.mark.parametrize("name", FRAGMENTS)
def test_a_fragment_reads_nothing_of_the_request(name):
    """A fragment is rendered without the request (no context processors) and cached for
    everyone who gets the same values: what differs per viewer must be in its values."""
    source = get_template(name).template.source
    assert not re.search(r"\b(request|user|perms|messages)\b", source)


def test_a_changed_template_gives_new_keys(tmp_path, settings):
    """After a deploy that changes any template, even an included one, no old HTML shows."""
    page = tmp_path / "page.html"
    page.write_text("{% include 'part.html' %}")
    (tmp_path / "part.html").write_text("old")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    fragments.templates_digest.cache_clear()
    before = fragments.templates_digest()
    assert fragments.cached_fragment("page.html", {}) == "old"
    (tmp_path / "part.html").write_text("new")
    # A new process after the deploy: its own template loader and digest.
    for loader in engines["django"].engine.template_loaders:
        loader.reset()
    fragments.templates_digest.cache_clear()
    assert fragments.templates_digest() != before
    assert fragments.cached_fragment("page.html", {}) == "new"
    fragments.templates_digest.cache_clear()


def test_while_developing_fragments_are_rendered_every_time(settings, monkeypatch):
    settings.DEBUG = True
    renders = []
    real = fragments.get_template
    monkeypatch.setattr(fragments, "get_template", lambda name: renders.append(name) or real(name))
    _render([_row()])
    _render([_row()])
    assert renders == [ROWS, ROWS]
