import os

import pytest
from django.db import connection
from django.utils import translation


@pytest.fixture(scope="session", autouse=True)
def _fresh_cache():
    """A run starts from an empty cache: no log-in lock-out or report left by an earlier run."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def empty_cache():
    """The cache empty before and after the test (`pytest.mark.usefixtures("empty_cache")`):
    for tests of what is kept in it."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _isolate_rule_cache():
    from dealership.rules import forget_cached_rules
    from reports.cache import forget as forget_cached_reports

    forget_cached_rules()
    forget_cached_reports()  # a rolled-back test's rows left no signal behind
    yield
    forget_cached_rules()


# The longest test files (a served API fuzzed, a day driven through a browser with a real
# worker, services stopped and started) first among their kind, so that `make test`'s
# processes (pytest-xdist, tests handed out in this order) run them beside the short ones
# instead of after them. Each process still runs its tests in pytest-django's order: tests
# in a rolled-back transaction before those that commit (their flush empties the tables
# of the data migrations' rows), and the fuzz run, which reads no test database, first.
LONGEST_FIRST = (
    "tests/test_fuzz.py",
    "tests/test_whole_flow.py",
    "tests/test_fault_drills.py",
    "tests/test_due_drills.py",
    "tests/test_start_pages_browser.py",
)


def _kind(item) -> int:
    """0 rolled back, 1 committing, 2 no test database (pytest-django's order)."""
    marker = item.get_closest_marker("django_db")
    fixtures = item.fixturenames
    commits = "transactional_db" in fixtures or "live_server" in fixtures
    if marker:
        commits = (
            commits or marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")
        )
    if commits:
        return 1
    return 0 if marker or "db" in fixtures else 2


@pytest.hookimpl(trylast=True)  # after pytest-django's own order, kept among equals
def pytest_collection_modifyitems(config, items):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {path: place for place, path in enumerate(LONGEST_FIRST)}
    turn = {}  # a long file's tests take turns with the others' (the two whole flows apart)
    for item in items:
        path = item.nodeid.split("::")[0]
        if path in rank:
            turn[item.nodeid] = sum(1 for key in turn if key.startswith(path + "::"))

    def order(item):
        kind, place = _kind(item), rank.get(item.nodeid.split("::")[0], len(rank))
        first = -1 if kind == 2 and place < len(rank) else kind
        return (first, turn.get(item.nodeid, len(items)), place)

    items.sort(key=order)


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the store's default language. A request through the test client
    leaves the thread in the language LocaleMiddleware chose (an English cookie: English),
    and a test after it in the same process read its texts in English."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_file_cache():
    """Without Redis (the embedded default of `make run`), the cache is a folder of files
    that outlives each test's rolled-back transaction. On SQLite a rolled-back row's id is
    given again to the next test's row, so a cache entry keyed by an id (a message the
    provider accepted, for one) spoke for another test's row, and the file cache's culling
    at 300 entries made query counts depend on the tests before. Each test starts with it
    empty. (Redis keys outlive tests too, but PostgreSQL never gives an id twice.)"""
    from django.core.cache import caches
    from django.core.cache.backends.filebased import FileBasedCache

    if isinstance(caches["default"], FileBasedCache):
        caches["default"].clear()
    yield


def pytest_report_header(config):
    return f"database: {os.environ.get('DATABASE_URL') or 'embedded SQLite'}"


@pytest.fixture
def eager():
    """Celery tasks run in-process (set on the app: its conf is read once, not per test)."""
    from dealership.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


class _Published(list):
    """Events seen by a listener; `with published.commit():` runs a service and lets its
    transaction's on-commit work (the publishing) happen, as a real commit would."""

    def __init__(self, capture):
        super().__init__()
        self.commit = lambda: capture(execute=True)

    def of(self, event_type: str) -> list:
        return [event for event in self if event.type == event_type]


@pytest.fixture
def published(django_capture_on_commit_callbacks):
    """The business events published (`dealership.events`) by services run inside
    `published.commit()`."""
    from dealership import events

    seen = _Published(django_capture_on_commit_callbacks)
    events.listen(seen.append)
    yield seen
    events.LISTENERS.remove(seen.append)


