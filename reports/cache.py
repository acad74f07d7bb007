"""The report of a period, computed once and reused until the data behind it changes.

A year of a busy store's bills takes the figures ~0.5 s of PostgreSQL to aggregate; a
manager who opens the month, the week and the month again should not wait each time.
The cache key carries a data version that any save or delete of a row the figures read
(visits, bills, jobs, appointments, calls, complaints, targets, rules…) replaces, so a
report is never older than the last change made through the application. Figures that
move with the clock alone (overdue complaints) are recomputed at least every `TTL`.
Bulk `QuerySet.update()` calls send no signal: what they change shows within `TTL` too.
"""

from collections.abc import Callable
from uuid import uuid4

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import get_language

TTL = 300  # seconds

WATCHED_APPS = {"reception", "workorders", "workshop", "delivery", "followup", "appointments"}
WATCHED_MODELS = {
    "dealership.customer",
    "dealership.vehicle",
    "dealership.technician",
    "dealership.storerule",
    "reports.reporttarget",
}


def _version_key() -> str:
    # Per database: two databases behind one cache (a test run beside the demo) never
    # share a report.
    return f"reports:data-version:{connection.settings_dict['NAME']}"


def data_version() -> str:
    """The current data version, with the database's name: part of every report's key."""
    key = _version_key()
    version = cache.get(key)
    if version is None:
        version = uuid4().hex
        cache.set(key, version, None)
    return f"{connection.settings_dict['NAME']}:{version}"


def forget() -> None:
    """Start a new version (tests: rolled-back rows send no signal)."""
    cache.delete(_version_key())


def _new_version() -> None:
    cache.set(_version_key(), uuid4().hex, None)


def data_changed(sender, using=None, **kwargs) -> None:
    """A new version at once (the saving request sees its own change) and again on commit:
    a report another request computed between the save and the commit, without the row,
    must not outlive the commit."""
    meta = sender._meta
    if meta.app_label in WATCHED_APPS or meta.label_lower in WATCHED_MODELS:
        _new_version()
        transaction.on_commit(_new_version, using=using)


def connect() -> None:
    post_save.connect(data_changed, dispatch_uid="reports-data-changed-save")
    post_delete.connect(data_changed, dispatch_uid="reports-data-changed-delete")


def cached(name: str, period, compute: Callable):
    """A section of the period's report page (labels in the request's language), kept like
    the report: until a row behind it changes, at most `TTL`."""
    key = ":".join(
        [
            "reports",
            name,
            period.kind,
            period.first.isoformat(),
            get_language() or "",
            data_version(),
        ]
    )
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, TTL)
    return value
