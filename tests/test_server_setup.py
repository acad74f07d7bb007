"""What every request pays, kept cheap without changing what anyone sees (issue 21 point 2):
the logged-in user from the cache (forgotten when their row or roles change), sessions in
Redis written through to the database, the menu worked out once per role set, the access
log masking only what it prints, and one gunicorn set-up for the Dockerfile and the bench.
"""

import io
import logging
import os
import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from dealership import navigation
from dealership.roles import Role

ROOT = Path(settings.BASE_DIR)
PAGE = "/account/tokens/"  # a staff page of every role, little of its own
BOARD = "/appointments/"  # an advisor's page


def _auth_queries(client, url=PAGE) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return [
        q["sql"]
        for q in queries.captured_queries
        if '"dealership_user"' in q["sql"] or '"auth_group"' in q["sql"]
    ]


# ---------------------------------------------------------------------- the cached user


@pytest.fixture
def logged_in(client, make_staff):
    user = make_staff(Role.ADVISOR)
    client.force_login(user)
    _auth_queries(client)  # the first request loads and caches the user
    return client, user


def test_the_logged_in_user_and_roles_come_from_the_cache(logged_in):
    client, _user = logged_in
    assert _auth_queries(client) == []


def test_a_role_taken_away_counts_from_the_next_request(logged_in):
    client, user = logged_in
    assert client.get(BOARD).status_code == 200
    user.groups.remove(Group.objects.get(name=Role.ADVISOR))
    assert client.get(BOARD).status_code == 403


def test_a_role_taken_away_from_the_group_side_counts_too(logged_in):
    client, user = logged_in
    Group.objects.get(name=Role.ADVISOR).user_set.remove(user)
    assert client.get(BOARD).status_code == 403


def test_a_group_emptied_or_deleted_counts_too(logged_in, make_staff):
    client, user = logged_in
    Group.objects.get(name=Role.ADVISOR).user_set.clear()
    assert client.get(BOARD).status_code == 403
    user.groups.add(Group.objects.get(name=Role.ADVISOR))
    assert client.get(BOARD).status_code == 200
    Group.objects.get(name=Role.ADVISOR).delete()
    assert client.get(BOARD).status_code == 403


def test_a_deactivated_user_is_logged_out_at_the_next_request(logged_in):
    client, user = logged_in
    user.is_active = False
    user.save()
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_changed_password_logs_the_other_sessions_out(logged_in):
    client, user = logged_in
    user.set_password("another-password-2026")
    user.save()
    assert client.get(PAGE).status_code == 302


def test_a_changed_name_shows_at_the_next_request(logged_in):
    client, user = logged_in
    user.last_name, user.first_name = "赵", "敏"
    user.save()
    assert "赵敏" in client.get(PAGE).content.decode()


def test_the_cache_forgets_the_user_when_the_transaction_commits(
    logged_in, django_capture_on_commit_callbacks
):
    """A request that read the old row while the change was being made cannot keep it."""
    from dealership.user_cache import CachedModelBackend, _key

    client, user = logged_in
    stale = CachedModelBackend().get_user(user.pk)
    with django_capture_on_commit_callbacks(execute=True):
        user.groups.remove(Group.objects.get(name=Role.ADVISOR))
        cache.set(_key(user.pk), stale)  # the other request's late write
    assert client.get(BOARD).status_code == 403


# ---------------------------------------------------------------------- sessions


def test_sessions_are_read_from_redis_and_kept_in_the_database(logged_in):
    client, _user = logged_in
    if not settings.REDIS_URL:
        assert settings.SESSION_ENGINE.endswith(".db")
        return
    assert settings.SESSION_ENGINE.endswith(".cached_db")
    with CaptureQueriesContext(connection) as queries:
        client.get(PAGE)
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"]]
    cache.clear()  # Redis emptied (or restarted without its data): nobody is logged out
    assert client.get(PAGE).status_code == 200


# ---------------------------------------------------------------------- the menu


def test_the_menu_is_worked_out_once_per_role_set_and_language_stays_per_request(make_staff):
    advisor, other_advisor = make_staff(Role.ADVISOR), make_staff(Role.ADVISOR)
    cashier = make_staff(Role.CASHIER)
    entries = navigation.nav_for(advisor)
    assert navigation.nav_for(other_advisor) is entries
    assert navigation.nav_for(cashier) != entries
    with translation.override("en"):
        english = [str(entry["label"]) for entry in navigation.nav_for(advisor)]
    with translation.override("zh-hans"):
        chinese = [str(entry["label"]) for entry in navigation.nav_for(advisor)]
    assert english != chinese


