"""Reads of the courtesy car pages."""

from datetime import timedelta

from django.db.models import Prefetch
from django.utils import timezone

from appointments.states import Status

from .models import Loan, LoanCar, LoanStatus


def fleet() -> list[LoanCar]:
    """Every car with its loan out now (if any), for the fleet and the advisor's page."""
    cars = LoanCar.objects.prefetch_related(
        Prefetch(
            "loans",
            queryset=Loan.objects.filter(status=LoanStatus.OUT).select_related("customer", "visit"),
            to_attr="out_now",
        )
    )
    result = list(cars)
    for car in result:
        car.current = car.out_now[0] if car.out_now else None
    return result


def bookings(*, days: int = 14) -> list[Loan]:
    today = timezone.localdate()
    return list(
        Loan.objects.filter(
            status=LoanStatus.BOOKED,
            booked_for__gte=today,
            booked_for__lte=today + timedelta(days=days),
        )
        # A cancelled or missed appointment no longer holds its car.
        .exclude(appointment__status__in=[Status.CANCELLED, Status.NO_SHOW])
        .select_related("car", "customer", "appointment")
        .order_by("booked_for", "car__plate")
    )


def recent_returns(*, limit: int = 20) -> list[Loan]:
    return list(
        Loan.objects.filter(status=LoanStatus.RETURNED)
        .select_related("car", "customer", "visit")
        .order_by("-returned_at")[:limit]
    )


def loan_detail(pk: int) -> Loan:
    return (
        Loan.objects.select_related("car", "customer", "visit", "appointment", "out_by")
        .prefetch_related("photos")
        .get(pk=pk)
    )


def visit_loans(visit) -> list[Loan]:
    return list(Loan.objects.filter(visit=visit).select_related("car").order_by("-out_at"))
