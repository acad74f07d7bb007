"""Every reception and work order page declares its roles; the others get 403 (namespaced URLs)."""

import pytest
from django.urls import get_resolver, reverse

from dealership.roles import Role

pytestmark = pytest.mark.django_db


def _pages():
    for namespace in ("reception", "workorders"):
        resolver = get_resolver().namespace_dict[namespace][1]
        for pattern in resolver.url_patterns:
            yield namespace, pattern


def _url(namespace, pattern):
    kwargs = {name: 999_999 for name in pattern.pattern.converters}
    if "token" in kwargs:
        kwargs["token"] = "junk"
    return reverse(f"{namespace}:{pattern.name}", kwargs=kwargs)


def test_every_page_declares_roles_and_sends_anonymous_visitors_to_log_in(client):
    for namespace, pattern in _pages():
        roles = getattr(pattern.callback, "allowed_roles", "missing")
        assert roles != "missing", pattern.name
        status = client.get(_url(namespace, pattern)).status_code
        assert status in ((302,) if roles else (404,)), (pattern.name, status)


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_each_role_gets_403_exactly_where_it_may_not_go(client, make_staff, role):
    client.force_login(make_staff(role))
    for namespace, pattern in _pages():
        roles = pattern.callback.allowed_roles
        if roles is None:
            continue
        status = client.get(_url(namespace, pattern)).status_code
        if role in roles:
            assert status in (200, 404, 405), (role, pattern.name, status)
        else:
            assert status == 403, (role, pattern.name, status)
