"""Every delivery page states its roles: others get 403, a missing object is 404 (never 500)."""

import pytest
from django.urls import reverse

from dealership.roles import Role
from delivery.tests.factories import staff
from delivery.urls import urlpatterns

pytestmark = pytest.mark.django_db


def _urls():
    for pattern in urlpatterns:
        kwargs = {name: 999_999 for name in pattern.pattern.converters}
        yield pattern, reverse(f"delivery:{pattern.name}", kwargs=kwargs)


def test_every_page_declares_its_roles():
    assert all(getattr(p.callback, "allowed_roles", None) for p, _url in _urls())


def test_anonymous_visitors_are_sent_to_log_in(client):
    for _pattern, url in _urls():
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_each_role_is_refused_exactly_where_it_may_not_go(client, role):
    client.force_login(staff(role))
    for pattern, url in _urls():
        status = client.get(url).status_code
        if role in pattern.callback.allowed_roles:
            assert status in (200, 404, 405), f"{role} on {url}: {status}"
        else:
            assert status == 403, f"{role} let into {url} ({status})"
