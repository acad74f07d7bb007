"""API of step 3: work orders read, a draft started and lines added (the pages' services).

Mounted by the project URL conf: path("api/orders/", include("workorders.api")).
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from dealership.api import ApiViewMixin, RolePermission
from dealership.models import LabourOperation, Part
from reception.access import EDITORS, VIEWERS
from reception.api import domain_error_response
from reception.models import Visit

from . import selectors, services
from .lines import MAX_HOURS, MAX_QUANTITY, MAX_UNIT_PRICE
from .models import JobType, LineKind, WorkOrder, WorkOrderLine


class LineSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    payer = serializers.CharField(read_only=True)

    class Meta:
        model = WorkOrderLine
        fields = [
            "id",
            "position",
            "kind",
            "job_type",
            "operation",
            "part",
            "code",
            "name_zh",
            "name_en",
            "hours",
            "quantity",
            "unit_price",
            "discount_percent",
            "amount",
            "payer",
            "group",
            "customer_supplied",
            "non_genuine",
            "manual_reason",
            "is_additional",
        ]
        read_only_fields = fields


class WorkOrderSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    lines = LineSerializer(many=True, read_only=True)

    class Meta:
        model = WorkOrder
        fields = [
            "id",
            "number",
            "visit",
            "revision",
            "status",
            "revision_reason",
            "pricing_method",
            "payment_method",
            "promised_at",
            "followup_channel",
            "followup_time",
            "confirm_items",
            "confirm_cost",
            "confirm_time",
            "keep_old_parts",
            "wash",
            "labour_total",
            "parts_total",
            "discount_total",
            "total",
            "estimate_total",
            "vat_rate",
            "signer_name",
            "signed_at",
            "signed_via",
            "content_hash",
            "version",
            "lines",
        ]
        read_only_fields = fields


class StartSerializer(serializers.Serializer):
    visit = serializers.PrimaryKeyRelatedField(queryset=Visit.objects.all())


class LineCreateSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False)
    kind = serializers.ChoiceField(choices=LineKind.choices, required=False)
    operation = serializers.PrimaryKeyRelatedField(
        queryset=LabourOperation.objects.all(), required=False
    )
    part = serializers.PrimaryKeyRelatedField(queryset=Part.objects.all(), required=False)
    name = serializers.CharField(required=False, allow_blank=True)
    manual_reason = serializers.CharField(required=False, allow_blank=True)
    quantity = serializers.DecimalField(
        max_digits=8, decimal_places=2, required=False, max_value=MAX_QUANTITY
    )
    unit_price = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, max_value=MAX_UNIT_PRICE
    )
    hours = serializers.DecimalField(
        max_digits=6, decimal_places=2, required=False, max_value=MAX_HOURS
    )
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    job_type = serializers.ChoiceField(choices=JobType.choices, required=False)
    group = serializers.CharField(required=False, allow_blank=True)
    customer_supplied = serializers.BooleanField(required=False)
    non_genuine = serializers.BooleanField(required=False)


class WorkOrderViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Work orders with their lines; `?visit=<id>` for one visit's revisions.

    POST starts the draft of a checked-in visit; POST .../lines/ adds a line
    (send `version` to be refused instead of overwriting someone's edit).
    """

    permission_classes = [RolePermission]
    lookup_value_regex = r"[0-9]{1,9}"
    read_roles = VIEWERS
    write_roles = EDITORS
    serializer_class = WorkOrderSerializer

    def get_queryset(self):
        queryset = selectors.order_queryset().order_by("-created_at", "-id")
        visit = self.request.query_params.get("visit")
        if visit and visit.isdigit():
            queryset = queryset.filter(visit_id=int(visit))
        return queryset

    def get_serializer_class(self):
        if self.action == "create":
            return StartSerializer
        if self.action == "lines":
            return LineCreateSerializer
        return WorkOrderSerializer

    @extend_schema(request=StartSerializer, responses={201: WorkOrderSerializer})
    def create(self, request, *args, **kwargs):
        serializer = StartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            order = services.work_order_start(
                visit=serializer.validated_data["visit"], actor=request.user
            )
        except ValidationError as error:
            return domain_error_response(error)
        data = WorkOrderSerializer(selectors.order_detail(order.pk)).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LineCreateSerializer, responses={201: WorkOrderSerializer})
    @action(detail=True, methods=["post"])
    def lines(self, request, pk=None):
        order = get_object_or_404(WorkOrder, pk=pk)
        serializer = LineCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        try:
            services.work_order_line_add(
                order=order, actor=request.user, expected_version=version, **data
            )
        except ValidationError as error:
            return domain_error_response(error)
        data = WorkOrderSerializer(selectors.order_detail(order.pk)).data
        return Response(data, status=status.HTTP_201_CREATED)


router = routers.SimpleRouter()
router.register("work-orders", WorkOrderViewSet, basename="work-order")
urlpatterns = router.urls
