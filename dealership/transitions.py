"""One shape for every stateful model (STYLE.md "A state move").

An app's `states.py` holds its status choices and a `StateTable`: the one table
of allowed moves, the timestamp each status writes and the refusal a person
reads. Its services move a row with three calls, inside `transaction.atomic()`:

    order = lock_row(order, expected_version=version, stale=_stale_message)
    previous = move(ORDER_STATES, order, OrderStatus.SIGNED, reason=..., changes={...})
    timeline_record(...)  # the service's own words for what happened

`lock_row` re-reads the row under `select_for_update`, `move` checks the table,
stamps the time, saves only the named fields with the version raised and the
reason in history. A refused move raises `DomainError` and writes nothing.
`tests/test_state_tables.py` walks every allowed and every forbidden move of
every table registered here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import DomainError

M = TypeVar("M", bound=models.Model)

# Every table, by name: the state-table tests walk them all.
TABLES: dict[str, StateTable] = {}


@dataclass(frozen=True)
class StateTable:
    """The statuses of one model and the moves allowed between them."""

    name: str
    # The model, as "app_label.ModelName".
    model: str
    statuses: type[models.TextChoices]
    allowed: Mapping[str, frozenset[str]]
    # The field each status writes with the time it is entered.
    stamps: Mapping[str, str] = field(default_factory=dict)
    # Stamps written only the first time the status is entered.
    first_time_only: frozenset[str] = frozenset()
    status_field: str = "status"
    # The row's attribute the refusal names as %(subject)s; empty: the row's str().
    subject_field: str = ""
    # The refusal, marked with gettext_noop: %(subject)s (the row's str()),
    # %(current)s and %(target)s (the statuses' labels).
    refusal: str = ""

    def __post_init__(self):
        missing = set(self.statuses.values) - set(self.allowed)
        unknown = {t for targets in self.allowed.values() for t in targets} - set(
            self.statuses.values
        )
        if missing or unknown:
            raise ValueError(f"{self.name}: statuses without a row {missing}, unknown {unknown}")
        TABLES[self.name] = self

    def allows(self, current: str, to: str) -> bool:
        return to in self.allowed.get(current, frozenset())

    def label(self, status: str) -> str:
        return str(self.statuses(status).label)

    def check(self, row: models.Model, to: str) -> str:
        """Refuse a move the table does not allow; return the current status."""
        current = getattr(row, self.status_field)
        if not self.allows(current, to):
            subject = getattr(row, self.subject_field) if self.subject_field else row
            message = (
                _(self.refusal)
                if self.refusal
                else _("“%(subject)s” is “%(current)s”; it cannot become “%(target)s”.")
            )
            raise DomainError(
                message
                % {"subject": subject, "current": self.label(current), "target": self.label(to)},
                code="transition_not_allowed",
            )
        return current

    def moves(self) -> Iterator[tuple[str, str]]:
        for current, targets in self.allowed.items():
            for to in targets:
                yield current, to

    def forbidden_moves(self) -> Iterator[tuple[str, str]]:
        for current in self.statuses.values:
            for to in self.statuses.values:
                if not self.allows(current, to):
                    yield current, to


def lock_row(
    row: M,
    *,
    related: Iterable[str] = (),
    expected_version: int | str | None = None,
    stale: Callable[[M], str] | None = None,
) -> M:
    """Re-read `row` under a row lock (inside a transaction).

    With `expected_version`, refuse (code `stale`) when someone saved the row
    since the caller read it; `stale(locked)` words the refusal.
    """
    model = type(row)
    queryset = model._default_manager.select_for_update(of=("self",))
    related = tuple(related)
    if related:
        queryset = queryset.select_related(*related)
    locked = queryset.get(pk=row.pk)
    if expected_version is not None and int(expected_version) != locked.version:
        message = (
            stale(locked)
            if stale
            else _("Someone else changed this while you were editing. Reload the page.")
        )
        raise DomainError(message, code="stale")
    return locked


def save_versioned(row: models.Model, fields: Iterable[str], *, reason: str = "") -> None:
    """Save only `fields`, raise the row's version (if it has one), keep `reason` in history."""
    fields = list(dict.fromkeys(fields))
    if hasattr(row, "version"):
        row.version += 1
        fields.append("version")
    if reason:
        # simple_history keeps at most 100 characters of a reason.
        row._change_reason = reason[:100]
    row.save(update_fields=fields)


def move(
    table: StateTable,
    row: models.Model,
    to: str,
    *,
    reason: str = "",
    changes: Mapping[str, Any] | None = None,
    now=None,
    save: bool = True,
) -> str:
    """Move a locked `row` to `to` if the table allows it; return the status it left.

    Writes the status, the status's stamp (`table.stamps`), any `changes`, and
    saves them with `save_versioned` (unless `save=False`: the caller saves a
    row it is creating or still changing). A refused move raises DomainError.
    """
    current = table.check(row, to)
    now = now or timezone.now()
    values: dict[str, Any] = {table.status_field: to}
    stamp = table.stamps.get(to)
    if stamp and not (stamp in table.first_time_only and getattr(row, stamp)):
        values[stamp] = now
    values.update(changes or {})
    for name, value in values.items():
        setattr(row, name, value)
    if save:
        save_versioned(row, values, reason=reason or f"{current} → {to}")
    return current


def move_all(
    table: StateTable,
    rows: models.QuerySet,
    to: str,
    *,
    from_: Iterable[str],
    changes: Mapping[str, Any] | None = None,
    now=None,
) -> int:
    """Move every row of `rows` that is in one of `from_` to `to` in one UPDATE; return how many.

    The set-based path of an engine that claims or closes rows in bulk (the due
    tasks): the table is checked once for each (from, to) pair, and a pair it does
    not allow is a mistake in the code (ValueError), not a refusal to a person.
    The caller holds the rows' locks or accepts that the UPDATE waits for them.
    """
    from_ = tuple(from_)
    forbidden = [current for current in from_ if not table.allows(current, to)]
    if forbidden:
        raise ValueError(f"{table.name}: {forbidden} → {to} is not in the table")
    values: dict[str, Any] = {table.status_field: to}
    stamp = table.stamps.get(to)
    if stamp:
        now = now or timezone.now()
        values[stamp] = Coalesce(F(stamp), Value(now)) if stamp in table.first_time_only else now
    values.update(changes or {})
    return rows.filter(**{f"{table.status_field}__in": from_}).update(**values)
