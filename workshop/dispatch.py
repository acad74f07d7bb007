"""Dispatch by skill and load: which technician the board suggests for a waiting job.

A technician qualifies when their skill level ranks at or above the level the
job's catalogue operation requires. Among those, the one with the most hours
left today gets the job; maintenance goes to the express team (technicians whose
main work type is maintenance) first, other work to the rest first, while the
preferred technicians have the hours. The
controller still picks anyone: this only fills the board's one-click suggestion.

"Hours available today" comes from a swappable provider (the setting
`WORKSHOP_HOURS_AVAILABLE`, a dotted path): by default each technician's shift
length; a roster can answer instead (leave, training, part days).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from dealership.models import SKILL_RANK, SkillLevel, Technician, WorkType

ZERO = Decimal("0")
EXPRESS_WORK_TYPE = WorkType.MAINTENANCE

HoursProvider = Callable[[list[Technician], date], dict[int, Decimal]]


def shift_hours(technicians: list[Technician], day: date) -> dict[int, Decimal]:
    """The default provider: every active technician works their full shift."""
    return {technician.pk: technician.hours_per_day for technician in technicians}


def hours_available(technicians: list[Technician], day: date | None = None) -> dict[int, Decimal]:
    """Each technician's working hours on `day` through the configured provider (no queries
    by default; a roster provider should answer in one query for all technicians)."""
    path = getattr(settings, "WORKSHOP_HOURS_AVAILABLE", "")
    provider: HoursProvider = import_string(path) if path else shift_hours
    return provider(technicians, day or timezone.localdate())


def is_express_technician(technician: Technician) -> bool:
    return technician.work_type == EXPRESS_WORK_TYPE


@dataclass
class Candidate:
    technician: Technician
    remaining: Decimal
    # Read from the technician once: a board's suggestions weigh every candidate per job.
    rank: int = field(init=False)
    express: bool = field(init=False)

    def __post_init__(self):
        self.rank = SKILL_RANK.get(self.technician.skill_level, -1)
        self.express = is_express_technician(self.technician)


def skill_rank(level: str) -> int:
    return SKILL_RANK.get(level or SkillLevel.APPRENTICE, 0)


def suggest(
    *, required_skill: str, work_type: str, hours: Decimal, candidates: Iterable[Candidate]
) -> Candidate | None:
    """The technician for one job: qualified, most hours left, express team first for
    maintenance and last for other work (while the preferred ones still have the job's
    hours today). None: nobody qualifies."""
    needed = skill_rank(required_skill)
    qualified = [c for c in candidates if c.rank >= needed]
    if not qualified:
        return None
    # Maintenance to the express team first; other work to the others first, so the
    # express team stays free for quick jobs. Either way only while they have the hours.
    wants_express = work_type == EXPRESS_WORK_TYPE
    preferred = [c for c in qualified if c.express == wants_express and c.remaining >= hours]
    qualified = preferred or qualified
    # Most hours left; on a tie the lower-ranked hand, so masters stay free for hard jobs.
    return max(qualified, key=lambda c: (c.remaining, -c.rank, -c.technician.pk))


def suggest_for_jobs(jobs: Iterable, candidates: list[Candidate]) -> None:
    """Set `job.suggested` (a Technician or None) on each waiting job, in the board's order.

    Each suggestion books the job's hours on that candidate, so the next job
    goes to whoever then has the most left: the board spreads the day's work.
    Jobs read `required_skill` (from their catalogue operation) and `work_type`.
    """
    for job in jobs:
        choice = suggest(
            required_skill=getattr(job, "required_skill", "") or "",
            work_type=job.work_type,
            hours=job.hours,
            candidates=candidates,
        )
        job.suggested = choice.technician if choice else None
        if choice:
            choice.remaining -= job.hours


def candidates_from_loads(loads) -> list[Candidate]:
    """Board loads (technician, assigned hours, available hours) as dispatch candidates."""
    return [Candidate(technician=load.technician, remaining=load.remaining) for load in loads]
