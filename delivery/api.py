"""Read API of steps 6–7: settlements (with lines, payments, refunds) and each visit's
delivery state. Writes go through the pages (the services), not through the API."""

from django.db.models import Prefetch
from django.utils.dateparse import parse_date
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import routers, serializers, viewsets
from rest_framework.response import Response

from dealership.api import ApiViewMixin
from dealership.roles import has_role
from reception.models import Visit

from . import selectors
from .access import MONEY_VIEWERS, VIEWERS
from .models import Delivery, Payment, Refund, Settlement, SettlementLine


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


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("visit", int, description="Only this visit's settlements"),
            OpenApiParameter("date", str, description="Settled on this day (YYYY-MM-DD)"),
        ]
    )
)
class SettlementViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Settlements, newest first."""

    serializer_class = SettlementSerializer
    read_roles = MONEY_VIEWERS
    lookup_value_regex = r"[0-9]{1,9}"

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
    """

    serializer_class = DeliveryStateSerializer
    read_roles = VIEWERS
    lookup_value_regex = r"[0-9]{1,9}"
    pagination_class = None

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


router = routers.SimpleRouter()
router.register("settlements", SettlementViewSet, basename="delivery-settlement")
router.register("visits", DeliveryStateViewSet, basename="delivery-state")
urlpatterns = router.urls  # mounted at /api/delivery/ by dealership.api_urls
