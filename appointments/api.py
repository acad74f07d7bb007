"""API of step 1: appointments, free slots, the call list and the booking figures.

The same services and selectors as the pages (appointments.views), the same roles.
Mounted at /api/appointments/ by dealership.api_urls.
"""

from datetime import date, timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, routers, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from dealership.api import ApiViewSet
from dealership.due import KINDS
from dealership.models import DueTask, LabourOperation, MaintenancePlan, Part, Vehicle

from . import duties, selectors, services
from .access import BOARD_ROLES, BOOKING_ROLES, CALL_ROLES
from .models import Appointment, Channel

MAX_RANGE_DAYS = 92


class AppointmentSerializer(serializers.ModelSerializer):
    plate = serializers.CharField(source="vehicle.plate", read_only=True, allow_null=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "status",
            "customer",
            "customer_name",
            "vehicle",
            "plate",
            "advisor",
            "channel",
            "start",
            "end",
            "concern_text",
            "waiting",
            "maintenance_plan",
            "deposit_required",
            "deposit_paid",
            "rebooked_from",
        ]
        read_only_fields = fields


class BookSerializer(serializers.Serializer):
    vehicle = serializers.PrimaryKeyRelatedField(queryset=Vehicle.objects.select_related("owner"))
    start = serializers.DateTimeField()
    operations = serializers.PrimaryKeyRelatedField(
        queryset=LabourOperation.objects.all(), many=True, required=False
    )
    plan = serializers.PrimaryKeyRelatedField(
        queryset=MaintenancePlan.objects.all(), required=False, allow_null=True
    )
    parts = serializers.PrimaryKeyRelatedField(
        queryset=Part.objects.all(), many=True, required=False
    )
    concern_text = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    waiting = serializers.BooleanField(required=False, default=False)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.PHONE)
    parts_expected_on = serializers.DateField(required=False, allow_null=True)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class RescheduleSerializer(serializers.Serializer):
    start = serializers.DateTimeField()


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    free_arrivals = serializers.IntegerField()
    available = serializers.BooleanField()
    reason = serializers.CharField()


class DayStripSerializer(serializers.Serializer):
    day = serializers.DateField()
    free_slots = serializers.IntegerField()
    closed = serializers.BooleanField()
    holiday = serializers.CharField()


class FreeSlotsSerializer(serializers.Serializer):
    day = serializers.DateField()
    fits = serializers.BooleanField()
    slots = SlotSerializer(many=True)
    strip = DayStripSerializer(many=True)


class KpiSerializer(serializers.Serializer):
    first = serializers.DateField()
    last = serializers.DateField()
    booked = serializers.IntegerField()
    arrived = serializers.IntegerField()
    no_show = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    walk_ins = serializers.IntegerField()
    show_rate = serializers.FloatField(allow_null=True)
    no_show_rate = serializers.FloatField(allow_null=True)


class AppointmentCallSerializer(serializers.ModelSerializer):
    appointment = serializers.SerializerMethodField()
    vehicle = serializers.SerializerMethodField()
    outcomes = serializers.SerializerMethodField()

    class Meta:
        model = DueTask
        fields = ["id", "kind", "due_at", "state", "appointment", "vehicle", "outcomes"]
        read_only_fields = fields

    def get_appointment(self, task) -> int | None:
        appointment = getattr(task, "appointment", None)
        return appointment.pk if appointment else None

    def get_vehicle(self, task) -> int | None:
        vehicle = getattr(task, "vehicle", None)
        return vehicle.pk if vehicle else None

    def get_outcomes(self, task) -> list[str]:
        spec = KINDS.get(task.kind)
        return [key for key, _label in spec.outcomes] if spec else []


class AppointmentCallOutcomeSerializer(serializers.Serializer):
    outcome = serializers.CharField(max_length=40)
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


