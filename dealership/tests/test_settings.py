import os

import pytest
from django.db import connection
from django.urls import reverse

from dealership.rules import rule

pytestmark = pytest.mark.django_db


def test_tests_run_on_the_database_ci_asked_for():
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        assert connection.vendor == "postgresql"
    else:
        assert connection.vendor in {"postgresql", "sqlite"}


def test_manager_changes_a_rule_and_bad_values_are_refused(client, make_staff):
    client.force_login(make_staff("service_manager"))
    response = client.post(reverse("store_rules"), {"key": "search.min_chars", "value": "-1"})
    assert response.status_code == 400
    assert rule("search.min_chars") == 2
    client.post(reverse("store_rules"), {"key": "search.min_chars", "value": "3"})
    assert rule("search.min_chars") == 3


def test_health_check_answers_without_log_in(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"


def test_rules_another_database_cached_are_not_read(monkeypatch):
    """A test or bench database beside this one, sharing the cache, has rules of its own."""
    from django.conf import settings
    from django.core.cache import cache

    from dealership import rules

    monkeypatch.setitem(settings.DATABASES["default"], "NAME", "another_store")
    cache.set(rules._cache_key(), {"store.name": "Another store"}, 60)
    monkeypatch.undo()
    assert rules.rule("store.name") != "Another store"
