"""Reads of steps 6–7 shared by the pages, the PDFs, the API and the services.

`bill_for(visit)` prices the work order in force as the cashier will charge it
(catalogue hours unless the store bills clocked hours) and compares the
customer's share with the signed estimate plus approved additional work.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from appointments.capacity import openings
from appointments.models import Deposit
from appointments.selectors import deposits_held
from dealership.daterange import add_months
from dealership.models import DueTask, DueTaskState, MaintenancePlan, MaintenancePlanPart, Message
from dealership.money import cents
from dealership.rules import rule
from dealership.staff_names import staff_name
from dealership.urltools import url_for_pk
from dealership.visibility import shown
from reception.models import DeclinedWork, InsuranceCase, ValuablesHandling, Visit
from reception.states import VisitStatus
from workorders.models import (
    JobType,
    LineKind,
    OrderStatus,
    Payer,
    PaymentMethod,
    WorkOrder,
    WorkOrderLine,
)
from workshop import selectors as workshop_selectors

from .duties import READY_NOTICE
from .models import (
    Delivery,
    LabourBasis,
    Payment,
    Refund,
    Settlement,
    SettlementLine,
    TaxInvoiceKind,
)

ZERO = Decimal("0.00")

# Where the visit may be before QC has passed: it cannot be settled or checked yet.
BEFORE_QC = frozenset(
    {
        VisitStatus.CHECKED_IN,
        VisitStatus.ORDER_SIGNED,
        VisitStatus.DISPATCHED,
        VisitStatus.IN_PROGRESS,
        VisitStatus.ON_HOLD,
        VisitStatus.WORK_DONE,
        VisitStatus.QC_FAILED,
        VisitStatus.REWORK,
    }
)
# Visits on the delivery board: from QC passed until the car has left.
BOARD_STATUSES = (VisitStatus.QC_PASSED, VisitStatus.READY_FOR_PICKUP, VisitStatus.SETTLED)


def money(value: Decimal) -> Decimal:
    return cents(value)


def plain_number(value: Decimal) -> str:
    """10.00 → "10", 1.50 → "1.5" (never "1E+1")."""
    return f"{value.normalize():f}"


# ---------------------------------------------------------------------------- orders


def _lines_prefetch() -> Prefetch:
    return Prefetch(
        "lines",
        queryset=WorkOrderLine.objects.select_related("operation").order_by("position", "id"),
    )


def order_in_force(visit: Visit) -> WorkOrder | None:
    """The signed revision in force, with its lines (and their catalogue operations)."""
    return (
        WorkOrder.objects.filter(visit=visit, status=OrderStatus.SIGNED)
        .prefetch_related(_lines_prefetch())
        .order_by("-revision")
        .first()
    )


def pending_revision(visit: Visit) -> WorkOrder | None:
    """A later revision still waiting for the customer's signature, if any."""
    return (
        WorkOrder.objects.filter(visit=visit, status=OrderStatus.DRAFT, revision__gt=1)
        .order_by("-revision")
        .first()
    )


def signed_estimate(visit: Visit) -> Decimal:
    """What the customer agreed to pay when signing the first revision."""
    value = (
        WorkOrder.objects.filter(visit=visit, revision=1)
        .exclude(status=OrderStatus.DRAFT)
        .values_list("estimate_total", flat=True)
        .first()
    )
    return value if value is not None else ZERO


def clocked_hours_by_line(order: WorkOrder) -> dict[int, Decimal]:
    """Hours clocked per work-order line (see workshop.selectors)."""
    return workshop_selectors.clocked_hours_by_line(order=order)


def workshop_lines_not_done(order: WorkOrder) -> list[WorkOrderLine]:
    """Labour lines of the order with no finished job behind them (see workshop.selectors)."""
    return workshop_selectors.workshop_lines_not_done(order=order)


# ---------------------------------------------------------------------------- the bill


