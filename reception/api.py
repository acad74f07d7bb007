"""API of step 2: visits read, check-in and the walk-around (the same services as the pages).

Mounted by the project URL conf: path("api/reception/", include("reception.api")).
Every action of the reception pages has its endpoint here, with the page's roles: the
walk-around, damage marks (photo as a file part or a data URL), belongings, the customer's
signature (a PNG data URL, as the tablet's pad sends it), the concern and the insurance job.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from appointments.models import Appointment
from dealership.api import ApiViewMixin, ApiViewSet, PhotoField, RolePermission
from dealership.models import Vehicle
from dealership.roles import Role
from dealership.text import CONCERN_MAX_LENGTH, NOTE_MAX_LENGTH
from reception.access import EDITORS, VIEWERS

from . import insurance, selectors, services
from .models import (
    INSURANCE_AMOUNT_MAX,
    Belonging,
    Covers,
    DamageKind,
    DamageMark,
    FuelLevel,
    InsuranceCase,
    Insurer,
    Visit,
    WarningLamp,
)
from .services import KEY_FIELDS, WALKAROUND_FIELDS
from .signatures import MAX_SIGNATURE_DATA_URL


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


# ------------------------------------------------------------------ the walk-around


class WalkaroundSerializer(serializers.Serializer):
    """The walk-around page's fields; only those sent are changed. After the customer signed,
    only `key_tag` and `parking_spot` may change (the service refuses the rest). As on the
    page, a battery-electric car takes `charge_percent` and ignores `fuel_level`; any other
    car the reverse."""

    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    odometer_km = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2_000_000
    )
    odometer_reason = serializers.CharField(required=False, allow_blank=True, max_length=200)
    fuel_level = serializers.ChoiceField(choices=FuelLevel.choices, required=False, allow_null=True)
    charge_percent = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=100
    )
    covers = serializers.ChoiceField(choices=Covers.choices, required=False)
    exterior_notes = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH
    )
    interior_notes = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH
    )
    instruments_ok = serializers.BooleanField(required=False)
    warning_lamps = serializers.ListField(
        child=serializers.ChoiceField(choices=WarningLamp.choices),
        required=False,
        max_length=len(WarningLamp.choices),
    )
    registration_received = serializers.BooleanField(required=False)
    service_book_received = serializers.BooleanField(required=False)
    other_documents = serializers.CharField(required=False, allow_blank=True, max_length=200)
    key_count = serializers.IntegerField(required=False, min_value=1, max_value=9)
    keychain_notes = serializers.CharField(required=False, allow_blank=True, max_length=200)
    key_tag = serializers.CharField(required=False, allow_blank=True, max_length=10)
    parking_spot = serializers.CharField(required=False, allow_blank=True, max_length=20)

    def service_data(self, visit: Visit) -> dict:
        """As the page: a battery-electric car has no fuel level, any other no charge level."""
        data = {k: v for k, v in self.validated_data.items() if k != "version"}
        data.pop("charge_percent" if not visit.vehicle.is_battery_electric else "fuel_level", None)
        names = (*WALKAROUND_FIELDS, *KEY_FIELDS)
        return {name: data[name] for name in names if name in data}


class DamageAddSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DamageKind.choices)
    x = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    y = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    photo = PhotoField(blank_is_none=True, required=False, allow_null=True)


class DamageMarkFullSerializer(serializers.ModelSerializer):
    photo = serializers.SerializerMethodField(help_text="Where staff see the photo, or null.")

    class Meta:
        model = DamageMark
        fields = ["id", "visit", "kind", "x", "y", "note", "photo", "created_at"]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "nullable": True})
    def get_photo(self, mark: DamageMark) -> str | None:
        return reverse("reception:damage_photo", args=[mark.pk]) if mark.photo else None


class BelongingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Belonging
        fields = ["id", "visit", "description", "is_valuable", "handling"]
        read_only_fields = ["id", "visit"]
        extra_kwargs = {"handling": {"required": False}}


class WalkaroundSignSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    signer_name = serializers.CharField(max_length=100)
    signature = serializers.CharField(
        max_length=MAX_SIGNATURE_DATA_URL,
        allow_blank=True,
        help_text="The pad's drawing as a PNG data URL (data:image/png;base64,...).",
    )


class ConcernSerializer(serializers.Serializer):
    """The visit page's concern form; only the fields sent change. The concern itself is
    the customer's words: frozen once they signed the walk-around."""

    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    concern_text = serializers.CharField(
        required=False, allow_blank=True, max_length=CONCERN_MAX_LENGTH
    )
    advisor_notes = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH
    )
    diagnosis = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH)
    technician_assist_requested = serializers.BooleanField(required=False)
    is_quick_service = serializers.BooleanField(required=False)
    customer_waits = serializers.BooleanField(required=False)
    is_comeback = serializers.BooleanField(required=False)
    comeback_of = serializers.PrimaryKeyRelatedField(
        queryset=Visit.objects.all(), required=False, allow_null=True
    )


class InsuranceCaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = InsuranceCase
        fields = ["id", "visit", *insurance.FIELDS, "opened_at", "version"]
        read_only_fields = fields


class InsuranceSaveSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    insurer = serializers.ChoiceField(choices=Insurer.choices)
    insurer_name = serializers.CharField(required=False, allow_blank=True, max_length=60)
    policy_number = serializers.CharField(required=False, allow_blank=True, max_length=40)
    report_number = serializers.CharField(required=False, allow_blank=True, max_length=40)
    adjuster_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    adjuster_phone = serializers.CharField(required=False, allow_blank=True, max_length=20)
    approved_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        max_value=INSURANCE_AMOUNT_MAX,
        required=False,
        allow_null=True,
    )
    excess = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        max_value=INSURANCE_AMOUNT_MAX,
        required=False,
        allow_null=True,
    )


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
    parser_classes = [JSONParser, MultiPartParser, FormParser]

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

    def _visit(self) -> Visit:
        """The visit as the page reads it (row, customer, vehicle), after the role check."""
        return get_object_or_404(selectors.visit_queryset(), pk=self.kwargs["pk"])

    def _visit_answer(self, visit: Visit, code: int = status.HTTP_200_OK) -> Response:
        return Response(VisitSerializer(selectors.visit_detail(visit.pk)).data, status=code)

    @extend_schema(request=WalkaroundSerializer, responses={200: VisitSerializer})
    @action(detail=True, methods=["post"])
    def walkaround(self, request, pk=None):
        """Record the walk-around (the fields sent); `version` refuses a stale edit (400)."""
        visit = self._visit()
        serializer = WalkaroundSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.visit_walkaround_update(
            visit=visit,
            actor=request.user,
            expected_version=serializer.validated_data.get("version"),
            **serializer.service_data(visit),
        )
        return self._visit_answer(visit)

    @extend_schema(
        request={
            "application/json": DamageAddSerializer,
            "multipart/form-data": DamageAddSerializer,
        },
        responses={201: DamageMarkFullSerializer},
    )
    @action(detail=True, methods=["post"], url_path="damage-marks")
    def damage_marks(self, request, pk=None):
        """Mark a damage on the car outline (x, y in % of the drawing), with a photo."""
        visit = self._visit()
        serializer = DamageAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mark = services.damage_mark_add(
            visit=visit, actor=request.user, **serializer.validated_data
        )
        return Response(DamageMarkFullSerializer(mark).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BelongingSerializer, responses={201: BelongingSerializer})
    @action(detail=True, methods=["post"])
    def belongings(self, request, pk=None):
        """Add an item to the belongings list (valuables go with the customer or to the desk)."""
        visit = self._visit()
        serializer = BelongingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.belonging_add(visit=visit, actor=request.user, **serializer.validated_data)
        return Response(BelongingSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WalkaroundSignSerializer, responses={200: VisitSerializer})
    @action(detail=True, methods=["post"], url_path="walkaround-sign")
    def walkaround_sign(self, request, pk=None):
        """The customer signs the walk-around (the pad's PNG as a data URL). Unlike the page,
        the draft work order is not started here: POST /api/orders/work-orders/ does that."""
        visit = self._visit()
        serializer = WalkaroundSignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.visit_walkaround_sign(
            visit=visit,
            actor=request.user,
            signature=data["signature"],
            signer_name=data["signer_name"],
            expected_version=data.get("version"),
        )
        return self._visit_answer(visit)

    @extend_schema(request=ConcernSerializer, responses={200: VisitSerializer})
    @action(detail=True, methods=["post"])
    def concern(self, request, pk=None):
        """The concern, notes, diagnosis, assist request and comeback link (the fields sent)."""
        visit = self._visit()
        serializer = ConcernSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        services.visit_concern_update(
            visit=visit, actor=request.user, expected_version=version, **data
        )
        return self._visit_answer(visit)

    @extend_schema(
        request=InsuranceSaveSerializer,
        responses={200: InsuranceCaseSerializer},
        description="Open the visit's insurance job, or change it until the bill is settled "
        "(send the case's `version` when changing it).",
    )
    @action(detail=True, methods=["post"])
    def insurance(self, request, pk=None):
        visit = self._visit()
        serializer = InsuranceSaveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        case = insurance.insurance_case_save(
            visit=visit,
            actor=request.user,
            expected_version=data.get("version"),
            **{name: data.get(name) for name in insurance.FIELDS},
        )
        return Response(InsuranceCaseSerializer(case).data)

    @extend_schema(request=None, responses={200: VisitSerializer})
    @action(detail=True, methods=["post"], url_path="insurance-dismiss")
    def insurance_dismiss(self, request, pk=None):
        """The damage is not an insurance job: stop offering one on this visit."""
        visit = self._visit()
        insurance.insurance_offer_dismiss(visit=visit, actor=request.user)
        return self._visit_answer(visit)


class DamageMarkViewSet(mixins.DestroyModelMixin, ApiViewSet):
    """DELETE takes back a damage mark made by mistake (before the customer signs)."""

    queryset = DamageMark.objects.select_related("visit")
    read_roles = VIEWERS
    write_roles = EDITORS

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        services.damage_mark_remove(mark=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BelongingViewSet(mixins.DestroyModelMixin, ApiViewSet):
    """DELETE takes an item off the belongings list (before the customer signs)."""

    queryset = Belonging.objects.select_related("visit")
    read_roles = VIEWERS
    write_roles = EDITORS

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        services.belonging_remove(belonging=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


router = routers.SimpleRouter()
router.register("visits", VisitViewSet, basename="visit")
router.register("damage-marks", DamageMarkViewSet, basename="damage-mark")
router.register("belongings", BelongingViewSet, basename="belonging")
urlpatterns = router.urls
