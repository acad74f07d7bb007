"""The moves of a courtesy car and of a loan (`dealership.transitions`).

A car is lent out only by a check-out and comes back by a return (to maintenance when
damaged); the manager moves an available car to maintenance and back. A loan is booked,
then out, then returned; a booking can be cancelled, a loan out cannot.
"""

from dealership.transitions import StateTable

from .models import CarStatus, LoanStatus

CAR_STATES = StateTable(
    name="loan_car",
    model="loancars.LoanCar",
    statuses=CarStatus,
    allowed={
        CarStatus.AVAILABLE: frozenset({CarStatus.OUT, CarStatus.MAINTENANCE}),
        CarStatus.OUT: frozenset({CarStatus.AVAILABLE, CarStatus.MAINTENANCE}),
        CarStatus.MAINTENANCE: frozenset({CarStatus.AVAILABLE}),
    },
)

LOAN_STATES = StateTable(
    name="loan",
    model="loancars.Loan",
    statuses=LoanStatus,
    allowed={
        LoanStatus.BOOKED: frozenset({LoanStatus.OUT, LoanStatus.CANCELLED}),
        LoanStatus.OUT: frozenset({LoanStatus.RETURNED}),
        LoanStatus.RETURNED: frozenset(),
        LoanStatus.CANCELLED: frozenset(),
    },
)