@pytest.fixture
def customers_opted_in(db):
    """Every customer created while the test runs has granted reminders and marketing
    (source "import"), as the demo store's customers have: for tests of the call lists that
    are not about consent. Tests of consent itself do not use it."""
    from django.db.models.signals import post_save

    from dealership.models import ConsentPurpose, ConsentRecord, Customer

    def grant(sender, instance, created, raw=False, **kwargs):
        if created and not raw:
            ConsentRecord.objects.bulk_create(
                ConsentRecord(
                    customer=instance,
                    purpose=purpose,
                    granted=True,
                    source="import",
                    text_code=f"consent.{purpose}.grant.v1",
                    text="",
                    language=instance.language,
                )
                for purpose in (ConsentPurpose.REMINDERS, ConsentPurpose.MARKETING)
            )

    post_save.connect(grant, sender=Customer, dispatch_uid="test.customers_opted_in")
    yield
    post_save.disconnect(sender=Customer, dispatch_uid="test.customers_opted_in")


@pytest.fixture
def require_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def deploy_template(settings, tmp_path):
    """deploy_template(name, old, new): from now on `name` is served with `old` replaced by
    `new`, as after a deploy (a new process: its own template loader and templates' digest)."""
    from django.template.loader import get_template

    from dealership.fragments import templates_digest

    def deploy(name: str, old: str, new: str) -> None:
        source = get_template(name).template.source
        assert old in source
        changed = tmp_path / name
        changed.parent.mkdir(parents=True, exist_ok=True)
        changed.write_text(source.replace(old, new))
        template = settings.TEMPLATES[0]
        settings.TEMPLATES = [{**template, "DIRS": [tmp_path, *template["DIRS"]]}]
        templates_digest.cache_clear()

    yield deploy
    templates_digest.cache_clear()


@pytest.fixture
def make_staff(db):
    """make_staff("advisor") -> a logged-in-able user with that role."""
    from dealership.tests.factories import UserFactory

    def make(*roles: str, username: str | None = None):
        kwargs = {"roles": list(roles)}
        if username:
            kwargs["username"] = username
        return UserFactory(**kwargs)

    return make


@pytest.fixture
def advisor_client(client, make_staff):
    client.force_login(make_staff("advisor"))
    return client


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS_DIR = os.environ.get("SCREENSHOT_DIR", "var/screenshots")


@pytest.fixture(scope="session")
def chromium():
    """One headless Debian Chromium for the session, driven by Playwright."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server, request):
    """A fresh browser tab (desk screen size) in Simplified Chinese against the live server.

    `page.base_url` is the server's address; `page.shot("name")` saves a screenshot.
    Mark a test with `@pytest.mark.viewport(width, height)` for a tablet, and
    `@pytest.mark.language("en")` for English.
    """
    viewport = request.node.get_closest_marker("viewport")
    language = request.node.get_closest_marker("language")
    lang = language.args[0] if language else "zh-hans"
    context = chromium.new_context(
        viewport={"width": viewport.args[0], "height": viewport.args[1]}
        if viewport
        else {"width": 1366, "height": 900},
        locale="zh-CN" if lang == "zh-hans" else "en-US",
    )
    context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.base_url = live_server.url

    def shot(name: str):
        os.makedirs(SHOTS_DIR, exist_ok=True)
        tab.screenshot(path=os.path.join(SHOTS_DIR, f"{name}.png"), full_page=True)

    tab.shot = shot
    # Every page must run under the Content-Security-Policy: a refused inline script,
    # handler or style sheet is a console error in Chromium, and fails the test.
    violations = []
    tab.csp_violations = violations

    def on_console(message):
        text = message.text
        if message.type == "error" and ("Content Security Policy" in text or "Refused to" in text):
            violations.append(f"{tab.url}: {text}")

    tab.on("console", on_console)
    yield tab
    context.close()
    if violations:
        pytest.fail("CSP violations in the browser console:\n" + "\n".join(violations))


@pytest.fixture
def login(page):
    """login(user) logs the browser tab in through the real log-in form."""

    def do_login(user, password="pw-for-tests-1"):  # noqa: S107 - the test factories' password
        page.goto(page.base_url + "/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    return do_login
