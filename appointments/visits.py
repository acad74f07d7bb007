"""What appointments reads of the visits that reception keeps.

The booking board lists the walk-ins beside the appointments, the KPIs count them,
and the maintenance invitations start from each car's last maintenance visit.
Reception and work orders sit above this app (they import appointments, never the
other way), so they hand these reads down at app loading (`ReceptionConfig.ready`,
`WorkordersConfig.ready`). Until then there are no visits to read.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime


def _no_walk_ins(first: date, last: date, *, advisor=None, brief: bool = False) -> list:
    return []


def _no_maintenance_visits(vehicle_ids=None) -> Iterable[tuple[int, datetime, int | None]]:
    return ()


@dataclass
class VisitReads:
    # The walk-in visits checked in on the local days first..last, by time, as dicts (see
    # `reception.selectors.walk_in_visits`).
    walk_ins: Callable[..., list] = _no_walk_ins
    # (vehicle id, checked in at, odometer km) of each car's last maintenance visit (of the
    # cars named, when a list of vehicle ids is given).
    maintenance_visits: Callable[..., Iterable[tuple[int, datetime, int | None]]] = (
        _no_maintenance_visits
    )


VISITS = VisitReads()


def visit_reads_register(
    *,
    walk_ins: Callable[..., list] | None = None,
    maintenance_visits: Callable[..., Iterable[tuple[int, datetime, int | None]]] | None = None,
) -> None:
    """Hand down a read of the visits (called from the apps' `ready()`)."""
    if walk_ins is not None:
        VISITS.walk_ins = walk_ins
    if maintenance_visits is not None:
        VISITS.maintenance_visits = maintenance_visits
