"""The cashier's day close (日结): what one store day's money came to, counted and closed.

A day is the store's local date (`TIME_ZONE`, Asia/Shanghai). Every money movement is
counted on the day it happened: a payment on the day its bill was settled, a void on the
day the bill was voided (its payments go back), a refund on the day it was given, a deposit
on the day it was taken or refunded, an official invoice on the day its number was recorded.
What the drawer and each statement should hold, per payment method, is

    paid + deposits taken − payments of voided bills − refunds − deposits refunded

(a deposit credited on a bill moves no money: the bill's payments are what was left to pay).

Once a day is closed nothing may fall on it: every service that records a payment, a void,
a refund, a deposit taken or refunded, or an official invoice calls `refuse_closed_day`
inside its transaction, which refuses when the day of *now* is closed. The guard takes a
shared PostgreSQL advisory lock on the day and the close an exclusive one, so a close waits
for the payments being made and a payment made while the day closes waits and is refused.
The service manager may reopen a day with a reason (a mistake found after the close); the
cashier then closes it again with new counts.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.capacity import day_bounds
from appointments.models import Deposit
from appointments.selectors import deposit_movements
from dealership.errors import DomainError
from dealership.models import User
from dealership.money import PaymentMethod, to_money
from dealership.money import yuan as _yuan
from dealership.roles import Role, has_role
from dealership.text import clean_text
from dealership.transitions import lock_row, move

from .access import CASHIERS
from .models import DayClose, Payment, Refund, Settlement
from .states import DAY_CLOSE_STATES, DayCloseStatus

ZERO = Decimal("0.00")
METHODS: tuple[str, ...] = tuple(PaymentMethod.values)
# The most one method's count or statement may say for a day: far above a store's day.
MAX_COUNT = Decimal("9999999.99")
REASON_MAX_LENGTH = 500
REOPEN_REASON_MAX_LENGTH = 200
# The first day the figures can be asked for (the last is today): far before any store's
# first bill, and well inside what the dates' conversion to UTC can hold.
EARLIEST_DAY = date(2000, 1, 1)
# The first key of the day's advisory lock ("DC"); the second is the day's ordinal.
_LOCK_SPACE = 0x4443


# ---------------------------------------------------------------------------- the figures


@dataclass
class MethodFigures:
    """One payment method's movements on the day, what it should hold and what was counted."""

    method: str
    paid: Decimal = ZERO
    deposits_taken: Decimal = ZERO
    voided: Decimal = ZERO
    refunded: Decimal = ZERO
    deposits_refunded: Decimal = ZERO
    counted: Decimal | None = None

    @property
    def label(self) -> str:
        return str(PaymentMethod(self.method).label)

    @property
    def expected(self) -> Decimal:
        return (
            self.paid + self.deposits_taken - self.voided - self.refunded - self.deposits_refunded
        )

    @property
    def variance(self) -> Decimal | None:
        """Counted less expected: a shortfall is negative."""
        return None if self.counted is None else self.counted - self.expected


@dataclass
class DaySummary:
    """Everything the day close page and its PDF show for one day."""

    day: date
    methods: list[MethodFigures]
    settlements: list[Settlement]
    voided: list[Settlement]
    refunds: list[Refund]
    deposits: dict[str, list[Deposit]]
    invoices: list[Settlement]
    close: DayClose | None = None
    totals: dict[str, Decimal] = field(default_factory=dict)

    @property
    def is_closed(self) -> bool:
        return self.close is not None and self.close.is_closed

    @property
    def has_variance(self) -> bool:
        return any(line.variance for line in self.methods)


def _on(stamp: str, day: date) -> dict[str, datetime]:
    start, end = day_bounds(day, day)
    return {f"{stamp}__gte": start, f"{stamp}__lt": end}


def _bills(**filters) -> QuerySet[Settlement]:
    return (
        Settlement.objects.select_related("visit__customer", "visit__vehicle", "settled_by")
        .prefetch_related(Prefetch("payments", queryset=Payment.objects.order_by("id")))
        .filter(**filters)
        .order_by("settled_at", "id")
    )


def _by_method(rows, amount=lambda row: row.amount, method=lambda row: row.method) -> dict:
    sums: dict[str, Decimal] = {}
    for row in rows:
        sums[method(row)] = sums.get(method(row), ZERO) + amount(row)
    return sums


