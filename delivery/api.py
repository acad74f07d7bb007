"""API of steps 6–7: settlements (with lines, payments, refunds) and each visit's delivery
state, and every action of the delivery pages.

Each action calls the same service as its page (delivery.views, delivery.not_repaired_views)
with the same roles (delivery.access) and the same object look-up, so a refusal is a 400 with
the words the page shows. The cashier's day close is not here.
"""

from decimal import Decimal

from django.db.models import Prefetch
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from dealership.api import ApiViewMixin
from dealership.roles import has_role
from dealership.text import NOTE_MAX_LENGTH
from reception.models import NotRepairedReason, Visit
from reception.signatures import MAX_SIGNATURE_DATA_URL
from workorders.models import PaymentMethod

from . import selectors, services
from .access import CASHIERS, DELIVERERS, MONEY_VIEWERS, READY_MARKERS, VIEWERS
from .forms import PAYMENT_METHODS
from .models import (
    ApprovalVia,
    Delivery,
    OldPartsHandling,
    Payment,
    Refund,
    Settlement,
    SettlementLine,
    TaxInvoiceKind,
)
from .not_repaired import WAIVER_REASON_MAX_LENGTH, diagnosis_fee_waive, visit_not_repaired


class SettlementLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = SettlementLine
        fields = [
            "position",
            "kind",
            "job_type",
            "payer",
            "code",
            "name_zh",
            "name_en",
            "hours",
            "quantity",
            "unit_price",
            "discount_percent",
            "gross",
            "discount",
            "amount",
            "is_additional",
        ]


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["method", "amount", "reference"]


class RefundSerializer(serializers.ModelSerializer):
    approved_by = serializers.StringRelatedField()

    class Meta:
        model = Refund
        fields = ["amount", "method", "reason", "refunded_at", "approved_by"]


class SettlementSerializer(serializers.ModelSerializer):
    visit_number = serializers.CharField(source="visit.number", read_only=True)
    settled_by = serializers.StringRelatedField()
    voided_by = serializers.CharField(read_only=True, allow_null=True)  # null unless voided
    lines = SettlementLineSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)

    class Meta:
        model = Settlement
        fields = [
            "id",
            "invoice_number",
            "visit",
            "visit_number",
            "status",
            "labour_basis",
            "labour_total",
            "parts_total",
            "discount_total",
            "total",
            "customer_total",
            "manufacturer_total",
            "insurer_total",
            "store_total",
            "insurance_approved_amount",
            "insurance_excess",
            "insurance_customer_total",
            "vat_rate",
            "vat_amount",
            "estimate_total",
            "approved_additions",
            "estimate_limit",
            "overrun_approved",
            "adjustment_amount",
            "adjustment_reason",
            "amount_due",
            "paid_total",
            "cash_tendered",
            "change_given",
            "settled_at",
            "settled_by",
            "voided_at",
            "voided_by",
            "void_reason",
            "lines",
            "payments",
            "refunds",
        ]


# ---------------------------------------------------------------- the actions' input
# The limits of the pages' forms (delivery.forms, delivery.not_repaired_views); the rules
# themselves are the services'.

_ID = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
_SIGNATURE_TOO_LARGE = gettext_lazy(
    "The signature image is too large; clear the pad and sign again."
)


def _amount(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


def _signature() -> serializers.CharField:
    """The pad's PNG as a data URL (`data:image/png;base64,...`), as the tablet page sends it."""
    return serializers.CharField(
        max_length=MAX_SIGNATURE_DATA_URL,
        trim_whitespace=False,
        error_messages={"max_length": _SIGNATURE_TOO_LARGE},
        help_text="The customer's signature: a PNG data URL (at most 512 KB of text).",
    )


class ReadyInputSerializer(serializers.Serializer):
    wash_done = serializers.BooleanField(required=False, default=False)


class FinalCheckInputSerializer(serializers.Serializer):
    lines = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        required=False,
        default=list,
        max_length=500,
        help_text="Ids of the order's lines found done.",
    )
    odometer_km = serializers.IntegerField(min_value=0, max_value=2_000_000)
    exterior_matches = serializers.BooleanField(required=False, default=False)
    no_tools_left = serializers.BooleanField(required=False, default=False)
    settings_restored = serializers.BooleanField(required=False, default=False)
    belongings_present = serializers.BooleanField(required=False, default=False)
    old_parts_handling = serializers.ChoiceField(choices=OldPartsHandling.choices)
    notes = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH, default=""
    )


class OverrunApprovalInputSerializer(serializers.Serializer):
    amount = _amount(min_value=Decimal("0"))
    via = serializers.ChoiceField(choices=ApprovalVia.choices)
    note = serializers.CharField(max_length=NOTE_MAX_LENGTH)


class PaymentInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=[(m, PaymentMethod(m).label) for m in PAYMENT_METHODS])
    amount = _amount(min_value=Decimal("0"))
    reference = serializers.CharField(required=False, allow_blank=True, max_length=60, default="")


class SettleInputSerializer(serializers.Serializer):
    """The cashier's settlement: payments (several = a split payment), an adjustment with its
    reason, cash handed over (for change) and the official invoice the customer asks for.
    Deposits taken at booking are credited by the service."""

    payments = serializers.ListField(
        child=PaymentInputSerializer(), required=False, default=list, max_length=10
    )
    adjustment_amount = _amount(required=False, allow_null=True, default=None)
    adjustment_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default=""
    )
    cash_tendered = _amount(min_value=Decimal("0"), required=False, allow_null=True, default=None)
    tax_invoice_kind = serializers.ChoiceField(
        choices=TaxInvoiceKind.choices, required=False, default=TaxInvoiceKind.NONE
    )
    buyer_name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    buyer_tax_number = serializers.CharField(
        required=False, allow_blank=True, max_length=30, default=""
    )
    buyer_address_phone = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default=""
    )
    buyer_bank_account = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default=""
    )


class HandBackInputSerializer(serializers.Serializer):
    """What goes back with the car, each ticked in front of the customer, and their signature.
    `returned_belongings` holds the ids of the items listed at check-in that were handed back;
    papers not received at check-in need no tick."""

    signature = _signature()
    signer_name = serializers.CharField(max_length=100)
    returned_belongings = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        required=False,
        default=list,
        max_length=200,
    )
    belongings_returned = serializers.BooleanField(required=False, default=False)
    registration_returned = serializers.BooleanField(required=False, default=False)
    service_book_returned = serializers.BooleanField(required=False, default=False)
    keys_returned = serializers.BooleanField(required=False, default=False)
    covers_removed = serializers.BooleanField(required=False, default=False)
    old_parts_returned = serializers.BooleanField(required=False, default=False)


class NotRepairedInputSerializer(serializers.Serializer):
    """The customer declines the repair: why, what the technician found, and their signature."""

    reason = serializers.ChoiceField(choices=NotRepairedReason.choices)
    findings = serializers.CharField(max_length=NOTE_MAX_LENGTH)
    signer_name = serializers.CharField(max_length=100)
    signature = _signature()


class FeeWaiverInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=WAIVER_REASON_MAX_LENGTH)


class VoidInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class RefundInputSerializer(serializers.Serializer):
    amount = _amount(min_value=Decimal("0"))
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    reason = serializers.CharField(max_length=200)


class TaxInvoiceInputSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=30)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _settlement_data(settlement_pk: int) -> dict:
    return SettlementSerializer(selectors.settlement_detail(settlement_pk)).data


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("visit", int, description="Only this visit's settlements"),
            OpenApiParameter("date", str, description="Settled on this day (YYYY-MM-DD)"),
        ]
    )
)
class SettlementViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Settlements, newest first. A paid bill is voided, refunded (both the service
    manager's) or given its official invoice number by POST .../void/, .../refund/,
    .../tax-invoice/."""

    serializer_class = SettlementSerializer
    read_roles = MONEY_VIEWERS
    write_roles = CASHIERS
    lookup_value_regex = r"[0-9]{1,9}"

    def _settlement(self, pk) -> Settlement:
        """As the pages find it (a missing one is a 404)."""
        return selectors.settlement_detail(int(pk))

    @extend_schema(
        summary="Void a paid bill (the service manager; others are told to ask them)",
        request=VoidInputSerializer,
        responses={200: SettlementSerializer},
    )
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        settlement = self._settlement(pk)
        data = _valid(VoidInputSerializer, request)
        services.settlement_void(settlement=settlement, actor=request.user, reason=data["reason"])
        return Response(_settlement_data(settlement.pk))

    @extend_schema(
        summary="Refund on a paid bill, at most what was paid (the service manager)",
        request=RefundInputSerializer,
        responses={201: SettlementSerializer},
    )
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        settlement = self._settlement(pk)
        data = _valid(RefundInputSerializer, request)
        services.settlement_refund(settlement=settlement, actor=request.user, **data)
        return Response(_settlement_data(settlement.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record the number of the official invoice (发票) issued for a bill",
        request=TaxInvoiceInputSerializer,
        responses={200: SettlementSerializer},
    )
    @action(detail=True, methods=["post"], url_path="tax-invoice")
    def tax_invoice(self, request, pk=None):
        settlement = self._settlement(pk)
        data = _valid(TaxInvoiceInputSerializer, request)
        services.tax_invoice_issue(settlement=settlement, actor=request.user, number=data["number"])
        return Response(_settlement_data(settlement.pk))

    def get_queryset(self):
        queryset = selectors.settlement_queryset().order_by("-settled_at", "-id")
        visit = self.request.query_params.get("visit")
        if visit and visit.isdigit():
            queryset = queryset.filter(visit_id=int(visit))
        day = parse_date(self.request.query_params.get("date") or "")
        if day:
            queryset = queryset.filter(selectors.settled_on(day))
        return queryset


class BillSerializer(serializers.Serializer):
    labour_basis = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    customer_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    estimate_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    approved_additions = serializers.DecimalField(max_digits=12, decimal_places=2)
    estimate_limit = serializers.DecimalField(max_digits=12, decimal_places=2)
    needs_approval = serializers.BooleanField()


class DeliveryStateSerializer(serializers.Serializer):
    visit = serializers.IntegerField(source="visit.pk")
    number = serializers.CharField(source="visit.number")
    plate = serializers.CharField(source="visit.vehicle.plate", allow_null=True)
    customer = serializers.CharField(source="visit.customer.name")
    status = serializers.CharField()
    status_label = serializers.CharField()
    ready = serializers.BooleanField()
    ready_at = serializers.DateTimeField(allow_null=True)
    ready_notice_due_at = serializers.DateTimeField(allow_null=True)
    final_check_done = serializers.BooleanField()
    settled = serializers.BooleanField()
    invoice_number = serializers.CharField()
    gate_pass_issued = serializers.BooleanField()
    gate_pass_number = serializers.CharField()
    delivered = serializers.BooleanField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    bill = BillSerializer(required=False, allow_null=True)


def _delivery_of(visit: Visit) -> Delivery | None:
    try:
        return visit.delivery
    except Delivery.DoesNotExist:
        return None


class DeliveryStateViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Each visit's way out: ready, final check, settlement, gate pass, delivered.

    The list holds the cars on the delivery board (QC passed until they leave,
    and those delivered today); a visit's detail adds the bill as it stands.
    POST on a visit does what its delivery page does: .../ready/, .../final-check/,
    .../approval/ (the customer's approval of an overrun), .../settle/, .../gate-pass/,
    .../hand-back/, .../not-repaired/ and .../waive-fee/ (the diagnosis fee).
    """

    serializer_class = DeliveryStateSerializer
    read_roles = VIEWERS
    lookup_value_regex = r"[0-9]{1,9}"
    pagination_class = None
    action_roles = {
        "ready": READY_MARKERS,
        "final_check": DELIVERERS,
        "approve_overrun": DELIVERERS,
        "settle": CASHIERS,
        "gate_pass": CASHIERS,
        "hand_back": DELIVERERS,
        "not_repaired": DELIVERERS,
        "waive_fee": CASHIERS,
    }

    def get_queryset(self):
        return Visit.objects.select_related("customer", "vehicle", "delivery").prefetch_related(
            Prefetch(
                "settlements",
                queryset=Settlement.objects.filter(status=Settlement.Status.PAID),
                to_attr="paid_settlements",
            )
        )

    def _row(self, visit: Visit, *, with_bill: bool) -> dict:
        paid = getattr(visit, "paid_settlements", None)
        settlement = paid[0] if paid else None
        delivery = _delivery_of(visit)
        row = {"visit": visit, **selectors.delivery_state(visit, delivery, settlement)}
        if with_bill:
            bill = selectors.bill_for(visit, delivery=delivery)
            row["bill"] = (
                {
                    "labour_basis": bill.labour_basis,
                    "total": bill.total,
                    "customer_total": bill.customer_total,
                    "estimate_total": bill.estimate_total,
                    "approved_additions": bill.approved_additions,
                    "estimate_limit": bill.estimate_limit,
                    "needs_approval": bill.needs_approval(),
                }
                if bill
                else None
            )
        return row

    def _money_hidden(self, row: dict) -> dict:
        """The workshop controller follows the car, not the money: no invoice, no bill."""
        if not has_role(self.request.user, MONEY_VIEWERS):
            row["invoice_number"] = ""
            row["bill"] = None
        return row

    def list(self, request, *args, **kwargs):
        rows = [
            self._money_hidden(self._row(visit, with_bill=False))
            for visit in selectors.delivery_board()
        ]
        return Response(self.get_serializer(rows, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        visit = self.get_object()
        with_bill = has_role(request.user, MONEY_VIEWERS)
        row = self._money_hidden(self._row(visit, with_bill=with_bill))
        return Response(self.get_serializer(row).data)

    # ------------------------------------------------------------ the page's actions

    def _visit(self, pk) -> Visit:
        """As the pages find it (a missing one is a 404)."""
        return selectors.visit_for_delivery(int(pk))

    def _state(self, pk) -> Response:
        """The visit's delivery state after the action, as the caller's role may see it."""
        visit = self.get_queryset().get(pk=int(pk))
        with_bill = has_role(self.request.user, MONEY_VIEWERS)
        row = self._money_hidden(self._row(visit, with_bill=with_bill))
        return Response(self.get_serializer(row).data)

    @extend_schema(
        summary="Mark a car that passed QC ready for pick-up (the wash done if agreed)",
        request=ReadyInputSerializer,
        responses={200: DeliveryStateSerializer},
    )
    @action(detail=True, methods=["post"])
    def ready(self, request, pk=None):
        visit = self._visit(pk)
        data = _valid(ReadyInputSerializer, request)
        services.visit_mark_ready(visit=visit, actor=request.user, wash_done=data["wash_done"])
        return self._state(pk)

    @extend_schema(
        summary="Record the final check: lines done, odometer, car as left, old parts",
        request=FinalCheckInputSerializer,
        responses={200: DeliveryStateSerializer},
    )
    @action(detail=True, methods=["post"], url_path="final-check")
    def final_check(self, request, pk=None):
        visit = self._visit(pk)
        data = _valid(FinalCheckInputSerializer, request)
        services.final_check_record(
            visit=visit, actor=request.user, checked_line_ids=data.pop("lines"), **data
        )
        return self._state(pk)

    @extend_schema(
        summary="Record the customer's approval of a bill above the estimate's limit",
        request=OverrunApprovalInputSerializer,
        responses={200: DeliveryStateSerializer},
    )
    @action(detail=True, methods=["post"], url_path="approval")
    def approve_overrun(self, request, pk=None):
        visit = self._visit(pk)
        data = _valid(OverrunApprovalInputSerializer, request)
        services.overrun_approve(visit=visit, actor=request.user, **data)
        return self._state(pk)

    @extend_schema(
        summary="Settle the bill: payments, adjustment, deposits, official invoice request",
        request=SettleInputSerializer,
        responses={201: SettlementSerializer},
    )
    @action(detail=True, methods=["post"])
    def settle(self, request, pk=None):
        visit = self._visit(pk)
        data = _valid(SettleInputSerializer, request)
        payments = [dict(payment) for payment in data.pop("payments")]
        if data["adjustment_amount"] is None:
            data["adjustment_amount"] = "0"
        settlement = services.settlement_create(
            visit=visit, actor=request.user, payments=payments, **data
        )
        return Response(_settlement_data(settlement.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Issue the gate pass (出门证) of a settled bill",
        request=None,
        responses={200: DeliveryStateSerializer},
    )
    @action(detail=True, methods=["post"], url_path="gate-pass")
    def gate_pass(self, request, pk=None):
        visit = self._visit(pk)
        services.gate_pass_issue(visit=visit, actor=request.user)
        return self._state(pk)

    @extend_schema(
        summary="Hand the car back: papers, belongings, keys, the customer's signature",
        request=HandBackInputSerializer,
        responses={200: DeliveryStateSerializer},
    )
    @action(detail=True, methods=["post"], url_path="hand-back")
    def hand_back(self, request, pk=None):
        visit = self._visit(pk)
        data = _valid(HandBackInputSerializer, request)
        services.visit_hand_back(visit=visit, actor=request.user, **data)
        return self._state(pk)

    @extend_schema(
        summary="The customer declines the repair: reason, findings, signature",
        request=NotRepairedInputSerializer,
        responses={200: DeliveryStateSerializer},
    )
    @action(detail=True, methods=["post"], url_path="not-repaired")
    def not_repaired(self, request, pk=None):
        visit = self._visit(pk)
        data = _valid(NotRepairedInputSerializer, request)
        visit_not_repaired(visit=visit, actor=request.user, **data)
        return self._state(pk)

    @extend_schema(
        summary="Waive the diagnosis fee of a car not repaired, with the reason",
        request=FeeWaiverInputSerializer,
        responses={201: SettlementSerializer},
    )
    @action(detail=True, methods=["post"], url_path="waive-fee")
    def waive_fee(self, request, pk=None):
        visit = self._visit(pk)
        data = _valid(FeeWaiverInputSerializer, request)
        settlement = diagnosis_fee_waive(visit=visit, actor=request.user, reason=data["reason"])
        return Response(_settlement_data(settlement.pk), status=status.HTTP_201_CREATED)


router = routers.SimpleRouter()
router.register("settlements", SettlementViewSet, basename="delivery-settlement")
router.register("visits", DeliveryStateViewSet, basename="delivery-state")
urlpatterns = router.urls  # mounted at /api/delivery/ by dealership.api_urls
