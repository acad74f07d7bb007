"""Every workshop page declares its roles: anonymous → log-in, other roles → 403, allowed roles
→ a page or 404/405 for a missing object (never 500); public customer pages 404 on junk links.

(The store-wide matrix in dealership/tests/test_access.py does the same for un-namespaced URLs.)
"""

import pytest
from django.urls import reverse

from dealership.roles import Role
from workshop import urls

pytestmark = pytest.mark.django_db

PATTERNS = [p for p in urls.urlpatterns]


def _url(pattern):
    kwargs = {name: 999_999 for name in pattern.pattern.converters}
    return reverse(f"workshop:{pattern.name}", kwargs=kwargs)


def test_every_workshop_view_declares_its_roles():
    assert all(hasattr(p.callback, "allowed_roles") for p in PATTERNS)


def test_public_pages_answer_junk_links_with_404(client):
    public = [p for p in PATTERNS if p.callback.allowed_roles is None]
    assert {p.name for p in public} == {"approve", "approve_photo"}
    for pattern in public:
        assert client.get(_url(pattern)).status_code == 404, pattern.name


def test_anonymous_visitors_are_sent_to_log_in(client):
    for pattern in PATTERNS:
        if pattern.callback.allowed_roles is None:
            continue
        response = client.get(_url(pattern))
        assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_each_role_gets_403_exactly_where_it_may_not_go(client, make_staff, role):
    client.force_login(make_staff(role))
    for pattern in PATTERNS:
        roles = pattern.callback.allowed_roles
        if roles is None:
            continue
        status = client.get(_url(pattern)).status_code
        if role in roles:
            assert status in (200, 404, 405), (role, pattern.name, status)
        else:
            assert status == 403, (role, pattern.name, status)
