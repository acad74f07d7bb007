"""The page-form fuzzer (tests/formfuzz.py) on a small demo store, as every role.

The short cut (in `make test`) crawls a few pages per role and sends the most telling
hostile values to every form found, all fields at once. The long run (`make form-fuzz`,
FORM_FUZZ_LONG=1) crawls up to FORM_FUZZ_PAGES pages per role and tries every value on
every field one at a time, at most FORM_FUZZ_SECONDS per role. Both print what was
tried and fail on any finding that is not in KNOWN (findings owned by other parts of
issue 14, listed with their item).
"""

import os
import time

import pytest

from .formfuzz import SHORT_VALUES, Fuzzer, Report, db_writes, shape

ROLES = ["advisor", "controller", "tech1", "qc", "cashier", "care", "manager", "admin"]

# (kind, URL shape, field or "*") found by the fuzzer and fixed by another helper of
# issue 14; each shows in the report as "known" until its fix is merged, then comes off.
KNOWN: set[tuple[str, str, str]] = {
    # Marking ready is accepted and answers 200 with its notice shown as an alert, which the
    # fuzzer cannot tell from a refusal re-rendered with a message.
    ("changed_when_refused", "/delivery/visits/#/ready/", "*"),
}


def _known(finding) -> bool:
    return any((finding.kind, shape(finding.url), name) in KNOWN for name in (finding.field, "*"))


@pytest.fixture
def demo_store(require_postgres, db, settings):
    """The demo store of `seed_demo` with 10 customers (rolled back after the test)."""
    from demo.steps.appointments import seed_appointments
    from demo.steps.delivery import seed_delivery_demo
    from demo.steps.followup import seed_followup_demo
    from demo.steps.reception import seed_visits
    from demo.steps.workshop import seed_workshop_demo
    from demo.store import seed_customers, seed_store

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    started, writes = time.monotonic(), db_writes()
    seed_store()
    seed_customers(int(os.environ.get("FORM_FUZZ_CUSTOMERS", "10")))
    seed_appointments()
    seed_visits()
    seed_workshop_demo()
    seed_delivery_demo()
    seed_followup_demo()
    print(f"form fuzz: demo store seeded in {time.monotonic() - started:.1f} s")
    # The "nothing changed" check reads the transaction's own write counters: they move.
    assert db_writes() > writes


def _run(client, *, seconds_per_role: float | None = None, **options) -> Report:
    from django.contrib.auth import get_user_model

    report = Report()
    started = time.monotonic()
    for username in ROLES:
        client.force_login(get_user_model().objects.get(username=username))
        deadline = time.monotonic() + seconds_per_role if seconds_per_role else None
        fuzzer = Fuzzer(client, username, report=report, deadline=deadline, **options)
        fuzzer.fuzz(fuzzer.crawl("/"))
    report.seconds = time.monotonic() - started
    return report


def _check(report: Report) -> None:
    print(report.summary())
    new = [f for f in report.findings if not _known(f)]
    for finding in report.findings:
        print(("NEW   " if finding in new else "known ") + str(finding))
    assert report.requests > 0 and report.forms > 0
    assert new == [], "\n".join(str(f) for f in new[:40])


def test_a_short_form_fuzz_as_every_role(client, demo_store):
    report = _run(
        client,
        max_pages=12,
        per_shape=1,
        max_forms=8,
        values=SHORT_VALUES,
        per_field=False,
        seconds_per_role=3,
    )
    _check(report)


@pytest.mark.skipif(not os.environ.get("FORM_FUZZ_LONG"), reason="make form-fuzz runs it")
@pytest.mark.timeout(7200)
def test_the_long_form_fuzz_as_every_role(client, demo_store):
    report = _run(
        client,
        max_pages=int(os.environ.get("FORM_FUZZ_PAGES", "150")),
        per_shape=2,
        max_forms=1000,
        values=None,
        per_field=True,
        seconds_per_role=float(os.environ.get("FORM_FUZZ_SECONDS", "900")),
    )
    _check(report)