def day_summary(day: date) -> DaySummary:
    """The day's money by method, with the bills, voids, refunds, deposits and invoices."""
    settlements = list(_bills(**_on("settled_at", day)))
    voided = list(_bills(status=Settlement.Status.VOIDED, **_on("voided_at", day)))
    refunds = list(
        Refund.objects.select_related("settlement__visit", "approved_by")
        .filter(**_on("refunded_at", day))
        .order_by("refunded_at", "id")
    )
    deposits = {
        movement: list(rows.select_related("appointment__customer").order_by("id"))
        for movement, rows in deposit_movements(day).items()
    }
    invoices = list(_bills(**_on("tax_invoice_issued_at", day)))
    for bill in invoices:
        # What the official invoice is for: the customer's share after the adjustment.
        bill.invoiced_amount = bill.customer_total + bill.adjustment_amount
    paid = _by_method(p for s in settlements for p in s.payments.all())
    void_back = _by_method(p for s in voided for p in s.payments.all())
    refunded = _by_method(refunds)
    taken = _by_method(deposits["taken"])
    deposit_back = _by_method(
        deposits["refunded"],
        amount=lambda d: d.refund_amount,
        method=lambda d: d.refund_method,
    )
    close = DayClose.objects.select_related("closed_by", "reopened_by").filter(day=day).first()
    methods = [
        MethodFigures(
            method=method,
            paid=paid.get(method, ZERO),
            deposits_taken=taken.get(method, ZERO),
            voided=void_back.get(method, ZERO),
            refunded=refunded.get(method, ZERO),
            deposits_refunded=deposit_back.get(method, ZERO),
            counted=getattr(close, f"counted_{method}") if close and close.is_closed else None,
        )
        for method in METHODS
    ]
    summary = DaySummary(
        day=day,
        methods=methods,
        settlements=settlements,
        voided=voided,
        refunds=refunds,
        deposits=deposits,
        invoices=invoices,
        close=close,
    )
    summary.totals = _totals(summary)
    return summary


def _total(values) -> Decimal:
    return sum(values, ZERO)


def _totals(summary: DaySummary) -> dict[str, Decimal]:
    methods = summary.methods
    closed = summary.is_closed
    return {
        "paid": _total(m.paid for m in methods),
        "deposits_taken": _total(m.deposits_taken for m in methods),
        "voided": _total(m.voided for m in methods),
        "refunded": _total(m.refunded for m in methods),
        "deposits_refunded": _total(m.deposits_refunded for m in methods),
        "expected": _total(m.expected for m in methods),
        "counted": _total(m.counted for m in methods) if closed else None,
        "variance": _total(m.variance for m in methods) if closed else None,
        "deposits_applied": _total(d.amount for d in summary.deposits["applied"]),
        "deposits_forfeited": _total(d.amount for d in summary.deposits["forfeited"]),
        "invoiced": _total(s.invoiced_amount for s in summary.invoices),
    }


def day_closes(limit: int = 100) -> list[DayClose]:
    """The latest closes, newest day first (the list of past closes)."""
    return list(DayClose.objects.select_related("closed_by", "reopened_by")[:limit])


# ---------------------------------------------------------------------------- the guard


