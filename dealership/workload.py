"""Who works which day and what is already in the workshop, for the steps below the workshop.

Capacity (appointments) and the promise suggestion (workorders) stand below the workshop,
which owns the roster and the cars in work. The workshop registers its readers here in its
AppConfig.ready(), like the menu (`navigation.py`), so no step imports one above it. Without
a registered reader every technician works every open day and nothing is carried over.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal("0")


@dataclass
class CarryOver:
    """Cars still in the workshop at the last close, and the hours they still need by work type."""

    day: date | None = None
    cars: int = 0
    hours: dict[str, Decimal] = field(default_factory=dict)


_READERS: dict[str, Callable] = {}


def register_readers(*, absences: Callable, carry_over: Callable, queue_hours: Callable) -> None:
    """`absences(first, last)` -> {(technician id, day): hours off, None for the whole day};
    `carry_over(first, last, opening=)` -> the CarryOver of the next open day (its `day`
    None when that day is not within first..last; `opening`, when given, holds the opening
    hours already read for first..last and the weeks around today, {day: (opens, closes,
    holiday name)}, so the reader need not read them again);
    `queue_hours(exclude_visit_id=)` -> the hours of work still left on the cars in the
    workshop."""
    _READERS["absences"] = absences
    _READERS["carry_over"] = carry_over
    _READERS["queue_hours"] = queue_hours


def absences(first: date, last: date) -> dict[tuple[int, date], Decimal | None]:
    reader = _READERS.get("absences")
    return reader(first, last) if reader else {}


def carry_over(first: date, last: date, *, opening: dict | None = None) -> CarryOver:
    reader = _READERS.get("carry_over")
    return reader(first, last, opening=opening) if reader else CarryOver()


def queue_hours(*, exclude_visit_id: int | None = None) -> Decimal | None:
    """Hours of work left on the cars in the workshop; None without a registered reader."""
    reader = _READERS.get("queue_hours")
    return reader(exclude_visit_id=exclude_visit_id) if reader else None


def working_hours(
    hours_per_day: Decimal, span: Decimal, absent: dict, technician_id: int, day: date
) -> Decimal:
    """A technician's hours on a day: the day's span at most, less the roster's hours off."""
    hours = min(hours_per_day, span)
    if (technician_id, day) not in absent:
        return hours
    off = absent[(technician_id, day)]
    return ZERO if off is None else max(hours - off, ZERO)
