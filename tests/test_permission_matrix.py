"""The permission matrix of the API, read from the URL conf: every endpoint × every role.

Pages are covered by dealership/tests/test_access.py (their `allowed_roles`); this file
covers every DRF view under /api/ (its `read_roles`, `write_roles` and `action_roles`),
and checks that together the two leave no view of ours without a rule. A new endpoint
without roles fails `test_every_api_view_declares_its_roles`.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from dealership.api import RolePermission
from dealership.roles import Role

pytestmark = pytest.mark.django_db

# Views under /api/ that are not resources: the schema and its docs (log-in required by
# SPECTACULAR_SETTINGS), DRF's router root listing the delivery endpoints, and the JSON
# 404 for any other path under /api/.
EXEMPT = {"api-schema", "api-docs", "api-root", "api-not-found"}
SAMPLE_ID = "999999"


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _api_views():
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/") or pattern.name in EXEMPT:
            continue
        if "format" in pattern.pattern.regex.groupindex:  # format-suffix twins
            continue
        yield route, pattern


def _sample_path(route: str) -> str:
    """A concrete path for a route: ids become 999999 (no such object)."""
    import re

    path = route.replace("^", "").replace("$", "").replace("\\.", ".")
    path = re.sub(r"\(\?P<[^>]+>[^)]*\)", SAMPLE_ID, path)
    path = re.sub(r"<(?:int:)?\w+>", SAMPLE_ID, path)
    return "/" + path


def _endpoints():
    """(path, method, action, allowed roles) for every API route and method."""
    rows = []
    for route, pattern in _api_views():
        view = pattern.callback
        cls = view.cls
        for method, action in (getattr(view, "actions", None) or {}).items():
            if method in ("get", "head", "options"):
                if method != "get":
                    continue
                roles = cls.read_roles
            else:
                roles = getattr(cls, "action_roles", {}).get(action, cls.write_roles)
            rows.append((_sample_path(route), method, action, frozenset(roles)))
    return rows


def test_every_api_view_declares_its_roles():
    missing = []
    for route, pattern in _api_views():
        cls = getattr(pattern.callback, "cls", None)
        writes = any(m not in ("get", "head", "options") for m in pattern.callback.actions)
        ruled = (
            cls is not None
            and RolePermission in cls.permission_classes
            and getattr(cls, "read_roles", None)
            and (
                not writes
                or getattr(cls, "write_roles", None)
                or getattr(cls, "action_roles", None)
            )
        )
        if not ruled:
            missing.append(route)
    assert missing == [], f"API views without RolePermission and roles: {missing}"


def test_every_view_of_ours_is_in_one_matrix():
    """No route escapes both matrices: pages declare allowed_roles, endpoints roles."""
    uncovered = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith("admin/") or route.startswith("^") or pattern.name in EXEMPT:
            continue
        callback = pattern.callback
        if route.startswith("api/"):
            if "format" in pattern.pattern.regex.groupindex:
                continue
            if not getattr(getattr(callback, "cls", None), "read_roles", None):
                uncovered.append(route)
        elif not hasattr(callback, "allowed_roles"):
            uncovered.append(route)
    assert uncovered == []


def test_the_matrix_is_not_empty():
    endpoints = _endpoints()
    assert len(endpoints) > 40
    assert {method for _p, method, _a, _r in endpoints} >= {"get", "post", "put", "patch"}


def test_anonymous_callers_get_no_endpoint():
    client = APIClient()
    for path, method, action, _roles in _endpoints():
        status = getattr(client, method)(path, {}, format="json").status_code
        assert status in (401, 403), f"anonymous {method.upper()} {path} ({action}): {status}"


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_refused_exactly_where_the_rule_says(make_staff, role):
    client = APIClient()
    client.force_authenticate(make_staff(role))
    wrong = []
    for path, method, action, roles in _endpoints():
        allowed = role == Role.ADMIN or role in roles
        status = getattr(client, method)(path, {}, format="json").status_code
        assert status < 500, f"{role} {method.upper()} {path}: {status}"
        if allowed == (status == 403):
            # Allowed roles may still meet a 403 from an object rule (someone else's call),
            # which is never the case for the missing sample object.
            wrong.append((method.upper(), path, action, status, "allowed" if allowed else "denied"))
    assert wrong == [], f"{role}: {wrong}"