def _day(value: str | None, name: str, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise serializers.ValidationError({name: ["Use the date format YYYY-MM-DD."]}) from exc


def _ids(values: list[str], name: str) -> list[int]:
    try:
        ids = [int(v) for v in values]
    except ValueError as exc:
        raise serializers.ValidationError({name: ["Give whole numbers."]}) from exc
    if any(not 0 < i < 2**31 for i in ids):
        raise serializers.ValidationError({name: ["Out of range."]})
    return ids


class AppointmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Appointments between `?first=` and `?last=` (today by default), earliest first.

    POST books (the customer is the vehicle's owner); confirm, cancel and reschedule move
    an appointment through the same services as the pages; `free-slots` is the slot picker.
    """

    read_roles = BOARD_ROLES
    write_roles = BOOKING_ROLES
    serializer_class = AppointmentSerializer

    def get_queryset(self):
        if self.action != "list":
            return Appointment.objects.select_related("customer", "vehicle")
        today = timezone.localdate()
        first = _day(self.request.query_params.get("first"), "first", today)
        last = _day(self.request.query_params.get("last"), "last", first)
        if last < first or (last - first).days > MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {"last": [f"Give a range of 0 to {MAX_RANGE_DAYS} days after `first`."]}
            )
        return selectors.appointments_between(first, last).order_by("start", "id")

    @extend_schema(
        parameters=[
            OpenApiParameter("first", date, description="First day (default today)"),
            OpenApiParameter("last", date, description="Last day (default `first`)"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _answer(self, appointment, code=status.HTTP_200_OK):
        appointment = Appointment.objects.select_related("customer", "vehicle").get(
            pk=appointment.pk
        )
        return Response(AppointmentSerializer(appointment).data, status=code)

    @extend_schema(request=BookSerializer, responses={201: AppointmentSerializer})
    def create(self, request):
        serializer = BookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        vehicle = data["vehicle"]
        appointment = services.appointment_book(
            customer=vehicle.owner,
            vehicle=vehicle,
            start=data["start"],
            operations=list(data.get("operations", [])),
            plan=data.get("plan"),
            parts=[(part, 1) for part in data.get("parts", [])],
            concern_text=data.get("concern_text", ""),
            advisor=request.user,
            waiting=data["waiting"],
            channel=data["channel"],
            parts_expected_on=data.get("parts_expected_on"),
            actor=request.user,
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
        return self._answer(appointment, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: AppointmentSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        appointment = services.appointment_confirm(
            appointment=self.get_object(), actor=request.user
        )
        return self._answer(appointment)

    @extend_schema(request=CancelSerializer, responses={200: AppointmentSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        appointment = self.get_object()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment = services.appointment_cancel(
            appointment=appointment, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return self._answer(appointment)

    @extend_schema(request=RescheduleSerializer, responses={200: AppointmentSerializer})
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        appointment = self.get_object()
        serializer = RescheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment = services.appointment_reschedule(
            appointment=appointment,
            start=serializer.validated_data["start"],
            actor=request.user,
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
        return self._answer(appointment)

    @extend_schema(
        parameters=[
            OpenApiParameter("day", date, description="The day (default today)"),
            OpenApiParameter("operations", int, many=True, description="Labour operations"),
            OpenApiParameter("plan", int, description="Maintenance plan"),
            OpenApiParameter("parts", int, many=True, description="Extra parts"),
        ],
        responses={200: FreeSlotsSerializer},
    )
    @action(detail=False, methods=["get"], url_path="free-slots")
    def free_slots(self, request):
        params = request.query_params
        day = _day(params.get("day"), "day", timezone.localdate())
        if abs((day - timezone.localdate()).days) > 3660:
            raise serializers.ValidationError({"day": ["Out of range."]})
        operations = list(
            LabourOperation.objects.filter(pk__in=_ids(params.getlist("operations"), "operations"))
        )
        plan_ids = _ids([params["plan"]] if params.get("plan") else [], "plan")
        plan = (
            MaintenancePlan.objects.prefetch_related("operations").filter(pk=plan_ids[0]).first()
            if plan_ids
            else None
        )
        parts = list(Part.objects.filter(pk__in=_ids(params.getlist("parts"), "parts")))
        estimate = selectors.booking_estimate(operations=operations, plan=plan, parts=parts)
        picker = selectors.slot_picker(day=day, needs=estimate.needs, earliest=timezone.now())
        return Response(FreeSlotsSerializer(picker).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("first", date, description="First day (default 30 days ago)"),
            OpenApiParameter("last", date, description="Last day (default today)"),
        ],
        responses={200: KpiSerializer},
    )
    @action(detail=False, methods=["get"])
    def figures(self, request):
        """Report figures: booked, arrived, no-shows, cancellations, walk-ins, rates."""
        today = timezone.localdate()
        last = _day(request.query_params.get("last"), "last", today)
        first = _day(request.query_params.get("first"), "first", last - timedelta(days=30))
        if last < first or (last - first).days > 366:
            raise serializers.ValidationError({"last": ["Give a range of 0 to 366 days."]})
        kpis = selectors.appointment_kpis(first, last)
        data = {
            "first": first,
            "last": last,
            "booked": kpis.booked,
            "arrived": kpis.arrived,
            "no_show": kpis.no_show,
            "cancelled": kpis.cancelled,
            "walk_ins": kpis.walk_ins,
            "show_rate": selectors.show_rate(first, last),
            "no_show_rate": selectors.no_show_rate(first, last),
        }
        return Response(KpiSerializer(data).data)


class CallViewSet(mixins.ListModelMixin, ApiViewSet):
    """Appointment calls due by the end of today (confirmations, parts, rebooking, invitations).

    POST .../outcome/ records what the customer said (the outcomes of each call are listed);
    outcomes that need a new time are recorded by moving or booking the appointment.
    """

    read_roles = CALL_ROLES
    write_roles = CALL_ROLES
    serializer_class = AppointmentCallSerializer
    pagination_class = None

    def list(self, request, *args, **kwargs):
        mine = request.query_params.get("mine") == "1"
        tasks = selectors.calls_pending(assigned_to=request.user if mine else None)
        return Response(AppointmentCallSerializer(tasks, many=True).data)

    @extend_schema(
        request=AppointmentCallOutcomeSerializer, responses={200: AppointmentCallSerializer}
    )
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        task = get_object_or_404(DueTask, pk=pk, kind__in=duties.CALL_KINDS)
        serializer = AppointmentCallOutcomeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = services.call_record(task=task, actor=request.user, **serializer.validated_data)
        return Response(AppointmentCallSerializer(task).data)


router = routers.SimpleRouter()
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("calls", CallViewSet, basename="appointment-call")
urlpatterns = router.urls
