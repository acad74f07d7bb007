"""API of the cashier's day close (日结): the past closes, a day's figures as the page shows
them, closing the day, reopening it (the service manager), and the close sheet as a PDF.

Mounted at /api/delivery/day-closes/ by dealership.api_urls. The actions call the page's
services (`delivery.day_close`) with the page's roles, so a refusal is a 400 with the
page's words by field (`counted_<method>`, `variance_reason`, `day`, `reason`).
"""

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, renderers, routers, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from dealership.api import ApiViewSet
from dealership.money import PaymentMethod
from dealership.roles import Role

from . import day_close
from .access import CASHIERS
from .day_close_views import day_close_pdf_response
from .models import DayClose


def _amount(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


class DayCloseSerializer(serializers.ModelSerializer):
    closed_by = serializers.StringRelatedField()
    reopened_by = serializers.StringRelatedField()

    class Meta:
        model = DayClose
        fields = [
            "id",
            "day",
            "status",
            *(f"expected_{method}" for method in day_close.METHODS),
            *(f"counted_{method}" for method in day_close.METHODS),
            "variance_reason",
            "closed_at",
            "closed_by",
            "reopened_at",
            "reopened_by",
            "reopen_reason",
        ]
        read_only_fields = fields


class MethodFiguresSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    label = serializers.CharField()
    paid = _amount()
    deposits_taken = _amount()
    voided = _amount()
    refunded = _amount()
    deposits_refunded = _amount()
    expected = _amount()
    counted = _amount(allow_null=True, help_text="Null until the day is closed.")
    variance = _amount(allow_null=True, help_text="Counted less expected; null until closed.")


class DayTotalsSerializer(serializers.Serializer):
    paid = _amount()
    deposits_taken = _amount()
    voided = _amount()
    refunded = _amount()
    deposits_refunded = _amount()
    expected = _amount()
    counted = _amount(allow_null=True)
    variance = _amount(allow_null=True)
    deposits_applied = _amount()
    deposits_forfeited = _amount()
    invoiced = _amount()


class DayFiguresSerializer(serializers.Serializer):
    day = serializers.DateField()
    is_closed = serializers.BooleanField()
    close = DayCloseSerializer(allow_null=True)
    methods = MethodFiguresSerializer(many=True)
    totals = DayTotalsSerializer()
    settlements = serializers.ListField(
        child=serializers.IntegerField(), help_text="Bills paid on the day (settlement ids)."
    )
    voided = serializers.ListField(child=serializers.IntegerField())
    refunds = serializers.ListField(child=serializers.IntegerField())
    invoices = serializers.ListField(child=serializers.IntegerField())


def _in_range(day) -> None:
    try:
        day_close.refuse_day_out_of_range(day)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from error


def _day_field(**kwargs) -> serializers.DateField:
    """A day from `EARLIEST_DAY` to today, as the services accept."""
    return serializers.DateField(validators=[_in_range], **kwargs)


class DayInputSerializer(serializers.Serializer):
    day = _day_field(required=False, help_text="YYYY-MM-DD, from 2000-01-01; today by default.")


class DayCloseInputSerializer(serializers.Serializer):
    """The page's close form: the counted cash and each statement's total, and the reason
    for any variance."""

    day = _day_field()
    variance_reason = serializers.CharField(
        max_length=day_close.REASON_MAX_LENGTH, required=False, allow_blank=True, default=""
    )

    def get_fields(self):
        fields = super().get_fields()
        for method in day_close.METHODS:
            fields[f"counted_{method}"] = _amount(
                min_value=Decimal("0"), max_value=day_close.MAX_COUNT
            )
        return fields


class DayReopenInputSerializer(serializers.Serializer):
    day = _day_field()
    reason = serializers.CharField(max_length=day_close.REOPEN_REASON_MAX_LENGTH)


class PdfRenderer(renderers.BaseRenderer):
    """Lets a client ask for `Accept: application/pdf`; the PDF itself is the view's answer,
    an error is still the API's JSON body."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return renderers.JSONRenderer().render(data)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _day_asked(request):
    return _valid(DayInputSerializer, request.query_params).get("day") or timezone.localdate()


def _figures(day) -> dict:
    summary = day_close.day_summary(day)
    return {
        "day": summary.day,
        "is_closed": summary.is_closed,
        "close": summary.close,
        "methods": [
            {
                "method": line.method,
                "label": line.label,
                "paid": line.paid,
                "deposits_taken": line.deposits_taken,
                "voided": line.voided,
                "refunded": line.refunded,
                "deposits_refunded": line.deposits_refunded,
                "expected": line.expected,
                "counted": line.counted,
                "variance": line.variance,
            }
            for line in summary.methods
        ],
        "totals": summary.totals,
        "settlements": [bill.pk for bill in summary.settlements],
        "voided": [bill.pk for bill in summary.voided],
        "refunds": [refund.pk for refund in summary.refunds],
        "invoices": [bill.pk for bill in summary.invoices],
    }


_DAY = OpenApiParameter("day", OpenApiTypes.DATE, description="YYYY-MM-DD; today by default")


@extend_schema_view(list=extend_schema(summary="The past day closes, newest day first"))
class DayCloseViewSet(mixins.ListModelMixin, ApiViewSet):
    """The cashier's day close, as its pages: the cashier and the service manager read,
    close and print; only the service manager reopens a closed day."""

    serializer_class = DayCloseSerializer
    read_roles = CASHIERS
    write_roles = CASHIERS
    action_roles = {"close": CASHIERS, "reopen": (Role.SERVICE_MANAGER,)}

    def get_queryset(self):
        return DayClose.objects.select_related("closed_by", "reopened_by").order_by("-day")

    @extend_schema(
        summary="A day's money by method, expected and (once closed) counted, as the page",
        parameters=[_DAY],
        responses={200: DayFiguresSerializer},
    )
    @action(detail=False, methods=["get"])
    def figures(self, request):
        return Response(DayFiguresSerializer(_figures(_day_asked(request))).data)

    @extend_schema(
        summary="Close the day with the counted cash and each statement's total",
        request=DayCloseInputSerializer,
        responses={201: DayCloseSerializer},
    )
    @action(detail=False, methods=["post"])
    def close(self, request):
        data = _valid(DayCloseInputSerializer, request.data)
        closed = day_close.day_close(
            day=data["day"],
            actor=request.user,
            counted={m: data[f"counted_{m}"] for m in day_close.METHODS},
            variance_reason=data["variance_reason"],
        )
        return Response(DayCloseSerializer(closed).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Reopen a closed day, with the reason (the service manager)",
        request=DayReopenInputSerializer,
        responses={200: DayCloseSerializer},
    )
    @action(detail=False, methods=["post"])
    def reopen(self, request):
        data = _valid(DayReopenInputSerializer, request.data)
        reopened = day_close.day_reopen(day=data["day"], actor=request.user, reason=data["reason"])
        return Response(DayCloseSerializer(reopened).data)

    @extend_schema(
        summary="The day close sheet as a PDF",
        parameters=[_DAY],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The close sheet (PDF)."
            )
        },
    )
    @action(
        detail=False,
        methods=["get"],
        renderer_classes=[renderers.JSONRenderer, PdfRenderer],
    )
    def pdf(self, request):
        return day_close_pdf_response(_day_asked(request))


router = routers.SimpleRouter()
router.register("day-closes", DayCloseViewSet, basename="day-close")
urlpatterns = router.urls  # mounted at /api/delivery/ by dealership.api_urls
