"""API of help at the desk and the roster week (issue 18.1, parity): the same services,
roles and messages as the pages (workshop.views desk_call_ask/answer, workshop.roster_views).

- `GET /api/workshop/desk-calls/` the technicians asked to the desk and still waiting
  (the board's list, oldest first); `GET .../desk-calls/{id}/` one request;
- `POST /api/workshop/visits/{id}/ask-desk/` the advisor asks for a technician at the desk
  (`desk_help.desk_call_ask`);
- `POST /api/workshop/desk-calls/{id}/answer/` the controller names who goes
  (`desk_help.desk_call_answer`);
- `GET /api/workshop/roster/?week=` technicians × the 7 days of the week;
  `POST /api/workshop/roster/` sets one cell (`roster.roster_set`),
  `POST /api/workshop/roster/clear/` clears one (`roster.roster_clear`).

Mounted at /api/workshop/ by dealership.api_urls.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, routers, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from dealership.api import ApiViewSet
from dealership.models import Technician
from reception.models import Visit

from . import desk_help, roster
from .models import DeskCall, RosterKind
from .roster_views import ROSTER_ROLES
from .views import ADVISORS, BOARD_ROLES, DISPATCHERS


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _active_technicians():
    return Technician.objects.filter(active=True)


# ---------------------------------------------------------------- help at the desk


class DeskCallSerializer(serializers.ModelSerializer):
    plate = serializers.CharField(source="visit.vehicle.plate", read_only=True)
    asked_by = serializers.StringRelatedField(allow_null=True)
    technician_name = serializers.StringRelatedField(source="technician", allow_null=True)
    answered_by = serializers.StringRelatedField(allow_null=True)
    waiting_minutes = serializers.SerializerMethodField(
        help_text="Minutes since it was asked (null once answered)."
    )

    class Meta:
        model = DeskCall
        fields = [
            "id",
            "visit",
            "plate",
            "asked_by",
            "asked_at",
            "note",
            "waiting_minutes",
            "technician",
            "technician_name",
            "answered_by",
            "answered_at",
        ]
        read_only_fields = fields

    def get_waiting_minutes(self, call) -> int | None:
        if call.answered_at is not None:
            return None
        return int((timezone.now() - call.asked_at).total_seconds() // 60)


class DeskCallResultSerializer(DeskCallSerializer):
    detail = serializers.SerializerMethodField(help_text="The page's message.")

    class Meta(DeskCallSerializer.Meta):
        fields = [*DeskCallSerializer.Meta.fields, "detail"]
        read_only_fields = fields

    def get_detail(self, call) -> str:
        return self.context.get("detail", "")


class DeskAskSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=desk_help.NOTE_MAX_LENGTH, required=False, allow_blank=True
    )


class DeskAnswerSerializer(serializers.Serializer):
    technician = serializers.PrimaryKeyRelatedField(queryset=_active_technicians())


@extend_schema_view(
    list=extend_schema(summary="Technicians asked to the desk and still waiting, oldest first"),
    retrieve=extend_schema(summary="One request for a technician at the desk"),
)
class DeskCallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Help at the desk: read by the board's roles, answered by the controller or the
    service manager naming the technician who goes."""

    queryset = DeskCall.objects.select_related(
        "visit__vehicle", "asked_by", "technician", "answered_by"
    ).order_by("asked_at", "id")
    serializer_class = DeskCallSerializer
    read_roles = BOARD_ROLES
    write_roles = DISPATCHERS
    pagination_class = None

    def list(self, request, *args, **kwargs):
        calls = self.get_queryset().filter(answered_at__isnull=True)
        return Response(DeskCallSerializer(calls, many=True).data)

    @extend_schema(
        summary="Name the technician who goes to the desk (the request leaves the board)",
        request=DeskAnswerSerializer,
        responses={200: DeskCallResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        call = self.get_object()
        technician = _valid(DeskAnswerSerializer, request)["technician"]
        call = desk_help.desk_call_answer(call=call, technician=technician, actor=request.user)
        detail = _("%(tech)s is on the way to the desk.") % {"tech": technician}
        return Response(DeskCallResultSerializer(call, context={"detail": detail}).data)


class DeskVisitViewSet(ApiViewSet):
    """The visit page's "ask a technician to the desk": the advisor's and the manager's."""

    queryset = Visit.objects.none()
    serializer_class = DeskCallResultSerializer
    read_roles = ADVISORS
    write_roles = ADVISORS

    @extend_schema(
        summary="Ask the workshop for a technician at the desk for this car's customer "
        "(one open request per visit, while the car is at the store)",
        request=DeskAskSerializer,
        responses={201: DeskCallResultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="ask-desk")
    def ask_desk(self, request, pk=None):
        visit = get_object_or_404(Visit, pk=pk)
        note = _valid(DeskAskSerializer, request).get("note", "")
        call = desk_help.desk_call_ask(visit=visit, actor=request.user, note=note)
        detail = _("The workshop controller has been asked for a technician.")
        return Response(
            DeskCallResultSerializer(call, context={"detail": detail}).data,
            status=status.HTTP_201_CREATED,
        )


# ---------------------------------------------------------------- the roster week


class RosterCellSerializer(serializers.Serializer):
    day = serializers.DateField()
    kind = serializers.CharField(source="entry.kind", allow_null=True, default=None)
    hours_off = serializers.DecimalField(
        source="entry.hours_off",
        max_digits=4,
        decimal_places=2,
        allow_null=True,
        default=None,
        help_text="Null with a kind: the whole day.",
    )
    note = serializers.CharField(source="entry.note", allow_null=True, default=None)
    hours = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text="Working hours left that day."
    )


class RosterRowSerializer(serializers.Serializer):
    technician = serializers.IntegerField(source="technician.pk")
    name = serializers.CharField(source="technician.name")
    team = serializers.CharField(source="technician.team")
    cells = RosterCellSerializer(many=True)


class RosterWeekSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="The Monday.")
    days = serializers.ListField(child=serializers.DateField())
    rows = RosterRowSerializer(many=True)


class RosterSetSerializer(serializers.Serializer):
    """One cell: leave, training or a part day (with the hours off; empty for leave or
    training: the whole day)."""

    technician = serializers.PrimaryKeyRelatedField(queryset=_active_technicians())
    day = serializers.DateField()
    kind = serializers.ChoiceField(choices=RosterKind.choices)
    hours_off = serializers.DecimalField(
        max_digits=4,
        decimal_places=2,
        min_value=Decimal("0.25"),
        max_value=Decimal("24"),
        required=False,
        allow_null=True,
    )
    note = serializers.CharField(max_length=roster.NOTE_MAX, required=False, allow_blank=True)


class RosterClearSerializer(serializers.Serializer):
    technician = serializers.PrimaryKeyRelatedField(queryset=_active_technicians())
    day = serializers.DateField()


class RosterEntrySerializer(serializers.Serializer):
    technician = serializers.IntegerField(source="technician_id")
    day = serializers.DateField()
    kind = serializers.CharField()
    hours_off = serializers.DecimalField(max_digits=4, decimal_places=2, allow_null=True)
    note = serializers.CharField()
    detail = serializers.SerializerMethodField(help_text="The page's message.")

    def get_detail(self, entry) -> str:
        return _("Roster saved.")


class RosterClearedSerializer(serializers.Serializer):
    cleared = serializers.BooleanField(help_text="False: the day had no entry.")
    detail = serializers.CharField(help_text="The page's message.")


def _week_param(request) -> date:
    value = request.query_params.get("week")
    today = timezone.localdate()
    if value in (None, ""):
        return roster.week_start(today)
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise exceptions.ValidationError({"week": [_("Enter a valid date.")]}) from exc
    reach = timedelta(days=roster.ROSTER_DAYS_AHEAD)  # the page's reach, either way
    if abs(day - today) > reach:
        message = _("The roster takes days from %(first)s to %(last)s.") % {
            "first": (today - reach).isoformat(),
            "last": (today + reach).isoformat(),
        }
        raise exceptions.ValidationError({"week": [message]})
    return roster.week_start(day)


class RosterViewSet(ApiViewSet):
    """The roster week (技师排班): the controller's and the service manager's, as on the page."""

    queryset = Technician.objects.none()
    serializer_class = RosterWeekSerializer
    read_roles = ROSTER_ROLES
    write_roles = ROSTER_ROLES
    pagination_class = None
    list_answers_one_object = True  # the week (dealership.api.ErrorDocumentingSchema)

    @extend_schema(
        summary="Active technicians × the 7 days of the week: each day's entry and hours left",
        parameters=[
            OpenApiParameter(
                "week", date, description="Any day of the week (YYYY-MM-DD); this week by default"
            )
        ],
        responses={200: RosterWeekSerializer},
    )
    def list(self, request):
        return Response(RosterWeekSerializer(roster.roster_week(_week_param(request))).data)

    @extend_schema(
        summary="Set one technician's day: leave, training or a part day (replaces the day's "
        "entry)",
        request=RosterSetSerializer,
        responses={200: RosterEntrySerializer},
    )
    def create(self, request):
        data = _valid(RosterSetSerializer, request)
        entry = roster.roster_set(
            technician=data["technician"],
            day=data["day"],
            kind=data["kind"],
            hours_off=data.get("hours_off"),
            note=data.get("note", ""),
            actor=request.user,
        )
        return Response(RosterEntrySerializer(entry).data)

    @extend_schema(
        summary="Clear one technician's day (full hours again)",
        request=RosterClearSerializer,
        responses={200: RosterClearedSerializer},
    )
    @action(detail=False, methods=["post"])
    def clear(self, request):
        data = _valid(RosterClearSerializer, request)
        cleared = roster.roster_clear(
            technician=data["technician"], day=data["day"], actor=request.user
        )
        return Response({"cleared": cleared, "detail": _("Day cleared: full hours again.")})


router = routers.SimpleRouter()
router.register("desk-calls", DeskCallViewSet, basename="desk-call")
router.register("visits", DeskVisitViewSet, basename="desk-visit")
router.register("roster", RosterViewSet, basename="roster")
urlpatterns = router.urls  # mounted at /api/workshop/ by dealership.api_urls
