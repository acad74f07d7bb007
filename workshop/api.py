"""API of steps 4–5: jobs, dispatch, technician clocking, additional work and QC.

The same services as the workshop pages (workshop.views), the same roles.
Mounted at /api/workshop/ by dealership.api_urls.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, routers, serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from dealership.api import ApiViewSet, PhotoField, int_param
from dealership.models import Bay, LabourOperation, Part, Technician
from dealership.roles import Role
from dealership.text import NOTE_MAX_LENGTH
from reception.models import Visit

from . import additions, selectors, services
from .models import Addition, Finding, Job, QualityCheck
from .states import QC_ITEMS, SELF_CHECK_ITEMS, AnswerChannel, PauseReason
from .views import (
    ADVISORS,
    BOARD_ROLES,
    DISPATCHERS,
    PROPOSERS,
    QC_ROLES,
    TECHNICIANS,
    VIEWERS,
)


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "visit",
            "order_line",
            "addition",
            "work_type",
            "hours",
            "status",
            "technician",
            "bay",
            "started_at",
            "clocked_on_at",
            "finished_at",
            "actual_hours",
        ]
        read_only_fields = fields


class DispatchSerializer(serializers.Serializer):
    visit = serializers.PrimaryKeyRelatedField(queryset=Visit.objects.all())
    jobs = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**31 - 1))
    technician = serializers.PrimaryKeyRelatedField(queryset=Technician.objects.all())
    bay = serializers.PrimaryKeyRelatedField(
        queryset=Bay.objects.all(), required=False, allow_null=True
    )


class PauseSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=PauseReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class ClockOffSerializer(serializers.Serializer):
    self_check = serializers.ListField(
        child=serializers.ChoiceField(choices=SELF_CHECK_ITEMS), required=False, default=list
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class AdditionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Addition
        fields = [
            "id",
            "visit",
            "finding",
            "title",
            "explanation",
            "safety_related",
            "extra_minutes",
            "hours",
            "price",
            "status",
            "proposed_by",
            "proposed_at",
            "link_sent_at",
            "answered_at",
            "answer_channel",
            "answered_by",
            "decline_reason",
        ]
        read_only_fields = fields


class ProposeSerializer(serializers.Serializer):
    visit = serializers.PrimaryKeyRelatedField(queryset=Visit.objects.all())
    title = serializers.CharField(max_length=150)
    operations = serializers.PrimaryKeyRelatedField(
        queryset=LabourOperation.objects.all(), many=True, required=False
    )
    parts = serializers.PrimaryKeyRelatedField(
        queryset=Part.objects.all(), many=True, required=False
    )
    explanation = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    extra_minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=10_000
    )
    safety_related = serializers.BooleanField(required=False, default=False)


class AnswerSerializer(serializers.Serializer):
    """The customer's answer given on the phone (the link answers on the public page)."""

    approve = serializers.BooleanField()
    answered_by = serializers.CharField(required=False, allow_blank=True, max_length=100)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class QualityCheckSerializer(serializers.ModelSerializer):
    class Meta:
        model = QualityCheck
        fields = "__all__"
        read_only_fields = [f.name for f in QualityCheck._meta.fields]


class QCSerializer(serializers.Serializer):
    passed = serializers.BooleanField()
    checked = serializers.ListField(
        child=serializers.ChoiceField(choices=QC_ITEMS), required=False, default=list
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    jobs = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1), required=False
    )


# ------------------------------------------------------------ findings, link, promise (issue 18)


class PhotoListField(serializers.ListField):
    """At most `services.MAX_PHOTOS`, refused with the page's words before any is decoded;
    a bad photo's message is on `photos` itself, as the page shows it (not by position)."""

    def to_internal_value(self, data):
        if isinstance(data, list | tuple) and len(data) > services.MAX_PHOTOS:
            raise serializers.ValidationError(
                _("At most %(n)s photos per finding.") % {"n": services.MAX_PHOTOS}
            )
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail
            if isinstance(detail, dict):
                messages = [str(m) for errors in detail.values() for m in errors]
                raise serializers.ValidationError(list(dict.fromkeys(messages))) from exc
            raise


