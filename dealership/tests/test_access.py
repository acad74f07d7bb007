"""Every staff page needs log-in and the right role. The matrix is read from the URL conf,
so a new view without a declared rule fails here."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from dealership.roles import Role

pytestmark = pytest.mark.django_db

# URL prefixes that are not pages of ours: Django admin (own staff check), API (DRF permissions).
EXCLUDED_PREFIXES = ("admin/", "api/")


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _our_views():
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(EXCLUDED_PREFIXES) or route.startswith("^"):
            continue
        yield route, pattern


SAMPLE_VALUES = {"int": "999999", "uuid": "00000000-0000-0000-0000-000000000000"}


def _sample_url(pattern: URLPattern, route: str) -> str:
    """The route with every converter filled: a missing id, or junk for strings and tokens."""
    return "/" + re.sub(
        r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_VALUES.get(m.group(1) or "str", "junk"), route
    )


def test_every_view_declares_its_roles():
    missing = [route for route, p in _our_views() if not hasattr(p.callback, "allowed_roles")]
    assert missing == [], f"views without @role_required or @public_view: {missing}"


def _staff_views():
    return [(r, p) for r, p in _our_views() if getattr(p.callback, "allowed_roles", None)]


def test_anonymous_visitors_are_sent_to_log_in_from_every_staff_page(client):
    for route, pattern in _staff_views():
        response = client.get(_sample_url(pattern, route))
        assert response.status_code == 302, route
        assert response["Location"].startswith(reverse("login")), route


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_each_role_gets_403_exactly_on_the_pages_it_may_not_use(client, make_staff, role):
    client.force_login(make_staff(role))
    for route, pattern in _staff_views():
        allowed = role in pattern.callback.allowed_roles
        status = client.get(_sample_url(pattern, route)).status_code
        if allowed:
            assert status != 403, f"{role} refused on {route}"
        else:
            assert status == 403, f"{role} let into {route} ({status})"


def test_forbidden_page_explains_itself_in_chinese(client, make_staff):
    client.force_login(make_staff("technician"))
    response = client.get(reverse("store_rules"))
    assert response.status_code == 403
    assert "无权" in response.content.decode() or "不能使用" in response.content.decode()