@dataclass
class BillLine:
    line: WorkOrderLine
    hours: Decimal
    gross: Decimal
    discount: Decimal
    amount: Decimal
    # On an insurance line: the part of `amount` the customer pays (see insurance_split).
    customer_share: Decimal = Decimal("0.00")

    @property
    def payer(self) -> str:
        return self.line.payer

    @property
    def payer_amount(self) -> Decimal:
        """What the line's own payer pays of it (the amount less the customer's share)."""
        return self.amount - self.customer_share

    @property
    def payer_label(self):
        return Payer(self.line.payer).label


@dataclass
class Bill:
    order: WorkOrder
    lines: list[BillLine]
    labour_basis: str
    labour_total: Decimal
    parts_total: Decimal
    discount_total: Decimal
    total: Decimal
    by_payer: dict[str, Decimal]
    estimate_total: Decimal
    approved_additions: Decimal
    tolerance_percent: Decimal
    estimate_limit: Decimal
    approved_amount: Decimal | None = None
    clocked_missing: bool = False
    # Deposits paid ahead on the visit's appointment, credited on this bill.
    deposits: list[Deposit] = field(default_factory=list)
    # The insurance job's split of the insurance lines, when the order has any.
    insurance: "InsuranceSplit | None" = None

    @property
    def insurance_customer_share(self) -> Decimal:
        return self.insurance.customer if self.insurance else ZERO

    @property
    def vat_percent(self) -> str:
        return plain_number(self.order.vat_rate * 100)

    @property
    def tolerance_text(self) -> str:
        return plain_number(self.tolerance_percent)

    @property
    def labour_basis_label(self):
        return LabourBasis(self.labour_basis).label

    @property
    def customer_total(self) -> Decimal:
        return self.by_payer.get(Payer.CUSTOMER, ZERO)

    def due_with(self, adjustment: Decimal = ZERO) -> Decimal:
        return self.customer_total + adjustment

    @property
    def deposit_total(self) -> Decimal:
        return sum((d.amount for d in self.deposits), ZERO)

    def to_pay(self, adjustment: Decimal = ZERO) -> Decimal:
        """What the customer pays at the till: the amount due less the deposits held."""
        return self.due_with(adjustment) - self.deposit_total

    def over_limit(self, adjustment: Decimal = ZERO) -> bool:
        # The insurance excess is the insurer's decision, not part of the signed estimate.
        return self.due_with(adjustment) - self.insurance_customer_share > self.estimate_limit

    def needs_approval(self, adjustment: Decimal = ZERO) -> bool:
        """Over the limit and not (or not enough) approved by the customer."""
        due = self.due_with(adjustment) - self.insurance_customer_share
        return due > self.estimate_limit and (
            self.approved_amount is None or due > self.approved_amount
        )

    def vat_of(self, amount: Decimal) -> Decimal:
        rate = self.order.vat_rate
        if not amount:
            return ZERO
        return money(amount - amount / (1 + rate))

    def payer_rows(self) -> list[tuple[str, object, Decimal]]:
        return [(p, Payer(p).label, self.by_payer[p]) for p in Payer.values if p in self.by_payer]


def _bill_line(line: WorkOrderLine, clocked: dict[int, Decimal] | None) -> BillLine:
    hours = line.hours
    gross = line.gross
    # A line nobody clocked (no job, or zero hours) stays at its catalogue hours.
    if clocked and clocked.get(line.pk) and line.kind == LineKind.LABOUR and line.hours:
        # The catalogue price per standard hour, times the hours actually clocked.
        hours = clocked[line.pk]
        gross = money(line.unit_price * hours / line.hours)
    discount = money(gross * line.discount_percent / 100)
    return BillLine(line=line, hours=hours, gross=gross, discount=discount, amount=gross - discount)