def test_registering_a_menu_entry_forgets_the_worked_out_menus(make_staff):
    advisor = make_staff(Role.ADVISOR)
    before = navigation.nav_for(advisor)
    item = navigation._ITEMS.get("home")
    navigation.register_nav("api_tokens", "Tokens", [Role.ADVISOR], order=999)
    try:
        assert [e["url_name"] for e in navigation.nav_for(advisor)][-1] == "api_tokens"
    finally:
        del navigation._ITEMS["api_tokens"]
        navigation._BY_ROLES.clear()
    assert navigation.nav_for(advisor) == before
    assert item is None or navigation._ITEMS["home"] is item


# ---------------------------------------------------------------------- the access log


def _access_line(log_format: str, headers: list[tuple[str, str]]) -> str:
    from gunicorn.config import Config

    from dealership.gunicorn_log import MaskingLogger

    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", log_format)
    logger = MaskingLogger(config)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.access_log.handlers = [handler]
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/search/?q=13812345678",
        "PATH_INFO": "/search/",
        "QUERY_STRING": "q=13812345678",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_X_NOTE": "13912345678",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[("X-Back", "13712345678")])
    request = SimpleNamespace(headers=headers)
    logger.access(response, request, environ, timedelta(milliseconds=5))
    return stream.getvalue()


def test_the_access_log_masks_the_header_atoms_its_format_prints():
    line = _access_line(
        '"%(r)s" %(s)s %({x-note}i)s %({X-Back}o)s %({http_x_note}e)s',
        [("X-NOTE", "13612345678")],
    )
    assert (
        line.strip()
        == '"GET /search/?q=138****5678 HTTP/1.1" 200 136****5678 137****5678 139****5678'
    )


def test_the_access_log_keeps_only_the_header_atoms_its_format_names():
    from gunicorn.config import Config

    from dealership.gunicorn_log import MaskingLogger

    config = Config()
    config.set("access_log_format", '%(h)s "%(r)s" %({user-agent}i)s')
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/", "SERVER_PROTOCOL": "HTTP/1.1"}
    response = SimpleNamespace(status="200 OK", sent=1, headers=[("Content-Type", "text/html")])
    request = SimpleNamespace(headers=[("User-Agent", "x"), ("Cookie", "sessionid=1")])
    atoms = MaskingLogger(config).atoms(response, request, environ, timedelta(milliseconds=1))
    assert {key for key in atoms if key.startswith("{")} == {"{user-agent}i"}
    assert atoms["r"] == "GET / HTTP/1.1"


# ---------------------------------------------------------------------- one server set-up


def test_the_dockerfile_and_the_load_bench_start_gunicorn_with_the_same_config_file():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(
        r'CMD \["gunicorn", "-c", "gunicorn_web.conf.py", "dealership.wsgi"\]', dockerfile
    )
    bench = (ROOT / "tests" / "bench" / "test_bench_load.py").read_text()
    assert '"gunicorn_web.conf.py"' in bench and '"DJANGO_ENV": "production"' in bench


def test_the_gunicorn_config_file_loads():
    import runpy

    config = runpy.run_path(str(ROOT / "gunicorn_web.conf.py"))
    assert config["workers"] >= 1 and config["threads"] >= 1
    assert config["worker_class"] == ("gthread" if config["threads"] > 1 else "sync")
    assert config["logger_class"] == "dealership.gunicorn_log.MaskingLogger"


def test_the_server_runs_one_sync_worker_per_cpu_plus_one_unless_told(monkeypatch):
    """README "Deploying": more workers only shared the same CPUs (measured on the load
    bench); the environment can still ask for more."""
    import runpy

    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    config = runpy.run_path(str(ROOT / "gunicorn_web.conf.py"))
    assert config["workers"] == len(os.sched_getaffinity(0)) + 1
    assert config["worker_class"] == "sync"

    monkeypatch.setenv("GUNICORN_WORKERS", "5")
    assert runpy.run_path(str(ROOT / "gunicorn_web.conf.py"))["workers"] == 5


def test_a_worker_freezes_what_it_holds_after_its_first_requests():
    import gc
    import runpy

    post_request = runpy.run_path(str(ROOT / "gunicorn_web.conf.py"))["post_request"]
    try:
        post_request(SimpleNamespace(nr=2), None, {}, None)
        assert gc.get_freeze_count() == 0
        post_request(SimpleNamespace(nr=1), None, {}, None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
