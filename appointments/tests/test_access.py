"""Every appointments page states its roles; others get 403, customers' pages need a valid link."""

import pytest
from django.urls import URLPattern, get_resolver, reverse

from dealership.roles import Role

pytestmark = pytest.mark.django_db


def _patterns():
    resolver = get_resolver()
    (appointments,) = [
        p for p in resolver.url_patterns if getattr(p, "namespace", None) == "appointments"
    ]
    return [p for p in appointments.url_patterns if isinstance(p, URLPattern)]


def _url(pattern):
    kwargs = {name: ("junk" if name == "token" else 999_999) for name in pattern.pattern.converters}
    return reverse(f"appointments:{pattern.name}", kwargs=kwargs)


def test_every_page_declares_its_roles():
    assert all(hasattr(p.callback, "allowed_roles") for p in _patterns())


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_each_role_gets_403_exactly_where_not_allowed_and_never_a_500(client, make_staff, role):
    client.force_login(make_staff(role))
    for pattern in _patterns():
        roles = pattern.callback.allowed_roles
        status = client.get(_url(pattern)).status_code
        assert status < 500, pattern.name
        if roles is None:
            continue
        if role in roles:
            assert status != 403, f"{role} refused on {pattern.name}"
        else:
            assert status == 403, f"{role} let into {pattern.name} ({status})"


def test_customer_pages_refuse_junk_links_and_need_no_log_in(client):
    for name in ("manage", "manage_slots"):
        assert client.get(reverse(f"appointments:{name}", args=["junk"])).status_code == 404
    assert client.get(reverse("appointments:self_book")).status_code == 200
    assert client.get(reverse("appointments:self_book_slots")).status_code == 404  # no plate yet
    assert client.get(reverse("appointments:board")).status_code == 302  # staff page: log in
