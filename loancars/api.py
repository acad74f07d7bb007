"""API of the courtesy car pages (issue 18.1, parity): the same services, roles and
messages as `loancars.views`. The advisors lend and take back, the service manager keeps
the fleet.

- `GET /api/loancars/cars/` the fleet with the loan out now; `POST` adds a car, `PATCH
  .../cars/{id}/` edits one (the manager's);
- `GET /api/loancars/loans/` the loans page: bookings of the next 14 days, cars out now and
  recent returns; `GET .../loans/{id}/` one loan (the licence masked);
- `POST /api/loancars/appointments/{id}/book/` reserves a car for the appointment's day;
- `POST /api/loancars/visits/{id}/check-out/` lends a car (readings, licence, the signed
  agreement as a PNG data URL, photos as file parts or data URLs);
- `POST .../loans/{id}/return/` takes it back; `POST .../loans/{id}/cancel/` a booking.

Mounted at /api/loancars/ by dealership.api_urls.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, routers, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from appointments.models import Appointment
from dealership.api import ApiViewSet, PhotoField
from dealership.text import NOTE_MAX_LENGTH
from reception.models import FuelLevel, Visit
from reception.signatures import MAX_SIGNATURE_DATA_URL

from . import selectors, services
from .access import FLEET, LENDERS
from .models import CarStatus, Loan, LoanCar


def _valid(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class LoanPhotoListField(serializers.ListField):
    """At most `services.MAX_PHOTOS`, refused with the page's words before any is decoded."""

    def to_internal_value(self, data):
        if isinstance(data, list | tuple) and len(data) > services.MAX_PHOTOS:
            raise serializers.ValidationError(
                _("At most %(count)s photos at a time.") % {"count": services.MAX_PHOTOS}
            )
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail
            if isinstance(detail, dict):
                messages = [str(m) for errors in detail.values() for m in errors]
                raise serializers.ValidationError(list(dict.fromkeys(messages))) from exc
            raise


# ---------------------------------------------------------------- the fleet


class LoanCarSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    current_loan = serializers.SerializerMethodField(help_text="The loan out now, if any.")

    class Meta:
        model = LoanCar
        fields = ["id", "plate", "model", "status", "status_label", "km", "note", "current_loan"]
        read_only_fields = ["id", "status_label", "current_loan"]
        extra_kwargs = {
            "km": {"min_value": 0, "max_value": services.MAX_KM},
            "plate": {"validators": []},  # the model's full_clean says it, as on the page
        }

    def get_current_loan(self, car) -> int | None:
        current = getattr(car, "current", None)
        return current.pk if current else None


