"""API of the manager reports: the figures, the visits behind a figure, the monthly targets.

The same selectors and services as the report pages (reports.views), the same
role (the service manager). Mounted at /api/reports/ by dealership.api_urls.
"""

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers
from rest_framework.response import Response

from dealership.api import ApiViewSet
from workorders.models import JobType

from . import selectors, services
from .figures import FIGURES, WORK_TYPE_PREFIX
from .periods import KINDS, MONTH, Period
from .views import MANAGERS

NUMBER = {"max_digits": 16, "decimal_places": 2, "coerce_to_string": False, "allow_null": True}
DRILL_KEYS = [key for key, figure in FIGURES.items() if figure.drill]


class PeriodQuerySerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=list(KINDS), default=MONTH)
    date = serializers.DateField(required=False)

    def period_of(self) -> Period:
        data = self.validated_data
        return selectors.period_from(
            data["period"], data["date"].isoformat() if data.get("date") else None
        )


class PeriodSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(KINDS))
    first = serializers.DateField()
    last = serializers.DateField()
    label = serializers.CharField()


class FigureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    section = serializers.CharField()
    unit = serializers.ChoiceField(choices=["count", "money", "hours", "percent", "score"])
    higher_is_better = serializers.BooleanField()
    value = serializers.DecimalField(**NUMBER)
    previous = serializers.DecimalField(**NUMBER)
    last_year = serializers.DecimalField(**NUMBER)
    target = serializers.DecimalField(**NUMBER)


class WorkTypeSerializer(serializers.Serializer):
    job_type = serializers.CharField()
    label = serializers.CharField()
    orders = serializers.IntegerField()
    amount = serializers.DecimalField(**NUMBER)