def bill_for(visit: Visit, *, order: WorkOrder | None = None, delivery=None) -> Bill | None:
    """Price the order in force as it will be charged; None when no order is signed."""
    order = order or order_in_force(visit)
    if order is None:
        return None
    clocked = None
    basis = LabourBasis.CATALOGUE
    clocked_missing = False
    if rule("delivery.bill_clocked_hours"):
        clocked = clocked_hours_by_line(order)
        if clocked is None:
            clocked_missing = True
        else:
            basis = LabourBasis.CLOCKED
    lines = [_bill_line(line, clocked) for line in order.lines.all()]
    by_payer: dict[str, Decimal] = {}
    for item in lines:
        by_payer[item.payer] = by_payer.get(item.payer, ZERO) + item.amount
    insurance = insurance_apply(visit, lines, by_payer)
    estimate = signed_estimate(visit)
    additions = sum(
        (ln.amount for ln in order.lines.all() if ln.is_additional and ln.payer == Payer.CUSTOMER),
        ZERO,
    )
    tolerance = rule("workorders.estimate_tolerance_percent")
    limit = money((estimate + additions) * (100 + tolerance) / 100)
    if delivery is None:
        delivery = Delivery.objects.filter(visit=visit).first()
    return Bill(
        order=order,
        lines=lines,
        labour_basis=basis,
        labour_total=sum((i.amount for i in lines if i.line.kind != LineKind.PART), ZERO),
        parts_total=sum((i.amount for i in lines if i.line.kind == LineKind.PART), ZERO),
        discount_total=sum((i.discount for i in lines), ZERO),
        total=sum((i.amount for i in lines), ZERO),
        by_payer=by_payer,
        estimate_total=estimate,
        approved_additions=additions,
        tolerance_percent=tolerance,
        estimate_limit=limit,
        approved_amount=delivery.overrun_approved_amount if delivery else None,
        clocked_missing=clocked_missing,
        deposits=deposits_held(visit.appointment_id),
        insurance=insurance,
    )


# ---------------------------------------------------------------------------- insurance


@dataclass
class InsuranceSplit:
    """How the insurance lines (total T) are paid: the insurer min(T, A) − E (never below
    zero), the customer the rest of T (the excess plus anything above the approval)."""

    case: InsuranceCase | None
    total: Decimal
    approved: Decimal | None
    excess: Decimal
    insurer: Decimal
    customer: Decimal

    @property
    def pending(self) -> bool:
        """No approved amount yet: the bill cannot be settled."""
        return self.approved is None


def insurance_split(total: Decimal, approved: Decimal | None, excess: Decimal) -> tuple:
    """(insurer, customer) shares of insurance lines totalling `total`: the rule, once.

    Without an approved amount the insurer is shown the whole total (the bill is not
    settled until the adjuster's figure is recorded).
    """
    if approved is None:
        return total, ZERO
    insurer = max(min(total, approved) - excess, ZERO)
    return insurer, total - insurer


