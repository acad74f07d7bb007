"""API of step 3: the work order's life through the pages' services, with their roles.

A draft started, its lines added, changed and removed, its terms, the customer's
signature with the five confirmations (a PNG data URL as the tablet's pad sends it), a
revision of a signed order, the comeback within the store's repair warranty, and the
claims clerk's warranty claims (submit, approve, reject; a doubtful line's go-ahead).

Mounted by the project URL conf: path("api/orders/", include("workorders.api")).
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from dealership.api import ApiViewMixin, ApiViewSet, RolePermission, int_param
from dealership.models import LabourOperation, Part
from dealership.text import REASON_MAX_LENGTH
from reception.access import EDITORS, VIEWERS
from reception.api import domain_error_response
from reception.models import Visit
from reception.signatures import MAX_SIGNATURE_DATA_URL

from . import claims, repair_warranty, selectors, services
from .claims import CLAIM_NUMBER_MAX, CLAIM_ROLES, REASON_MAX
from .lines import MAX_HOURS, MAX_QUANTITY, MAX_UNIT_PRICE
from .models import (
    REJECTED_CLAIM_PAYERS,
    JobType,
    LineKind,
    Payer,
    RepairWarrantyComeback,
    WarrantyClaim,
    WorkOrder,
    WorkOrderLine,
)
from .promise import promise_suggestion_for
from .states import ClaimStatus


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


class PromiseSuggestionSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    queue_hours = serializers.DecimalField(max_digits=8, decimal_places=2)
    technicians = serializers.IntegerField()
    own_hours = serializers.DecimalField(max_digits=8, decimal_places=2)
    parts_expected = serializers.DateField(allow_null=True)
    margin_minutes = serializers.IntegerField()


class WorkOrderSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    lines = LineSerializer(many=True, read_only=True)
    promise_suggestion = serializers.SerializerMethodField(
        help_text="A draft's suggested promised time and what it rests on; null once signed "
        "and in the list (one order's answer carries it)."
    )

    @extend_schema_field(PromiseSuggestionSerializer(allow_null=True))
    def get_promise_suggestion(self, order: WorkOrder) -> dict | None:
        view = self.context.get("view")
        if not order.is_draft or getattr(view, "action", None) == "list":
            return None
        return PromiseSuggestionSerializer(promise_suggestion_for(order)).data

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
            "promise_suggestion",
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


class LineUpdateSerializer(serializers.Serializer):
    """The order page's line edit; only the fields sent change."""

    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    quantity = serializers.DecimalField(
        max_digits=8, decimal_places=2, required=False, max_value=MAX_QUANTITY
    )
    unit_price = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, max_value=MAX_UNIT_PRICE
    )
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    job_type = serializers.ChoiceField(choices=JobType.choices, required=False)
    group = serializers.CharField(required=False, allow_blank=True, max_length=60)
    customer_supplied = serializers.BooleanField(required=False)
    non_genuine = serializers.BooleanField(required=False)
    job_type_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=REASON_MAX_LENGTH
    )


class TermsSerializer(serializers.ModelSerializer):
    """The order page's terms; only the fields sent change."""

    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)

    class Meta:
        model = WorkOrder
        fields = ["version", *services.HEADER_FIELDS]
        extra_kwargs = {name: {"required": False} for name in services.HEADER_FIELDS}


class SignSerializer(serializers.Serializer):
    """The customer signs: the five confirmations, their name and the pad's drawing."""

    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    confirm_items = serializers.BooleanField(default=False)
    confirm_cost = serializers.BooleanField(default=False)
    confirm_time = serializers.BooleanField(default=False)
    keep_old_parts = serializers.BooleanField(allow_null=True, default=None)
    wash = serializers.BooleanField(allow_null=True, default=None)
    signer_name = serializers.CharField(max_length=100)
    signature = serializers.CharField(
        max_length=MAX_SIGNATURE_DATA_URL,
        allow_blank=True,
        help_text="The pad's drawing as a PNG data URL (data:image/png;base64,...).",
    )


class ReviseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class WarrantyComebackSerializer(serializers.ModelSerializer):
    class Meta:
        model = RepairWarrantyComeback
        fields = [
            "id",
            "visit",
            "earlier_visit",
            "covered_until",
            "covered_until_km",
            "confirmed_at",
            "confirmed_by",
        ]
        read_only_fields = fields


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

    def _order(self) -> WorkOrder:
        return get_object_or_404(selectors.order_queryset(), pk=self.kwargs["pk"])

    @staticmethod
    def _order_answer(order: WorkOrder, code: int = status.HTTP_200_OK) -> Response:
        return Response(WorkOrderSerializer(selectors.order_detail(order.pk)).data, status=code)

    @extend_schema(request=TermsSerializer, responses={200: WorkOrderSerializer})
    @action(detail=True, methods=["post"])
    def terms(self, request, pk=None):
        """The draft's terms: pricing, payment, promised time (with a reason when it differs
        from the workshop's suggestion), follow-up channel and time, remarks."""
        order = self._order()
        serializer = TermsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        services.work_order_update(
            order=order, actor=request.user, expected_version=version, **data
        )
        return self._order_answer(order)

    @extend_schema(request=SignSerializer, responses={200: WorkOrderSerializer})
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        """The customer signs the draft on the tablet after the five confirmations."""
        order = self._order()
        serializer = SignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        services.work_order_sign(order=order, actor=request.user, expected_version=version, **data)
        return self._order_answer(order)

    @extend_schema(request=ReviseSerializer, responses={201: WorkOrderSerializer})
    @action(detail=True, methods=["post"])
    def revise(self, request, pk=None):
        """Start the next revision (a draft) of a signed order, with the reason."""
        order = self._order()
        serializer = ReviseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        revision = services.work_order_revise(
            order=order, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return self._order_answer(revision, status.HTTP_201_CREATED)


class LineViewSet(ApiViewSet):
    """A draft's line: PATCH changes it, DELETE takes it off (`?version=` refuses a stale
    edit). POST .../warranty-approve/ is the claims clerk's go-ahead for a warranty line
    outside the car's warranty."""

    queryset = WorkOrderLine.objects.select_related("order")
    read_roles = VIEWERS
    write_roles = EDITORS
    action_roles = {"warranty_approve": CLAIM_ROLES}

    @extend_schema(request=LineUpdateSerializer, responses={200: LineSerializer})
    def partial_update(self, request, *args, **kwargs):
        line = self.get_object()
        serializer = LineUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        line = services.work_order_line_update(
            line=line, actor=request.user, expected_version=version, **data
        )
        return Response(LineSerializer(line).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "version", int, description="The order's version you saw (refuses a stale edit)"
            )
        ],
        responses={204: None},
    )
    def destroy(self, request, *args, **kwargs):
        line = self.get_object()
        services.work_order_line_remove(
            line=line, actor=request.user, expected_version=int_param(request, "version")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: LineSerializer})
    @action(detail=True, methods=["post"], url_path="warranty-approve")
    def warranty_approve(self, request, pk=None):
        line = claims.warranty_line_approve(line=self.get_object(), actor=request.user)
        return Response(LineSerializer(line).data)


