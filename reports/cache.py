"""The report of a period, computed once and reused until the data behind it changes.

A year of a busy store's bills takes the figures ~0.5 s of PostgreSQL to aggregate; a
manager who opens the month, the week and the month again should not wait each time.
The cache key carries a data version that any save or delete of a row the figures read
(visits, bills, jobs, appointments, calls, complaints, targets, rules…) replaces, so a
report is never older than the last change made through the application. Figures that
move with the clock alone (overdue complaints) are recomputed at least every `TTL`.
Bulk `QuerySet.update()` calls send no signal: what they change shows within `TTL` too.

Parts of the report that read only a few tables (QC checks, complaints, the technicians'
hours, who was seen when…) are kept under those tables' own versions (`kept`): the first
view after a bill is paid counts afresh only what a bill changes.
"""

import hashlib
from collections.abc import Callable
from uuid import uuid4

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils.translation import get_language

from reception.models import Visit
from reception.states import VisitStatus

TTL = 300  # seconds

WATCHED_APPS = {"reception", "workorders", "workshop", "delivery", "followup", "appointments"}
WATCHED_MODELS = {
    "dealership.customer",
    "dealership.vehicle",
    "dealership.technician",
    "dealership.labouroperation",
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
    """Start a new version of everything (tests: rolled-back rows send no signal)."""
    cache.delete_many([_version_key(), _source_key(EPOCH), _source_key(SEEN)])


def _new_version(label: str) -> None:
    cache.set_many({_version_key(): uuid4().hex, _source_key(label): uuid4().hex}, None)


def data_changed(sender, using=None, **kwargs) -> None:
    """A new version, of the data and of the model's rows, at once (the saving request sees
    its own change) and again on commit: a report another request computed between the
    save and the commit, without the row, must not outlive the commit."""
    meta = sender._meta
    if meta.app_label in WATCHED_APPS or meta.label_lower in WATCHED_MODELS:
        _new_version(meta.label_lower)
        transaction.on_commit(lambda: _new_version(meta.label_lower), using=using)


def connect() -> None:
    post_save.connect(data_changed, dispatch_uid="reports-data-changed-save")
    post_delete.connect(data_changed, dispatch_uid="reports-data-changed-delete")
    pre_save.connect(_visit_before_save, sender=Visit, dispatch_uid="reports-seen-before")
    post_save.connect(_visit_saved, sender=Visit, dispatch_uid="reports-seen-save")
    post_delete.connect(_visit_deleted, sender=Visit, dispatch_uid="reports-seen-delete")


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


# ----------------------------------------------------------------------- versions by source

# Each watched model's rows have a version of their own ("app.model", replaced with the
# data version by `data_changed`), and so has who was seen when (`SEEN`, below). `EPOCH`
# stands for every source at once: only `forget` replaces it.
EPOCH = "epoch"
SEEN = "seen"  # who was seen when: see below


def _source_key(source: str) -> str:
    return f"reports:version:{connection.settings_dict['NAME']}:{source}"


def kept_many(parts: list[tuple], *, timeout: int = TTL) -> list:
    """Parts of the report as (name, what else each depends on, e.g. the period, the
    sources it reads, how to compute it), each kept until one of its sources changes, at
    most `timeout`; their values in order. Two cache calls for all the versions and parts, a
    third for the parts computed afresh."""
    names = {source for _name, _on, sources, _compute in parts for source in sources}
    version_keys = {source: _source_key(source) for source in (EPOCH, *sorted(names))}
    current = cache.get_many(list(version_keys.values()))
    fresh = {key: uuid4().hex for key in version_keys.values() if key not in current}
    if fresh:
        cache.set_many(fresh, None)
    current.update(fresh)
    keys = []
    for name, on, sources, _compute in parts:
        found = ":".join(current[version_keys[source]] for source in (EPOCH, *sources))
        digest = hashlib.sha256(found.encode()).hexdigest()[:32]
        keys.append(":".join(["reports", name, connection.settings_dict["NAME"], *on, digest]))
    values = cache.get_many(keys)
    computed = {}
    for key, (_name, _on, _sources, compute) in zip(keys, parts, strict=True):
        if key not in values:
            computed[key] = values[key] = compute()
    if computed:
        cache.set_many(computed, timeout)
    return [values[key] for key in keys]


def kept(name: str, on: list[str], sources, compute: Callable, *, timeout: int = TTL):
    """One part of the report (`kept_many`)."""
    return kept_many([(name, on, sources, compute)], timeout=timeout)[0]


# ----------------------------------------------------------------------- who was seen when

# Customers not seen for 3 / 6 / 12 months (`figures.lost_customers`) read only who each
# visit was for, when it checked in and whether it was cancelled: a year of visits grouped
# per customer; the first-service return (`figures.first_service_cohorts`) reads the same
# of each visit's car. A bill paid, a job finished, a car delivered change none of that, so
# these figures are kept under their own version (`SEEN`), which only a visit created,
# deleted or changed in those fields replaces (at once and on commit, as `data_changed`).
SEEN_FIELDS = ("customer_id", "vehicle_id", "checked_in_at", "status")


def seen_changed() -> None:
    """Visits were written without signals (bulk rows): count who was seen afresh."""
    cache.delete(_source_key(SEEN))


def _bump_seen() -> None:
    cache.set(_source_key(SEEN), uuid4().hex, None)


def _new_seen_version(using=None) -> None:
    _bump_seen()
    transaction.on_commit(_bump_seen, using=using)


def _seen(values: dict) -> tuple:
    """What the counts read of a visit: the customer, the car, the check-in, cancelled or not."""
    return (
        values["customer_id"],
        values["vehicle_id"],
        values["checked_in_at"],
        values["status"] == VisitStatus.CANCELLED,
    )


def _visit_before_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not {f.removesuffix("_id") for f in update_fields} & {
        f.removesuffix("_id") for f in SEEN_FIELDS
    }:
        return
    old = sender._base_manager.filter(pk=instance.pk).values(*SEEN_FIELDS).first()
    new = {name: getattr(instance, name) for name in SEEN_FIELDS}
    instance._report_seen_changed = old is None or _seen(old) != _seen(new)


def _visit_saved(sender, instance, created=False, raw=False, using=None, **kwargs) -> None:
    if created or instance.__dict__.pop("_report_seen_changed", False):
        _new_seen_version(using)


def _visit_deleted(sender, using=None, **kwargs) -> None:
    _new_seen_version(using)