class FindingSerializer(serializers.ModelSerializer):
    photos = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Finding
        fields = ["id", "visit", "job", "note", "reported_by", "created_at", "photos"]
        read_only_fields = fields


class FindingReportSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000)
    photos = PhotoListField(child=PhotoField(), required=False, default=list)


class FindingProposeSerializer(serializers.Serializer):
    """The page's proposal form (`AdditionForm`): the finding gives visit and job."""

    title = serializers.CharField(max_length=150)
    explanation = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH, default=""
    )
    operations = serializers.PrimaryKeyRelatedField(
        queryset=LabourOperation.objects.filter(active=True), many=True, required=False
    )
    parts = serializers.PrimaryKeyRelatedField(
        queryset=Part.objects.filter(active=True), many=True, required=False
    )
    extra_minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=additions.MAX_EXTRA_MINUTES
    )
    safety_related = serializers.BooleanField(required=False, default=False)


class SentLinkSerializer(serializers.Serializer):
    addition = AdditionSerializer()
    url = serializers.CharField(help_text="The link the customer was sent.")


class PromiseSerializer(serializers.Serializer):
    promised_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=200, help_text="The reason given to the customer.")


class PromiseResultSerializer(serializers.Serializer):
    visit = serializers.IntegerField(source="pk")
    number = serializers.CharField()
    promised_at = serializers.DateTimeField()


def _job(pk) -> Job:
    return get_object_or_404(Job.objects.select_related("visit__vehicle"), pk=pk)


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Workshop jobs; `?visit=` one car's. A technician clocks on, pauses and clocks off
    their own jobs; the controller dispatches with POST .../dispatch/."""

    serializer_class = JobSerializer
    read_roles = VIEWERS
    write_roles = TECHNICIANS

    action_roles = {"dispatch_jobs": DISPATCHERS}

    def get_queryset(self):
        queryset = Job.objects.order_by("-id")
        visit = int_param(self.request, "visit")
        if visit is not None:
            queryset = queryset.filter(visit_id=visit)
        return queryset

    @extend_schema(parameters=[OpenApiParameter("visit", int, description="One visit's jobs")])
    def list(self, request, *args, **kwargs):
        # As the board page: the labour lines of a signed order become jobs when first read,
        # so a client learns the job ids to dispatch right after the customer signed.
        visit = int_param(request, "visit")
        if visit is not None:
            services.jobs_materialise(visit_ids=[visit])
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DispatchSerializer, responses={200: JobSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="dispatch")
    def dispatch_jobs(self, request):
        serializer = DispatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.jobs_materialise(visit_ids=[data["visit"].pk])
        jobs = services.jobs_dispatch(
            visit=data["visit"],
            job_ids=data["jobs"],
            technician=data["technician"],
            bay=data.get("bay"),
            actor=request.user,
        )
        return Response(JobSerializer(jobs, many=True).data)

    @extend_schema(request=None, responses={200: JobSerializer})
    @action(detail=True, methods=["post"], url_path="clock-on")
    def clock_on(self, request, pk=None):
        job = services.job_clock_on(job=_job(pk), actor=request.user)
        return Response(JobSerializer(job).data)

    @extend_schema(request=PauseSerializer, responses={200: JobSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        job = _job(pk)
        serializer = PauseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.job_pause(job=job, actor=request.user, **serializer.validated_data)
        return Response(JobSerializer(job).data)

    @extend_schema(request=ClockOffSerializer, responses={200: JobSerializer})
    @action(detail=True, methods=["post"], url_path="clock-off")
    def clock_off(self, request, pk=None):
        job = _job(pk)
        serializer = ClockOffSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.job_clock_off(job=job, actor=request.user, **serializer.validated_data)
        return Response(JobSerializer(job).data)

    @extend_schema(
        request={
            "multipart/form-data": FindingReportSerializer,
            "application/json": FindingReportSerializer,
        },
        responses={201: FindingSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        parser_classes=[MultiPartParser, FormParser, JSONParser],
    )
    def finding(self, request, pk=None):
        """Report what was found on the car, with photos (files or data URLs), as the
        technician's phone page does; only on their own running or paused job."""
        job = _job(pk)
        serializer = FindingReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        finding = services.finding_report(
            job=job,
            actor=request.user,
            note=serializer.validated_data["note"],
            photos=serializer.validated_data["photos"],
        )
        return Response(FindingSerializer(finding).data, status=201)


class AdditionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Additional work: proposed from the workshop, answered by the customer.

    POST proposes; .../answer/ records the customer's phone answer (advisor);
    .../withdraw/ takes a proposal back. `?visit=` one car's, `?status=` by status.
    """

    serializer_class = AdditionSerializer
    read_roles = VIEWERS
    write_roles = PROPOSERS

    action_roles = {
        "answer": ADVISORS,
        "withdraw": (*ADVISORS, Role.WORKSHOP_CONTROLLER),
        "send_link": ADVISORS,
    }

    def get_queryset(self):
        queryset = Addition.objects.order_by("-proposed_at", "-id")
        visit = int_param(self.request, "visit")
        if visit is not None:
            queryset = queryset.filter(visit_id=visit)
        state = self.request.query_params.get("status")
        return queryset.filter(status=state) if state else queryset

    @extend_schema(
        parameters=[
            OpenApiParameter("visit", int, description="One visit's additions"),
            OpenApiParameter("status", str, description="Only this status"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ProposeSerializer, responses={201: AdditionSerializer})
    def create(self, request):
        serializer = ProposeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        addition = additions.addition_propose(
            actor=request.user,
            visit=data.pop("visit"),
            title=data.pop("title"),
            operations=data.pop("operations", []),
            parts=data.pop("parts", []),
            **data,
        )
        return Response(AdditionSerializer(addition).data, status=201)

    @extend_schema(request=AnswerSerializer, responses={200: AdditionSerializer})
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        addition = self.get_object()
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        common = {
            "addition": addition,
            "actor": request.user,
            "channel": AnswerChannel.PHONE,
            "answered_by": data.get("answered_by", ""),
            "note": data.get("note", ""),
        }
        if data["approve"]:
            addition = additions.addition_approve(**common)
        else:
            addition = additions.addition_decline(reason=data.get("reason", ""), **common)
        addition.refresh_from_db()
        return Response(AdditionSerializer(addition).data)

    @extend_schema(request=WithdrawSerializer, responses={200: AdditionSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        addition = self.get_object()
        serializer = WithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        addition = additions.addition_withdraw(
            addition=addition, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return Response(AdditionSerializer(addition).data)

    @extend_schema(request=None, responses={200: SentLinkSerializer})
    @action(detail=True, methods=["post"], url_path="send-link")
    def send_link(self, request, pk=None):
        """Send the customer their approval link (SMS / e-mail by their preference)."""
        addition = self.get_object()
        url = additions.addition_send_link(
            addition=addition,
            actor=request.user,
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
        addition.refresh_from_db()
        return Response(SentLinkSerializer({"addition": addition, "url": url}).data)


class QCViewSet(mixins.ListModelMixin, ApiViewSet):
    """Quality checks, newest first. POST .../{visit}/inspect/ passes or fails a car
    whose work is done (fail: `reason`, optionally the `jobs` to redo)."""

    serializer_class = QualityCheckSerializer
    read_roles = QC_ROLES
    write_roles = QC_ROLES

    def get_queryset(self):
        return QualityCheck.objects.select_related("visit").order_by("-at", "-id")

    @extend_schema(request=QCSerializer, responses={200: QualityCheckSerializer})
    @action(detail=True, methods=["post"])
    def inspect(self, request, pk=None):
        visit = get_object_or_404(Visit, pk=pk)
        serializer = QCSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["passed"]:
            check = services.qc_pass(
                visit=visit, actor=request.user, checked=data["checked"], note=data["reason"]
            )
        else:
            check = services.qc_fail(
                visit=visit,
                actor=request.user,
                reason=data["reason"],
                job_ids=data.get("jobs") or None,
                checked=data["checked"],
            )
            check = QualityCheck.objects.filter(visit=visit).order_by("-at", "-id").first()
        return Response(QualityCheckSerializer(check).data)


class BoardSerializer(serializers.Serializer):
    visit = serializers.IntegerField(source="visit.pk")
    number = serializers.CharField(source="visit.number")
    status = serializers.CharField(source="visit.status")
    lane = serializers.CharField()
    hours = serializers.DecimalField(max_digits=8, decimal_places=2)
    remaining = serializers.DecimalField(max_digits=8, decimal_places=2)
    projected = serializers.DateTimeField()
    risk = serializers.CharField()


class BoardViewSet(mixins.ListModelMixin, ApiViewSet):
    """The dispatch board: each car in the workshop with its lane, hours and promise risk."""

    serializer_class = BoardSerializer
    read_roles = BOARD_ROLES
    pagination_class = None

    def list(self, request, *args, **kwargs):
        services.jobs_materialise()  # as the board page: a signed order's lines become jobs
        board = selectors.board()
        cards = [card for lane in board.lanes for card in lane.cards]
        return Response(BoardSerializer(cards, many=True).data)


class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """What technicians found (`?visit=` one car's). A technician reports one with
    POST /api/workshop/jobs/{id}/finding/; .../propose/ turns one into additional work."""

    serializer_class = FindingSerializer
    read_roles = VIEWERS
    write_roles = PROPOSERS

    def get_queryset(self):
        queryset = Finding.objects.prefetch_related("photos").order_by("-created_at", "-id")
        visit = int_param(self.request, "visit")
        if visit is not None:
            queryset = queryset.filter(visit_id=visit)
        return queryset

    @extend_schema(parameters=[OpenApiParameter("visit", int, description="One visit's findings")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=FindingProposeSerializer, responses={201: AdditionSerializer})
    @action(detail=True, methods=["post"])
    def propose(self, request, pk=None):
        """The page's "propose" on a finding: the same service, the finding's visit."""
        finding = get_object_or_404(Finding.objects.select_related("visit", "job"), pk=pk)
        serializer = FindingProposeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        addition = additions.addition_propose(
            visit=finding.visit,
            actor=request.user,
            finding=finding,
            title=data.pop("title"),
            operations=data.pop("operations", []),
            parts=data.pop("parts", []),
            **data,
        )
        return Response(AdditionSerializer(addition).data, status=201)


class WorkshopVisitViewSet(ApiViewSet):
    """One car in the workshop: the advisor moves its promised time (POST .../promise/)."""

    queryset = Visit.objects.none()
    serializer_class = PromiseResultSerializer
    read_roles = VIEWERS
    write_roles = ADVISORS

    @extend_schema(request=PromiseSerializer, responses={200: PromiseResultSerializer})
    @action(detail=True, methods=["post"])
    def promise(self, request, pk=None):
        """A new promised time and the reason given to the customer, who gets a message."""
        visit = get_object_or_404(Visit, pk=pk)
        serializer = PromiseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        visit = services.promise_move(
            visit=visit,
            actor=request.user,
            promised_at=serializer.validated_data["promised_at"],
            reason=serializer.validated_data["reason"],
        )
        return Response(PromiseResultSerializer(visit).data)


router = routers.SimpleRouter()
router.register("jobs", JobViewSet, basename="job")
router.register("additions", AdditionViewSet, basename="addition")
router.register("qc", QCViewSet, basename="qc")
router.register("board", BoardViewSet, basename="board")
router.register("findings", FindingViewSet, basename="finding")
router.register("visits", WorkshopVisitViewSet, basename="workshop-visit")
urlpatterns = router.urls
