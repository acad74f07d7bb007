"""Issue 15 item 8 in the browser: every role's start page on the demo store, at a desk screen
(1366x900) and a tablet (1024x768), in Chinese and English. The screenshots go to
`artifacts/start-pages/` to be looked at; the test asserts what a person would notice: the page
is the role's own work and the menu fits one row."""

import os

import pytest

from demo.steps.appointments import seed_appointments
from demo.steps.delivery import seed_delivery_demo
from demo.steps.followup import seed_followup_demo
from demo.steps.reception import seed_visits
from demo.steps.workshop import seed_workshop_demo
from demo.store import DEMO_PASSWORD, seed_customers, seed_store

pytestmark = pytest.mark.browser

ARTIFACTS = os.path.join("artifacts", "start-pages")
START = {
    # username: (the path the role lands on, a heading or panel its page shows)
    "advisor": ("/", "#start-arrivals"),
    "controller": ("/workshop/", "#board"),
    "tech1": ("/workshop/my-jobs/", "main h2"),
    "qc": ("/workshop/qc/", "main h2"),
    "cashier": ("/delivery/cashier/", "#cashier-queue"),
    "care": ("/followup/calls/", "main h2"),
    "manager": ("/", "#start-day-figures"),
}
SIZES = ((1366, 900), (1024, 768))


@pytest.fixture
def demo_store(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    from django.contrib.auth.models import Group

    from dealership.roles import Role

    for role in Role:
        Group.objects.get_or_create(name=role)
    seed_store()
    seed_customers(30)
    seed_appointments()
    seed_visits()
    seed_workshop_demo()
    seed_delivery_demo()
    seed_followup_demo()


def test_every_role_starts_on_its_own_work_and_the_menu_fits_one_row(
    chromium, live_server, demo_store
):
    os.makedirs(ARTIFACTS, exist_ok=True)
    for lang in ("zh-hans", "en"):
        for username, (path, landmark) in START.items():
            context = chromium.new_context(viewport={"width": 1366, "height": 900})
            context.add_cookies(
                [{"name": "django_language", "value": lang, "url": live_server.url}]
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(live_server.url + "/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/login/" not in url)
            assert page.url == live_server.url + path, (lang, username, page.url)
            page.wait_for_selector(landmark)
            for width, height in SIZES:
                page.set_viewport_size({"width": width, "height": height})
                page.screenshot(
                    path=os.path.join(ARTIFACTS, f"{username}-{lang}-{width}x{height}.png")
                )
                menu = page.locator("header.site nav > ul:first-child")
                wraps = menu.evaluate(
                    "ul => { const [first, ...rest] = [...ul.children]"
                    ".map(li => li.getBoundingClientRect());"
                    " return rest.some(box => box.top >= first.bottom); }"
                )
                # Every role's menu, the manager's in English too, fits one row at a desk.
                if width == 1366:
                    assert not wraps, (lang, username, width, "the menu wraps")
            context.close()