class ComplaintRowSerializer(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField()
    normal = serializers.IntegerField()
    important = serializers.IntegerField()


class TechnicianRowSerializer(serializers.Serializer):
    name = serializers.CharField()
    team = serializers.CharField(allow_blank=True)
    standard = serializers.DecimalField(**NUMBER)
    clocked = serializers.DecimalField(**NUMBER)
    productivity = serializers.DecimalField(**NUMBER)


class SpendingRowSerializer(serializers.Serializer):
    label = serializers.CharField()
    customers = serializers.IntegerField()


class TrendRowSerializer(serializers.Serializer):
    month = serializers.DateField()
    orders = serializers.IntegerField()
    labour = serializers.DecimalField(**NUMBER)
    parts = serializers.DecimalField(**NUMBER)


# Answered by a `list` action, but one object, not an array (the schema says so).
@extend_schema_serializer(many=False)
class ReportSerializer(serializers.Serializer):
    period = PeriodSerializer()
    previous = PeriodSerializer()
    last_year = PeriodSerializer()
    figures = FigureSerializer(many=True)
    work_types = WorkTypeSerializer(many=True)
    complaints = ComplaintRowSerializer(many=True)
    technicians = TechnicianRowSerializer(many=True)
    spending = SpendingRowSerializer(many=True)
    trend = TrendRowSerializer(many=True)


def _period_data(period: Period) -> dict:
    return {"kind": period.kind, "first": period.first, "last": period.last, "label": period.label}


def _query_period(request) -> Period:
    query = PeriodQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.period_of()


PERIOD_PARAMETERS = [
    OpenApiParameter("period", str, enum=list(KINDS), description="day, week or month"),
    OpenApiParameter("date", OpenApiTypes.DATE, description="A day in the period (default today)"),
]


class ReportFiguresViewSet(ApiViewSet):
    """Every report figure of a day, week or month, with the previous period, the same
    period last year and the month's target; the tables and the 12-month trend."""

    read_roles = MANAGERS
    serializer_class = ReportSerializer
    pagination_class = None

    @extend_schema(parameters=PERIOD_PARAMETERS, responses={200: ReportSerializer})
    def list(self, request):
        report = selectors.report_build(_query_period(request), with_charts=False)
        figures = [
            {
                "key": row.figure.key,
                "label": str(row.figure.label),
                "section": str(row.figure.section),
                "unit": row.figure.unit,
                "higher_is_better": row.figure.higher_is_better,
                "value": row.value,
                "previous": row.previous,
                "last_year": row.last_year,
                "target": row.target,
            }
            for row in report.rows
        ]
        data = {
            "period": _period_data(report.period),
            "previous": _period_data(report.previous),
            "last_year": _period_data(report.last_year),
            "figures": figures,
            "work_types": [{**r, "label": str(r["label"])} for r in report.work_types],
            "complaints": [{**r, "label": str(r["label"])} for r in report.complaints],
            "technicians": report.technicians,
            "spending": [{**r, "label": str(r["label"])} for r in report.spending],
            "trend": report.trend,
        }
        return Response(ReportSerializer(data).data)


class DrillQuerySerializer(PeriodQuerySerializer):
    figure = serializers.CharField(max_length=60)

    def validate_figure(self, value):
        if value in DRILL_KEYS or value.removeprefix(WORK_TYPE_PREFIX) in _job_types():
            return value
        raise serializers.ValidationError(_("No visits lie behind this figure."))


def _job_types() -> set[str]:
    return set(JobType.values)


class DrillVisitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField(help_text="The visit's status, as in /api/reception/visits/.")
    plate = serializers.CharField(source="vehicle.plate", allow_null=True)
    customer_name = serializers.CharField(source="customer.name")
    advisor = serializers.CharField(source="advisor.__str__", allow_null=True)
    checked_in_at = serializers.DateTimeField()
    promised_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    is_comeback = serializers.BooleanField()
    rework_count = serializers.IntegerField()


class ReportVisitsViewSet(mixins.ListModelMixin, ApiViewSet):
    """The visits behind one figure of the period (drill-down), paginated."""

    read_roles = MANAGERS
    serializer_class = DrillVisitSerializer

    def get_queryset(self):
        query = DrillQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        try:
            return selectors.drill_visits(query.validated_data["figure"], query.period_of())
        except Http404 as exc:  # pragma: no cover - the serializer lets only drillable keys in
            raise serializers.ValidationError({"figure": [str(exc)]}) from exc

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "figure",
                str,
                required=True,
                enum=DRILL_KEYS + sorted(WORK_TYPE_PREFIX + t for t in _job_types()),
            ),
            *PERIOD_PARAMETERS,
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class TargetSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="Any day of the month; stored as its first day.")
    figure = serializers.ChoiceField(choices=list(FIGURES))
    value = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        allow_null=True,
        coerce_to_string=False,
        help_text="null clears the target. Rates in percent.",
    )


class MonthQuerySerializer(serializers.Serializer):
    month = serializers.DateField(required=False)


@extend_schema_serializer(many=False)
class TargetMonthSerializer(serializers.Serializer):
    month = serializers.DateField()
    targets = serializers.DictField(
        child=serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    )


def _targets_data(month) -> dict:
    month = month.replace(day=1)
    return {"month": month, "targets": selectors.targets_for(month)}


class ReportTargetViewSet(ApiViewSet):
    """The manager's targets of one month: GET ?month=, POST one figure's target."""

    read_roles = MANAGERS
    write_roles = MANAGERS
    serializer_class = TargetSerializer
    pagination_class = None

    @extend_schema(
        parameters=[OpenApiParameter("month", OpenApiTypes.DATE, description="A day of the month")],
        responses={200: TargetMonthSerializer},
    )
    def list(self, request):
        query = MonthQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        month = query.validated_data.get("month") or timezone.localdate()
        return Response(TargetMonthSerializer(_targets_data(month)).data)

    @extend_schema(request=TargetSerializer, responses={200: TargetMonthSerializer})
    def create(self, request):
        serializer = TargetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.report_target_set(
            month=data["month"], figure=data["figure"], value=data["value"], actor=request.user
        )
        return Response(TargetMonthSerializer(_targets_data(data["month"])).data)