class OrderVisitViewSet(ApiViewSet):
    """The work order's steps keyed by the visit: POST .../warranty-comeback/ confirms a
    comeback within the store's repair warranty (its draft's work goes to the store)."""

    queryset = Visit.objects.all()
    read_roles = VIEWERS
    write_roles = EDITORS

    @extend_schema(request=None, responses={201: WarrantyComebackSerializer})
    @action(detail=True, methods=["post"], url_path="warranty-comeback")
    def warranty_comeback(self, request, pk=None):
        record = repair_warranty.warranty_comeback_confirm(
            visit=self.get_object(), actor=request.user
        )
        return Response(WarrantyComebackSerializer(record).data, status=status.HTTP_201_CREATED)


class ClaimSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(source="line.order_id", read_only=True)
    line_amount = serializers.DecimalField(
        source="line.amount", max_digits=12, decimal_places=2, read_only=True
    )
    # Plain text, not an enum: the reject action's choice set (a part of it) keeps the name.
    rejected_payer = serializers.CharField(read_only=True)

    class Meta:
        model = WarrantyClaim
        fields = [
            "id",
            "line",
            "order",
            "line_amount",
            "status",
            "number",
            "approved_amount",
            "rejection_reason",
            "rejected_payer",
            "rejected_after_settlement",
            "created_at",
            "submitted_at",
            "decided_at",
            "version",
        ]
        read_only_fields = fields


class _ClaimVersion(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2_000_000_000)


class ClaimSubmitSerializer(_ClaimVersion):
    number = serializers.CharField(max_length=CLAIM_NUMBER_MAX)


class ClaimApproveSerializer(_ClaimVersion):
    approved_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, max_value=9_999_999_999
    )


class ClaimRejectSerializer(_ClaimVersion):
    rejection_reason = serializers.CharField(max_length=REASON_MAX)
    rejected_payer = serializers.ChoiceField(
        choices=[(p, Payer(p).label) for p in REJECTED_CLAIM_PAYERS]
    )


class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The manufacturer's warranty claims (claims clerk, service manager); `?status=`.
    Each action takes the claim's `version` (a stale one is refused)."""

    serializer_class = ClaimSerializer
    read_roles = CLAIM_ROLES
    write_roles = CLAIM_ROLES

    def get_queryset(self):
        queryset = WarrantyClaim.objects.select_related("line").order_by("-created_at", "-id")
        state = self.request.query_params.get("status")
        if state:
            if state not in ClaimStatus.values:
                raise ValidationError({"status": [_("Unknown status.")]})
            queryset = queryset.filter(status=state)
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=ClaimStatus.values, description="Only this")
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _act(self, serializer_class, service):
        claim = self.get_object()
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        claim = service(claim, serializer.validated_data)
        return Response(ClaimSerializer(self.get_queryset().get(pk=claim.pk)).data)

    @extend_schema(request=ClaimSubmitSerializer, responses={200: ClaimSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._act(
            ClaimSubmitSerializer,
            lambda claim, data: claims.claim_submit(
                claim=claim,
                actor=request.user,
                number=data["number"],
                expected_version=data["version"],
            ),
        )

    @extend_schema(request=ClaimApproveSerializer, responses={200: ClaimSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._act(
            ClaimApproveSerializer,
            lambda claim, data: claims.claim_approve(
                claim=claim,
                actor=request.user,
                amount=data["approved_amount"],
                expected_version=data["version"],
            ),
        )

    @extend_schema(request=ClaimRejectSerializer, responses={200: ClaimSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._act(
            ClaimRejectSerializer,
            lambda claim, data: claims.claim_reject(
                claim=claim,
                actor=request.user,
                reason=data["rejection_reason"],
                payer=data["rejected_payer"],
                expected_version=data["version"],
            ),
        )


router = routers.SimpleRouter()
router.register("work-orders", WorkOrderViewSet, basename="work-order")
router.register("lines", LineViewSet, basename="order-line")
router.register("visits", OrderVisitViewSet, basename="order-visit")
router.register("claims", ClaimViewSet, basename="warranty-claim")
urlpatterns = router.urls