def _shares_by_line(amounts: list[Decimal], share: Decimal) -> list[Decimal]:
    """`share` spread over the lines in proportion to their amounts, to the cent: each line
    gets its share rounded down, the cents left go to the largest remainders (never more
    than a line's amount, the parts adding up exactly)."""
    total = sum(amounts, ZERO)
    if not share or not total:
        return [ZERO for _amount in amounts]
    cents_total, share_cents = int(total * 100), int(share * 100)
    exact = [int(a * 100) * share_cents for a in amounts]  # × 1/cents_total each
    parts = [e // cents_total for e in exact]
    left = share_cents - sum(parts)
    order = sorted(range(len(amounts)), key=lambda i: (-(exact[i] % cents_total), i))
    for i in order[:left]:
        parts[i] += 1
    return [Decimal(p) / 100 for p in parts]


def insurance_apply(visit: Visit, lines: list[BillLine], by_payer: dict) -> InsuranceSplit | None:
    """Split the insurance lines between insurer and customer by the visit's insurance job
    (`by_payer` and each line's `customer_share` are set); None without insurance lines."""
    insured = [item for item in lines if item.line.job_type == JobType.INSURANCE]
    if not insured:
        return None
    case = InsuranceCase.objects.filter(visit_id=visit.pk).first()
    total = sum((item.amount for item in insured), ZERO)
    approved = case.approved_amount if case else None
    excess = case.excess if case else ZERO
    insurer, customer = insurance_split(total, approved, excess)
    for item, share in zip(
        insured, _shares_by_line([i.amount for i in insured], customer), strict=True
    ):
        item.customer_share = share
    by_payer[Payer.INSURER] = insurer
    if customer:
        by_payer[Payer.CUSTOMER] = by_payer.get(Payer.CUSTOMER, ZERO) + customer
    return InsuranceSplit(
        case=case, total=total, approved=approved, excess=excess, insurer=insurer, customer=customer
    )


# ---------------------------------------------------------------------------- settlements


def settlement_queryset() -> QuerySet[Settlement]:
    return Settlement.objects.select_related(
        "visit__customer", "visit__vehicle", "visit__advisor", "settled_by", "voided_by"
    ).prefetch_related(
        Prefetch("lines", queryset=SettlementLine.objects.order_by("position", "id")),
        Prefetch("payments", queryset=Payment.objects.order_by("id")),
        Prefetch("refunds", queryset=Refund.objects.select_related("approved_by")),
    )


def paid_settlement(visit: Visit) -> Settlement | None:
    return settlement_queryset().filter(visit=visit, status=Settlement.Status.PAID).first()


def settlement_detail(pk: int) -> Settlement:
    return settlement_queryset().get(pk=pk)


def deposits_credited(settlement: Settlement) -> list[Deposit]:
    """The deposits this bill credited (shown as lines reducing the amount due)."""
    return list(Deposit.objects.filter(settlement_id=settlement.pk).order_by("taken_at", "id"))


def refunded_total(settlement: Settlement) -> Decimal:
    return sum((r.amount for r in settlement.refunds.all()), ZERO)


def _day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the store's time zone."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def settled_on(day: date) -> Q:
    """Bills settled on `day` in the store's time zone."""
    start = _day_start(day)
    return Q(settled_at__gte=start, settled_at__lt=start + timedelta(days=1))


def settled_rows(day: date | None = None) -> list[dict]:
    """The day's bills as the cashier's list prints them (no lines), newest first: plain
    values, each with its payments (one query: a bill's row once per payment, in order)."""
    status_labels = {value: str(label) for value, label in Settlement.Status.choices}
    method_labels = {value: str(label) for value, label in PaymentMethod.choices}
    bills = {}
    for pk, number, visit_id, amount_due, status, visit_number, customer, method, amount in (
        Settlement.objects.filter(settled_on(day or timezone.localdate()))
        .order_by("-settled_at", "-id", "payments__id")
        .values_list(
            "id",
            "invoice_number",
            "visit_id",
            "amount_due",
            "status",
            "visit__number",
            "visit__customer__name",
            "payments__method",
            "payments__amount",
        )
    ):
        bill = bills.get(pk)
        if bill is None:
            bill = bills[pk] = {
                "id": pk,
                "invoice_number": number,
                "visit_id": visit_id,
                "amount_due": amount_due,
                "visit_number": visit_number,
                "customer_name": customer,
                "status_label": status_labels.get(status, ""),
                "payments": [],
            }
        if method is not None:
            bill["payments"].append(
                {"method_label": method_labels.get(method, method), "amount": amount}
            )
    return list(bills.values())


def _awaiting_tax_invoice(start: date | None, end: date | None) -> QuerySet[Settlement]:
    bills = Settlement.objects.filter(status=Settlement.Status.PAID, tax_invoice_number="").exclude(
        tax_invoice_kind=TaxInvoiceKind.NONE
    )
    if start is not None:
        bills = bills.filter(settled_at__gte=_day_start(start))
    if end is not None:
        bills = bills.filter(settled_at__lt=_day_start(end + timedelta(days=1)))
    return bills.order_by("settled_at", "id")


def settlements_awaiting_tax_invoice(
    *, start: date | None = None, end: date | None = None
) -> list[Settlement]:
    """Paid bills whose customer asked for an official invoice not recorded yet, oldest first;
    with `start`/`end`, those settled on those days (inclusive)."""
    return list(
        _awaiting_tax_invoice(start, end).select_related("visit__customer", "visit__vehicle")
    )


def awaiting_tax_invoice_rows() -> list[dict]:
    """`settlements_awaiting_tax_invoice` as the cashier's list prints it (plain values)."""
    kind_labels = {value: str(label) for value, label in TaxInvoiceKind.choices}
    return [
        {
            "invoice_number": invoice_number,
            "settled_at": settled_at,
            "visit_id": visit_id,
            "buyer_name": buyer_name,
            "buyer_tax_number": buyer_tax_number,
            "amount_due": amount_due,
            "visit_number": visit_number,
            "kind_label": kind_labels.get(kind, ""),
        }
        for (
            invoice_number,
            settled_at,
            visit_id,
            kind,
            buyer_name,
            buyer_tax_number,
            amount_due,
            visit_number,
        ) in _awaiting_tax_invoice(None, None).values_list(
            "invoice_number",
            "settled_at",
            "visit_id",
            "tax_invoice_kind",
            "buyer_name",
            "buyer_tax_number",
            "amount_due",
            "visit__number",
        )
    ]


# ---------------------------------------------------------------------------- pages


def _visit_queryset() -> QuerySet[Visit]:
    return Visit.objects.select_related("customer", "vehicle", "advisor", "delivery")


def visit_for_delivery(pk: int) -> Visit:
    return _visit_queryset().prefetch_related("belongings", "damage_marks").get(pk=pk)


def _on_delivery_board() -> Q:
    """Cars from QC passed until they leave, plus those handed back today."""
    return Q(status__in=BOARD_STATUSES) | Q(delivered_at__gte=_day_start(timezone.localdate()))


def delivery_board() -> list[Visit]:
    return list(
        _visit_queryset()
        .filter(_on_delivery_board())
        .prefetch_related(
            Prefetch(
                "settlements",
                queryset=Settlement.objects.filter(status=Settlement.Status.PAID),
                to_attr="paid_settlements",
            )
        )
        .order_by("promised_at", "id")
    )


def delivery_board_rows() -> list[dict]:
    """`delivery_board` as the board page prints it, one dict of plain values a car (one
    query: a visit has at most one paid bill, `delivery_one_paid_per_visit`)."""
    status_labels = {value: str(label) for value, label in VisitStatus.choices}
    visit_url = url_for_pk("delivery:visit")
    here = timezone.get_current_timezone()
    paid_invoice = (
        Settlement.objects.filter(visit_id=OuterRef("pk"), status=Settlement.Status.PAID)
        .order_by()
        .values("invoice_number")
    )
    rows = (
        Visit.objects.filter(_on_delivery_board())
        .order_by("promised_at", "id")
        .values_list(
            "id",
            "number",
            "status",
            "promised_at",
            "vehicle__plate",
            "customer__name",
            "advisor__first_name",
            "advisor__last_name",
            "advisor__username",
            "delivery__final_check_at",
            "delivery__gate_pass_number",
            Subquery(paid_invoice),
        )
    )
    return [
        {
            "url": visit_url(pk),
            "number": number,
            "plate": plate,
            "customer_name": customer_name,
            # dealership.staff_names.name_in
            "advisor_name": "" if username is None else staff_name(first, last, username),
            # local_text's "%m-%d %H:%M", the time zone looked up once
            "promised_text": f"{promised_at.astimezone(here):%m-%d %H:%M}" if promised_at else "",
            "status_label": status_labels.get(status, status),
            "final_checked": final_check_at is not None,
            "invoice_numbers": [] if invoice_number is None else [invoice_number],
            "gate_pass_number": gate_pass_number,
        }
        for (
            pk,
            number,
            status,
            promised_at,
            plate,
            customer_name,
            first,
            last,
            username,
            final_check_at,
            gate_pass_number,
            invoice_number,
        ) in rows
    ]


def _to_settle() -> Q:
    """Cars ready to settle, and settled cars still waiting for their gate pass."""
    return Q(status=VisitStatus.READY_FOR_PICKUP) | Q(
        status=VisitStatus.SETTLED, delivery__gate_pass_issued_at__isnull=True
    )


def cashier_queue_rows(viewer) -> list[dict]:
    """`cashier_queue` as the cashier's list prints it, one dict of plain values a car; the
    mobile as `viewer` may see it.

    One query: whether a car has a paid bill is a subquery, and `_to_settle`'s gate pass
    test is made here on the few cars ready or settled (PostgreSQL took about 2 ms to plan
    that OR across the visit and its delivery, ten times the query's own run).
    """
    paid = Settlement.objects.filter(
        visit_id=OuterRef("pk"), status=Settlement.Status.PAID
    ).order_by()
    rows = (
        Visit.objects.filter(status__in=(VisitStatus.READY_FOR_PICKUP, VisitStatus.SETTLED))
        .order_by("ready_at", "id")
        .values_list(
            "id",
            "number",
            "ready_at",
            "status",
            "vehicle__plate",
            "customer__name",
            "customer__mobile",
            "delivery__final_check_at",
            "delivery__gate_pass_issued_at",
            Exists(paid),
        )
    )
    return [
        {
            "pk": pk,
            "number": number,
            "plate": plate,
            "customer_name": customer_name,
            "mobile": shown(viewer, "mobile", mobile),
            "ready_at": ready_at,
            "final_checked": final_check_at is not None,
            "paid": has_paid_bill,
        }
        for (
            pk,
            number,
            ready_at,
            status,
            plate,
            customer_name,
            mobile,
            final_check_at,
            gate_pass_issued_at,
            has_paid_bill,
        ) in rows
        if status == VisitStatus.READY_FOR_PICKUP or gate_pass_issued_at is None
    ]


def cashier_queue() -> list[Visit]:
    return list(
        _visit_queryset()
        .filter(_to_settle())
        .prefetch_related(
            Prefetch(
                "settlements",
                queryset=Settlement.objects.filter(status=Settlement.Status.PAID),
                to_attr="paid_settlements",
            )
        )
        .order_by("ready_at", "id")
    )


@dataclass
class ReadyNoticeState:
    """What the customer was told that the car is ready, and what is still to go."""

    sent: list  # Message rows, oldest first
    due_at: datetime | None  # a notice still to go (not after delivery)
    failed: bool
    cancelled: bool


def ready_notice_state(visit: Visit) -> ReadyNoticeState:
    """The ready notice from the Message rows and the due task, in two queries."""
    visit_type = ContentType.objects.get_for_model(Visit)
    sent = list(
        Message.objects.filter(
            subject_type=visit_type, subject_id=visit.pk, template="delivery_ready"
        ).order_by("sent_at", "id")
    )
    task = DueTask.objects.filter(
        subject_type=visit_type, subject_id=visit.pk, kind=READY_NOTICE
    ).first()
    open_states = (DueTaskState.PENDING, DueTaskState.CLAIMED)
    pending = (
        task is not None
        and task.state in open_states
        and visit.delivered_at is None
        and visit.status != VisitStatus.DELIVERED
    )
    return ReadyNoticeState(
        sent=sent,
        due_at=task.due_at if pending else None,
        failed=bool(task and task.state == DueTaskState.FAILED),
        cancelled=bool(task and task.state == DueTaskState.CANCELLED and not sent),
    )


def delivery_state(visit: Visit, delivery: Delivery | None, settlement: Settlement | None) -> dict:
    """Where the visit stands on its way out, step by step (the page and the API)."""
    status = VisitStatus(visit.status)
    return {
        "status": status.value,
        "status_label": str(status.label),
        "ready": visit.ready_at is not None,
        "ready_at": visit.ready_at,
        "ready_notice_due_at": delivery.ready_notice_due_at
        if delivery and visit.delivered_at is None
        else None,
        "final_check_done": bool(delivery and delivery.final_check_done),
        "settled": settlement is not None,
        "invoice_number": settlement.invoice_number if settlement else "",
        "gate_pass_issued": bool(delivery and delivery.gate_pass_issued),
        "gate_pass_number": delivery.gate_pass_number if delivery else "",
        "delivered": visit.delivered_at is not None,
        "delivered_at": visit.delivered_at,
    }


# ---------------------------------------------------------------------------- delivery sheet


@dataclass
class NextService:
    plan: MaintenancePlan
    due_km: int
    due_date: date
    items: list[str] = field(default_factory=list)
    estimated_cost: Decimal = ZERO
    estimated_hours: Decimal = ZERO


def next_service(*, odometer_km: int, on: date | None = None) -> NextService | None:
    """The next maintenance due after `odometer_km`, from the store's maintenance plans.

    The smallest plan is the first service (e.g. 5 000 km) when the car has not
    reached it; after that services come every interval of the second-smallest
    plan (e.g. each 10 000 km), and at each milestone the most thorough plan
    whose interval divides it applies (20 000 km → the 20 000 km plan). The date
    is the same interval in months from `on`, whichever comes first.
    """
    on = on or timezone.localdate()
    plans = list(
        MaintenancePlan.objects.prefetch_related(
            "operations",
            Prefetch(
                "maintenanceplanpart_set",
                queryset=MaintenancePlanPart.objects.select_related("part"),
            ),
        ).order_by("interval_km")
    )
    if not plans:
        return None
    first = plans[0]
    regular = plans[1:] or plans
    step = regular[0]
    if odometer_km < first.interval_km:
        plan, due_km, months = first, first.interval_km, first.interval_months
    else:
        due_km = (odometer_km // step.interval_km + 1) * step.interval_km
        plan = max((p for p in regular if due_km % p.interval_km == 0), key=lambda p: p.interval_km)
        months = step.interval_months
    operations = list(plan.operations.all())
    plan_parts = list(plan.maintenanceplanpart_set.all())
    items = [op.name for op in operations] + [
        f"{pp.part.name} × {plain_number(pp.quantity)}" for pp in plan_parts
    ]
    cost = sum((op.price for op in operations), ZERO) + sum(
        (money(pp.part.price * pp.quantity) for pp in plan_parts), ZERO
    )
    hours = sum((op.standard_hours for op in operations), ZERO)
    return NextService(
        plan=plan,
        due_km=due_km,
        due_date=add_months(on, months),
        items=items,
        estimated_cost=cost,
        estimated_hours=hours,
    )


@dataclass
class SheetJob:
    name: str
    code: str
    care_note: str
    kind: str


@dataclass
class HandedBackItem:
    """One thing received at check-in that goes back with the car, and whether it did."""

    label: str
    returned: bool


def handback_items(visit: Visit, delivery: Delivery | None) -> list[HandedBackItem]:
    """The documents, keys and listed belongings received at check-in (not what the customer
    kept), each with whether the hand-back confirmed it went back."""
    done = delivery is not None and delivery.handed_back
    items = []
    if visit.registration_received:
        items.append(
            HandedBackItem(
                _("Registration certificate (行驶证)"), done and delivery.registration_returned
            )
        )
    if visit.service_book_received:
        items.append(HandedBackItem(_("Service book"), done and delivery.service_book_returned))
    keys = ngettext("%(count)d key", "%(count)d keys", visit.key_count) % {"count": visit.key_count}
    if visit.keychain_notes:
        keys = f"{keys} ({visit.keychain_notes})"
    items.append(HandedBackItem(keys, done and delivery.keys_returned))
    returned_ids = set(delivery.returned_belonging_ids) if done else set()
    items += [
        HandedBackItem(item.description, item.pk in returned_ids)
        for item in visit.belongings.all()
        if item.handling != ValuablesHandling.TAKEN_BY_CUSTOMER
    ]
    return items


@dataclass
class DeliverySheet:
    visit: Visit
    order: WorkOrder
    jobs: list[SheetJob]
    parts: list[WorkOrderLine]
    delivery: Delivery | None
    settlement: Settlement | None
    next_service: NextService | None
    declined: list[DeclinedWork]
    odometer_km: int | None
    handed_back: list[HandedBackItem] = field(default_factory=list)


def declined_work(visit: Visit) -> list[DeclinedWork]:
    """Work the customer declined on this car and has not had done since."""
    return list(
        DeclinedWork.objects.filter(vehicle_id=visit.vehicle_id, done_at__isnull=True).order_by(
            "-declined_at", "-id"
        )
    )


def delivery_sheet(visit: Visit, *, language: str = "zh-hans") -> DeliverySheet | None:
    """The 交车说明单's content: jobs with care notes, parts, next service, declined work."""
    order = order_in_force(visit)
    if order is None:
        return None
    english = language.startswith("en")
    jobs = []
    parts = []
    for line in order.lines.all():
        if line.kind == LineKind.PART:
            parts.append(line)
            continue
        note = ""
        if line.operation is not None:
            note = line.operation.care_note_en if english else line.operation.care_note_zh
            note = note or (line.operation.care_note_zh if english else "")
        name = line.name_en if english and line.name_en else line.name_zh
        jobs.append(SheetJob(name=name, code=line.code, care_note=note, kind=line.kind))
    delivery = Delivery.objects.filter(visit=visit).first()
    odometer = (delivery.delivery_odometer_km if delivery else None) or visit.odometer_km
    return DeliverySheet(
        visit=visit,
        order=order,
        jobs=jobs,
        parts=parts,
        delivery=delivery,
        settlement=paid_settlement(visit),
        next_service=next_service(odometer_km=odometer or 0) if odometer is not None else None,
        declined=declined_work(visit),
        odometer_km=odometer,
        handed_back=handback_items(visit, delivery),
    )


def store_open_at(moment: datetime) -> bool:
    """Is the store open at `moment` (its opening hours and holidays)?"""
    local = timezone.localtime(moment)
    opens, closes, _holiday = openings(local.date(), local.date())[local.date()]
    return opens is not None and opens <= local.time() < closes


def ready_notice_time(*, visit: Visit, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(when the car is ready for the customer, when to tell them).

    The ready time is the promised time (or now, if that has passed). The
    notice goes out 1 h before it for a job of up to 2 days, 4 h before for a
    longer one (rules). It goes at once when the customer waits on site (and
    the car is theirs from now), when that moment has passed, or when it falls
    outside the store's opening hours (nobody would be there to hand the car over
    when the customer reacts, and a notice held overnight comes after the customer).
    """
    now = now or timezone.now()
    if visit.customer_waits:
        return now, now
    pickup_at = max(visit.promised_at or now, now)
    long_job = pickup_at - visit.checked_in_at > timedelta(days=rule("delivery.long_job_days"))
    key = (
        "delivery.ready_notice_hours_long_job"
        if long_job
        else "delivery.ready_notice_hours_short_job"
    )
    notice_at = max(pickup_at - timedelta(hours=rule(key)), now)
    if notice_at > now and not store_open_at(notice_at):
        notice_at = now
    return pickup_at, notice_at