@extend_schema_view(
    list=extend_schema(summary="Every courtesy car with the loan out now"),
    retrieve=extend_schema(summary="One courtesy car"),
    create=extend_schema(summary="Add a car to the fleet (available or in maintenance)"),
    partial_update=extend_schema(
        summary="Edit a car (available or maintenance; not while it is lent out)"
    ),
)
class LoanCarViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ApiViewSet,
):
    """The fleet: seen by the lenders, kept by the service manager."""

    queryset = LoanCar.objects.order_by("plate")
    serializer_class = LoanCarSerializer
    read_roles = LENDERS
    write_roles = FLEET
    pagination_class = None

    def list(self, request, *args, **kwargs):
        return Response(LoanCarSerializer(selectors.fleet(), many=True).data)

    def perform_create(self, serializer):
        serializer.instance = services.loan_car_save(
            actor=self.request.user, **serializer.validated_data
        )

    def partial_update(self, request, pk=None):
        car = self.get_object()
        serializer = LoanCarSerializer(car, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        car = services.loan_car_save(car=car, actor=request.user, **serializer.validated_data)
        return Response(LoanCarSerializer(car).data)


# ---------------------------------------------------------------- loans


class LoanPhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.CharField()


class LoanSerializer(serializers.ModelSerializer):
    plate = serializers.CharField(source="car.plate", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    licence = serializers.SerializerMethodField(help_text="Masked, as the page shows it.")
    out_by = serializers.StringRelatedField(allow_null=True)
    returned_by = serializers.StringRelatedField(allow_null=True)
    photos = serializers.SerializerMethodField()

    class Meta:
        model = Loan
        fields = [
            "id",
            "car",
            "plate",
            "status",
            "status_label",
            "customer",
            "appointment",
            "visit",
            "booked_for",
            "driver_name",
            "licence",
            "due_back_at",
            "out_at",
            "out_by",
            "fuel_out",
            "km_out",
            "returned_at",
            "returned_by",
            "fuel_in",
            "km_in",
            "late",
            "damage_note",
            "photos",
        ]
        read_only_fields = fields

    def get_licence(self, loan) -> str:
        return services.mask_licence(loan.licence_number)

    def get_photos(self, loan) -> list[dict]:
        return [{"id": photo.pk, "stage": photo.stage} for photo in loan.photos.all()]


class LoanResultSerializer(LoanSerializer):
    detail = serializers.SerializerMethodField(help_text="The page's message.")

    class Meta(LoanSerializer.Meta):
        fields = [*LoanSerializer.Meta.fields, "detail"]
        read_only_fields = fields

    def get_detail(self, loan) -> str:
        return self.context.get("detail", "")


class LoansPageSerializer(serializers.Serializer):
    bookings = LoanSerializer(many=True, help_text="Booked for the next 14 days.")
    out = LoanSerializer(many=True, help_text="Lent out now.")
    returns = LoanSerializer(many=True, help_text="The 20 latest returns.")


class LoanBookSerializer(serializers.Serializer):
    car = serializers.PrimaryKeyRelatedField(
        queryset=LoanCar.objects.exclude(status=CarStatus.MAINTENANCE)
    )


class CheckOutSerializer(serializers.Serializer):
    """The page's check-out form."""

    car = serializers.PrimaryKeyRelatedField(
        queryset=LoanCar.objects.filter(status=CarStatus.AVAILABLE)
    )
    driver_name = serializers.CharField(max_length=100)
    licence_number = serializers.CharField(max_length=services.LICENCE_MAX)
    fuel = serializers.ChoiceField(choices=FuelLevel.choices)
    km = serializers.IntegerField(min_value=0, max_value=services.MAX_KM)
    due_back_at = serializers.DateTimeField()
    signature = serializers.CharField(
        max_length=MAX_SIGNATURE_DATA_URL,
        allow_blank=True,
        help_text="The customer's signature of the agreement as a PNG data URL "
        "(data:image/png;base64,...).",
    )
    photos = LoanPhotoListField(child=PhotoField(), required=False, default=list)


class ReturnSerializer(serializers.Serializer):
    """The page's return form."""

    fuel = serializers.ChoiceField(choices=FuelLevel.choices)
    km = serializers.IntegerField(min_value=0, max_value=services.MAX_KM)
    damage_note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    photos = LoanPhotoListField(child=PhotoField(), required=False, default=list)
    damage_photos = LoanPhotoListField(child=PhotoField(), required=False, default=list)


def _loan_body(loan: Loan, detail: str = "") -> dict:
    return LoanResultSerializer(selectors.loan_detail(loan.pk), context={"detail": detail}).data


@extend_schema_view(retrieve=extend_schema(summary="One loan (the licence masked)"))
class LoanViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    """The loans: the advisors' and the service manager's, as on the loans page."""

    queryset = Loan.objects.select_related("car", "out_by", "returned_by").prefetch_related(
        "photos"
    )
    serializer_class = LoanSerializer
    read_roles = LENDERS
    write_roles = LENDERS
    pagination_class = None
    list_answers_one_object = True  # the page's three lists (dealership.api.ErrorDocumentingSchema)

    @extend_schema(
        summary="The loans page: the next 14 days' bookings, the cars out, recent returns",
        operation_id="loancars_loans_list",
        responses={200: LoansPageSerializer},
    )
    def list(self, request):
        out = [car.current for car in selectors.fleet() if car.current is not None]
        return Response(
            LoansPageSerializer(
                {
                    "bookings": selectors.bookings(),
                    "out": [selectors.loan_detail(loan.pk) for loan in out],
                    "returns": selectors.recent_returns(),
                }
            ).data
        )

    @extend_schema(
        summary="Take the car back: readings, photos; damage sends it to maintenance",
        request={
            "application/json": ReturnSerializer,
            "multipart/form-data": ReturnSerializer,
        },
        responses={200: LoanResultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def take_back(self, request, pk=None):
        loan = self.get_object()
        data = _valid(ReturnSerializer, request)
        loan = services.loan_return(loan=loan, actor=request.user, **data)
        detail = _("Courtesy car returned late.") if loan.late else _("Courtesy car returned.")
        return Response(_loan_body(loan, detail))

    @extend_schema(
        summary="Cancel a booked courtesy car", request=None, responses={200: LoanResultSerializer}
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        loan = services.loan_cancel(loan=self.get_object(), actor=request.user)
        return Response(_loan_body(loan, _("Booking cancelled.")))


class LoanAppointmentViewSet(ApiViewSet):
    """Book a courtesy car with an appointment (the appointment page's link)."""

    queryset = Appointment.objects.none()
    serializer_class = LoanResultSerializer
    read_roles = LENDERS
    write_roles = LENDERS

    @extend_schema(
        summary="Reserve a courtesy car for the appointment's day",
        request=LoanBookSerializer,
        responses={201: LoanResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def book(self, request, pk=None):
        appointment = get_object_or_404(Appointment, pk=pk)
        data = _valid(LoanBookSerializer, request)
        loan = services.loan_book(appointment=appointment, car=data["car"], actor=request.user)
        return Response(_loan_body(loan, _("Courtesy car booked.")), status=status.HTTP_201_CREATED)


class LoanVisitViewSet(ApiViewSet):
    """Lend a courtesy car to the customer of a car on site (the visit's check-out page)."""

    queryset = Visit.objects.none()
    serializer_class = LoanResultSerializer
    read_roles = LENDERS
    write_roles = LENDERS

    @extend_schema(
        summary="Lend a car: readings, driving licence, photos and the signed agreement "
        "(the customer's booking for this car, if any, becomes the loan)",
        request={
            "application/json": CheckOutSerializer,
            "multipart/form-data": CheckOutSerializer,
        },
        responses={201: LoanResultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="check-out")
    def check_out(self, request, pk=None):
        visit = get_object_or_404(Visit.objects.select_related("customer", "vehicle"), pk=pk)
        data = _valid(CheckOutSerializer, request)
        loan = services.loan_check_out(visit=visit, actor=request.user, **data)
        return Response(_loan_body(loan, _("Courtesy car lent.")), status=status.HTTP_201_CREATED)


router = routers.SimpleRouter()
router.register("cars", LoanCarViewSet, basename="loan-car")
router.register("loans", LoanViewSet, basename="loan")
router.register("appointments", LoanAppointmentViewSet, basename="loan-appointment")
router.register("visits", LoanVisitViewSet, basename="loan-visit")
urlpatterns = router.urls  # mounted at /api/loancars/ by dealership.api_urls