def _day_lock(day: date, *, shared: bool) -> None:
    """The day's advisory lock, held to the end of the transaction (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [_LOCK_SPACE, day.toordinal()])


def refuse_closed_day(*, now: datetime | None = None) -> None:
    """Refuse a money movement (payment, void, refund, deposit, official invoice) whose day,
    the store's day of `now`, is closed. Called inside the movement's transaction."""
    day = timezone.localdate(now or timezone.now())
    _day_lock(day, shared=True)
    if DayClose.objects.filter(day=day, status=DayCloseStatus.CLOSED).exists():
        raise DomainError(
            _(
                "The cashier's day %(day)s is closed: no payment, refund, void, deposit or "
                "official invoice can be recorded on it. The service manager may reopen it."
            )
            % {"day": f"{day:%Y-%m-%d}"},
            code="day_closed",
        )


# ---------------------------------------------------------------------------- close and reopen


def refuse_day_out_of_range(day: date) -> None:
    """A day before `EARLIEST_DAY` or after today has no figures: refused by its field."""
    if not EARLIEST_DAY <= day <= timezone.localdate():
        raise DomainError(
            _("Choose a day from %(first)s to today.") % {"first": f"{EARLIEST_DAY:%Y-%m-%d}"},
            field="day",
            code="day_out_of_range",
        )


def _clean_day(day: Any) -> date:
    if not isinstance(day, date) or isinstance(day, datetime):
        raise DomainError(_("Choose the day to close."), field="day", code="day_missing")
    if day > timezone.localdate():
        raise DomainError(
            _("%(day)s has not come yet: a day is closed at its end, or later.")
            % {"day": f"{day:%Y-%m-%d}"},
            field="day",
            code="future_day",
        )
    refuse_day_out_of_range(day)
    return day


def _clean_count(value: Any, *, field: str) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DomainError(
            _("Enter the amount (0 when there was none)."), field=field, code="count_missing"
        )
    amount = to_money(value, field=field)
    if amount < 0:
        raise DomainError(_("An amount counted is not negative."), field=field, code="negative")
    if amount > MAX_COUNT:
        raise DomainError(
            _("At most %(max)s can be entered for one day.") % {"max": _yuan(MAX_COUNT)},
            field=field,
            code="too_large",
        )
    return amount


def _variances_text(lines: list[MethodFigures]) -> str:
    return ", ".join(
        f"{line.label} {'+' if line.variance > 0 else '−'}{_yuan(abs(line.variance))}"
        for line in lines
    )


def day_close(
    *, day: Any, actor: User, counted: Mapping[str, Any], variance_reason: str = ""
) -> DayClose:
    """Close the cashier's day: the counted cash and each statement's total against what the
    day's movements came to. A variance on any method needs the cashier's reason.

    `counted` maps each payment method (`PaymentMethod`) to the amount entered; refusals
    name the field `counted_<method>`. Refused for a day not come yet or closed already.
    """
    if not has_role(actor, CASHIERS):
        raise DomainError(
            _("Only the cashier or the service manager may close the day."), code="permission"
        )
    day = _clean_day(day)
    amounts = {m: _clean_count(counted.get(m), field=f"counted_{m}") for m in METHODS}
    reason = clean_text(variance_reason, field="variance_reason", max_length=REASON_MAX_LENGTH)
    with transaction.atomic():
        _day_lock(day, shared=False)
        existing = DayClose.objects.filter(day=day).first()
        if existing is not None:
            existing = lock_row(existing)
            if existing.is_closed:
                raise DomainError(
                    _("%(day)s was closed already by %(who)s at %(when)s.")
                    % {
                        "day": f"{day:%Y-%m-%d}",
                        "who": existing.closed_by,
                        "when": f"{timezone.localtime(existing.closed_at):%H:%M}",
                    },
                    field="day",
                    code="already_closed",
                )
        summary = day_summary(day)
        for line in summary.methods:
            line.counted = amounts[line.method]
        off = [line for line in summary.methods if line.variance]
        if off and not reason:
            raise DomainError(
                _("The counts differ from what the day came to (%(off)s): give the reason.")
                % {"off": _variances_text(off)},
                field="variance_reason",
                code="variance_unexplained",
            )
        values: dict[str, Any] = {"variance_reason": reason, "closed_by": actor}
        for line in summary.methods:
            values[f"expected_{line.method}"] = line.expected
            values[f"counted_{line.method}"] = line.counted
        if existing is None:
            return DayClose.objects.create(
                day=day, status=DayCloseStatus.CLOSED, closed_at=timezone.now(), **values
            )
        move(
            DAY_CLOSE_STATES,
            existing,
            DayCloseStatus.CLOSED,
            reason="closed again",
            changes=values,
        )
        return existing


def day_reopen(*, day: Any, actor: User, reason: str) -> DayClose:
    """Reopen a closed day (service manager only, with the reason kept): payments, voids and
    refunds may fall on it again until the cashier closes it anew."""
    if not has_role(actor, [Role.SERVICE_MANAGER]):
        raise DomainError(
            _("Only the service manager may reopen a closed day. Ask them to do it."),
            code="permission",
        )
    reason = clean_text(reason, field="reason", max_length=REOPEN_REASON_MAX_LENGTH, required=True)
    if not isinstance(day, date):
        raise DomainError(_("Choose the day to reopen."), field="day", code="day_missing")
    refuse_day_out_of_range(day)
    with transaction.atomic():
        _day_lock(day, shared=False)
        existing = DayClose.objects.filter(day=day).first()
        if existing is None:
            raise DomainError(
                _("%(day)s has not been closed.") % {"day": f"{day:%Y-%m-%d}"},
                field="day",
                code="not_closed",
            )
        locked = lock_row(existing)
        move(
            DAY_CLOSE_STATES,
            locked,
            DayCloseStatus.REOPENED,
            reason=reason,
            changes={"reopened_by": actor, "reopen_reason": reason},
        )
        return locked
