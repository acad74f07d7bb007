"""API of step 2: visits read and check-in (the same service as the page).

Mounted by the project URL conf: path("api/reception/", include("reception.api")).
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from appointments.models import Appointment
from dealership.api import ApiViewMixin, RolePermission
from dealership.models import Vehicle
from dealership.roles import Role
from dealership.text import CONCERN_MAX_LENGTH, NOTE_MAX_LENGTH
from reception.access import EDITORS, VIEWERS

from . import selectors, services
from .models import DamageMark, Visit


def domain_error_response(error: ValidationError) -> Response:
    """A refused action as a 400 with the messages by field (`non_field_errors` otherwise).

    Kept for callers; raising the ValidationError gives the same answer through
    dealership.api.api_exception_handler."""
    if hasattr(error, "error_dict"):
        detail = {
            field: [str(m) for m in errors[0].messages]
            for field, errors in error.error_dict.items()
        }
    else:
        detail = {"non_field_errors": [str(m) for m in error.messages]}
    return Response(detail, status=status.HTTP_400_BAD_REQUEST)


class DamageMarkSerializer(serializers.ModelSerializer):
    class Meta:
        model = DamageMark
        fields = ["id", "kind", "x", "y", "note"]


class VisitSerializer(serializers.ModelSerializer):
    plate = serializers.CharField(source="vehicle.plate", read_only=True, allow_null=True)
    vin = serializers.CharField(source="vehicle.vin", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    advisor_name = serializers.CharField(source="advisor.__str__", read_only=True)
    damage_marks = DamageMarkSerializer(many=True, read_only=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "number",
            "status",
            "hold_reason",
            "customer",
            "customer_name",
            "vehicle",
            "plate",
            "vin",
            "advisor",
            "advisor_name",
            "appointment",
            "is_walk_in",
            "customer_waits",
            "is_quick_service",
            "is_comeback",
            "comeback_of",
            "concern_text",
            "advisor_notes",
            "diagnosis",
            "technician_assist_requested",
            "odometer_km",
            "fuel_level",
            "charge_percent",
            "covers",
            "warning_lamps",
            "key_tag",
            "parking_spot",
            "walkaround_signed_at",
            "damage_marks",
            "promised_at",
            "checked_in_at",
            "order_signed_at",
            "handed_over_at",
            "dispatched_at",
            "work_done_at",
            "ready_at",
            "delivered_at",
            "cancelled_at",
            "cancel_reason",
            "version",
        ]
        read_only_fields = fields


class CheckInSerializer(serializers.Serializer):
    vehicle = serializers.PrimaryKeyRelatedField(queryset=Vehicle.objects.all(), required=False)
    appointment = serializers.IntegerField(required=False)
    concern_text = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=CONCERN_MAX_LENGTH
    )
    is_quick_service = serializers.BooleanField(required=False, default=False)
    customer_waits = serializers.BooleanField(required=False, default=False)
    technician_assist_requested = serializers.BooleanField(required=False, default=False)
    advisor_notes = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX_LENGTH
    )
    comeback_of = serializers.PrimaryKeyRelatedField(
        queryset=Visit.objects.all(), required=False, allow_null=True
    )

    def validate(self, attrs):
        appointment_pk = attrs.pop("appointment", None)
        if appointment_pk is not None:
            appointment = Appointment.objects.filter(pk=appointment_pk).first()
            if appointment is None:
                raise serializers.ValidationError({"appointment": _("No such appointment.")})
            attrs["appointment"] = appointment
            attrs.setdefault("vehicle", appointment.vehicle)
        if "vehicle" not in attrs:
            raise serializers.ValidationError(
                {"vehicle": _("Give the vehicle or the appointment.")}
            )
        return attrs


class VisitCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class VisitViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Visits, newest first; `?on_site=1` for the cars at the store. POST checks a car in;
    POST .../cancel/ cancels with a reason, .../hand-over/ is the workshop signing for the car
    (the pages' services and roles)."""

    permission_classes = [RolePermission]
    lookup_value_regex = r"[0-9]{1,9}"
    read_roles = VIEWERS
    write_roles = EDITORS
    action_roles = {"hand_over": (Role.WORKSHOP_CONTROLLER, Role.SERVICE_MANAGER)}
    serializer_class = VisitSerializer

    def get_queryset(self):
        if self.request.query_params.get("on_site"):
            return selectors.visits_on_site().prefetch_related("damage_marks")
        queryset = selectors.visit_queryset().order_by("-checked_in_at", "-id")
        state = self.request.query_params.get("status")
        return queryset.filter(status=state) if state else queryset

    def get_serializer_class(self):
        return CheckInSerializer if self.action == "create" else VisitSerializer

    @extend_schema(request=CheckInSerializer, responses={201: VisitSerializer})
    def create(self, request, *args, **kwargs):
        serializer = CheckInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            visit = services.visit_check_in(actor=request.user, **serializer.validated_data)
        except ValidationError as error:
            return domain_error_response(error)
        visit = selectors.visit_detail(visit.pk)
        return Response(VisitSerializer(visit).data, status=status.HTTP_201_CREATED)

    def _act(self, service, **kwargs):
        visit = self.get_object()
        try:
            service(visit=visit, actor=self.request.user, **kwargs)
        except ValidationError as error:
            return domain_error_response(error)
        return Response(VisitSerializer(selectors.visit_detail(visit.pk)).data)

    @extend_schema(request=VisitCancelSerializer, responses={200: VisitSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        serializer = VisitCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._act(services.visit_cancel, reason=serializer.validated_data["reason"])

    @extend_schema(request=None, responses={200: VisitSerializer})
    @action(detail=True, methods=["post"], url_path="hand-over")
    def hand_over(self, request, pk=None):
        return self._act(services.visit_hand_over)


router = routers.SimpleRouter()
router.register("visits", VisitViewSet, basename="visit")
urlpatterns = router.urls
