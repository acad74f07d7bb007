"""API of step 8: follow-up call lists, call outcomes (with the survey) and complaints.

The same services and selectors as the pages (followup.views), the same roles; a call
on another person's list is refused as on the page. Mounted at /api/followup/.
"""

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, routers, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from dealership.api import ApiViewSet
from dealership.due import kind_get
from dealership.models import Customer, DueTask, User, Vehicle
from dealership.roles import has_role
from dealership.selectors import may_act_on_call
from reception.models import Visit

from . import complaints, selectors, services
from . import duties as K
from .models import ActionKind, Complaint, ComplaintCategory, ComplaintSource, ThirdParty
from .views import COMPLAINT_ROLES, OPT_OUT_ROLES, _booking


class FollowupCallSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="task.pk")
    kind = serializers.CharField(source="task.kind")
    label = serializers.CharField()
    due_at = serializers.DateTimeField(source="task.due_at")
    state = serializers.CharField(source="task.state")
    customer = serializers.IntegerField(source="task.customer_id", allow_null=True)
    vehicle = serializers.IntegerField(source="vehicle.pk", allow_null=True, default=None)
    overdue = serializers.BooleanField()
    attempts = serializers.IntegerField(source="attempt_count")
    reason = serializers.CharField()


class FollowupCallOutcomeSerializer(serializers.Serializer):
    outcome = serializers.CharField(max_length=40)
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    attempts_seen = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    survey = serializers.DictField(required=False, allow_null=True)
    category = serializers.CharField(required=False, allow_blank=True, max_length=20, default="")


class FollowupCallResultSerializer(serializers.Serializer):
    task = serializers.IntegerField(source="task.pk")
    state = serializers.CharField(source="task.state")
    outcome = serializers.CharField(source="task.outcome")
    retry_at = serializers.DateTimeField(allow_null=True)
    complaint = serializers.IntegerField(source="complaint.pk", allow_null=True, default=None)


class NotReachedSerializer(serializers.Serializer):
    attempts_seen = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=1000
    )


def _list_or_404(slug: str, user) -> K.CallList:
    call_list = K.CALL_LISTS.get(slug)
    if call_list is None or not call_list.registered_kinds:
        raise Http404
    if not has_role(user, call_list.roles):
        raise PermissionDenied(_("This call list is for another role."))
    return call_list


class CallViewSet(ApiViewSet):
    """Follow-up calls: `?list=` one of the lists (care, advisor, ...), due by tonight.

    POST .../outcome/ records the call (reached with the survey, or not reached).
    """

    read_roles = K.LIST_ROLES
    write_roles = K.LIST_ROLES
    serializer_class = FollowupCallSerializer
    pagination_class = None

    @extend_schema(
        parameters=[OpenApiParameter("list", str, description="Call list (default: the first)")],
        responses={200: FollowupCallSerializer(many=True)},
    )
    def list(self, request):
        slug = request.query_params.get("list")
        if slug:
            call_list = _list_or_404(slug, request.user)
        else:
            lists = selectors.lists_for(request.user)
            if not lists:
                raise PermissionDenied(_("No call list is for your role."))
            call_list = lists[0]
        rows = selectors.call_list_rows(call_list=call_list, user=request.user)
        return Response(FollowupCallSerializer(rows, many=True).data)

    def _row(self, pk):
        try:
            row = selectors.call_detail(int(pk))
        except DueTask.DoesNotExist as exc:
            raise Http404 from exc
        call_list = K.list_of_kind(row.task.kind)
        if call_list is None:
            raise Http404
        user = self.request.user
        if not has_role(user, call_list.roles) or not may_act_on_call(user, row.task):
            raise PermissionDenied(_("This call is on another person's list."))
        return row

    @extend_schema(responses={200: FollowupCallSerializer})
    def retrieve(self, request, pk=None):
        return Response(FollowupCallSerializer(self._row(pk)).data)

    @extend_schema(
        request=FollowupCallOutcomeSerializer, responses={200: FollowupCallResultSerializer}
    )
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        row = self._row(pk)
        serializer = FollowupCallOutcomeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        booked_elsewhere, _booking_url = _booking(row.task)
        if data["outcome"] in booked_elsewhere:
            # The page does not offer it: a booking is made on the appointments pages.
            message = forms.ChoiceField.default_error_messages["invalid_choice"]
            raise serializers.ValidationError({"outcome": [message % {"value": data["outcome"]}]})
        result = services.call_record(
            task=row.task,
            actor=request.user,
            outcome=data["outcome"],
            note=data["note"],
            attempts_seen=data.get("attempts_seen"),
            survey=data.get("survey") or None,
            category=data["category"],
        )
        return Response(FollowupCallResultSerializer(result).data)

    @extend_schema(request=NotReachedSerializer, responses={200: FollowupCallResultSerializer})
    @action(detail=True, methods=["post"], url_path="not-reached")
    def not_reached(self, request, pk=None):
        """The list's one click: nobody answered (the call comes back later, or closes)."""
        row = self._row(pk)
        serializer = NotReachedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcomes = dict(kind_get(row.task.kind).outcomes)
        result = services.call_record(
            task=row.task,
            actor=request.user,
            outcome=K.UNREACHABLE if K.UNREACHABLE in outcomes else "not_reached",
            attempts_seen=serializer.validated_data.get("attempts_seen"),
        )
        return Response(FollowupCallResultSerializer(result).data)


class ComplaintSerializer(serializers.ModelSerializer):
    class Meta:
        model = Complaint
        fields = [
            "id",
            "number",
            "status",
            "customer",
            "vehicle",
            "visit",
            "source",
            "category",
            "description",
            "safety_related",
            "amount",
            "third_parties",
            "severity",
            "owner",
            "version",
        ]
        read_only_fields = fields


class ComplaintOpenSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    source = serializers.ChoiceField(choices=ComplaintSource.choices)
    category = serializers.ChoiceField(choices=ComplaintCategory.choices)
    description = serializers.CharField(max_length=5000)
    vehicle = serializers.PrimaryKeyRelatedField(
        queryset=Vehicle.objects.all(), required=False, allow_null=True
    )
    visit = serializers.PrimaryKeyRelatedField(
        queryset=Visit.objects.all(), required=False, allow_null=True
    )
    safety_related = serializers.BooleanField(required=False, default=False)
    amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    third_parties = serializers.ListField(
        child=serializers.ChoiceField(choices=ThirdParty.choices), required=False, default=list
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )


ACTION_KINDS = (ActionKind.RESPONSE, ActionKind.CALL, ActionKind.NOTE)


class ComplaintActionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in ACTION_KINDS])
    text = serializers.CharField(max_length=2000)


class ComplaintCloseSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=2000)
    customer_satisfied = serializers.BooleanField(allow_null=True)
    version = serializers.IntegerField(required=False, allow_null=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ComplaintAssignSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=selectors.complaint_owner_choices())


class ComplaintEditSerializer(serializers.Serializer):
    """The complaint page's edit form; only the fields sent change (`version` as read)."""

    version = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    category = serializers.ChoiceField(choices=ComplaintCategory.choices, required=False)
    description = serializers.CharField(max_length=4000, required=False)
    visit = serializers.PrimaryKeyRelatedField(
        queryset=Visit.objects.all(), required=False, allow_null=True
    )
    safety_related = serializers.BooleanField(required=False)
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    third_parties = serializers.ListField(
        child=serializers.ChoiceField(choices=ThirdParty.choices),
        required=False,
        max_length=len(ThirdParty.choices),
    )


class OptOutSerializer(serializers.Serializer):
    do_not_call = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class OptOutResultSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="pk")
    do_not_call = serializers.BooleanField()


class ComplaintViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Complaints: `?show=` a filter of the complaints page (open by default).

    POST opens one; .../actions/ logs what was done; .../close/ and .../reopen/.
    """

    serializer_class = ComplaintSerializer
    read_roles = COMPLAINT_ROLES
    write_roles = COMPLAINT_ROLES

    def get_queryset(self):
        return Complaint.objects.order_by("-id")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "show", str, enum=list(selectors.COMPLAINT_FILTERS), description="Filter"
            )
        ]
    )
    def list(self, request, *args, **kwargs):
        show = request.query_params.get("show") or next(iter(selectors.COMPLAINT_FILTERS))
        if show not in selectors.COMPLAINT_FILTERS:
            raise serializers.ValidationError({"show": [_("Unknown filter.")]})
        rows = selectors.complaint_list(show=show, user=request.user)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ComplaintSerializer(page, many=True).data)

    @extend_schema(request=ComplaintOpenSerializer, responses={201: ComplaintSerializer})
    def create(self, request):
        serializer = ComplaintOpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        complaint = complaints.complaint_open(actor=request.user, **serializer.validated_data)
        return Response(ComplaintSerializer(complaint).data, status=201)

    @extend_schema(request=ComplaintActionSerializer, responses={200: ComplaintSerializer})
    @action(detail=True, methods=["post"])
    def actions(self, request, pk=None):
        complaint = self.get_object()
        serializer = ComplaintActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        complaints.complaint_action_add(
            complaint=complaint, actor=request.user, **serializer.validated_data
        )
        complaint.refresh_from_db()
        return Response(ComplaintSerializer(complaint).data)

    @extend_schema(request=ComplaintCloseSerializer, responses={200: ComplaintSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        complaint = self.get_object()
        serializer = ComplaintCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        complaint = complaints.complaint_close(
            complaint=complaint,
            actor=request.user,
            resolution=data["resolution"],
            customer_satisfied=data["customer_satisfied"],
            expected_version=data.get("version"),
        )
        return Response(ComplaintSerializer(complaint).data)

    @extend_schema(request=ReasonSerializer, responses={200: ComplaintSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        complaint = self.get_object()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        complaint = complaints.complaint_reopen(
            complaint=complaint, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return Response(ComplaintSerializer(complaint).data)

    @extend_schema(request=ComplaintAssignSerializer, responses={200: ComplaintSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Give the complaint to another member of staff (care, an advisor or a manager)."""
        complaint = self.get_object()
        serializer = ComplaintAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        complaint = complaints.complaint_assign(
            complaint=complaint, owner=serializer.validated_data["owner"], actor=request.user
        )
        return Response(ComplaintSerializer(complaint).data)

    @extend_schema(request=ComplaintEditSerializer, responses={200: ComplaintSerializer})
    @action(detail=True, methods=["post"])
    def edit(self, request, pk=None):
        """Correct the details; becoming important sends it to the service manager."""
        complaint = self.get_object()
        serializer = ComplaintEditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        complaint = complaints.complaint_update(
            complaint=complaint, actor=request.user, expected_version=version, **data
        )
        complaint.refresh_from_db()
        return Response(ComplaintSerializer(complaint).data)


class FollowupCustomerViewSet(ApiViewSet):
    """A customer's wish about calls (the archive page's opt-out): POST .../opt-out/."""

    queryset = Customer.objects.none()
    serializer_class = OptOutResultSerializer
    read_roles = OPT_OUT_ROLES
    write_roles = OPT_OUT_ROLES

    @extend_schema(request=OptOutSerializer, responses={200: OptOutResultSerializer})
    @action(detail=True, methods=["post"], url_path="opt-out")
    def opt_out(self, request, pk=None):
        """`do_not_call`: true cancels the customer's open calls; false allows calls again."""
        customer = get_object_or_404(Customer, pk=pk)
        serializer = OptOutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = services.customer_calls_opt_out(
            customer=customer, actor=request.user, **serializer.validated_data
        )
        return Response(OptOutResultSerializer(customer).data)


router = routers.SimpleRouter()
router.register("calls", CallViewSet, basename="followup-call")
router.register("complaints", ComplaintViewSet, basename="complaint")
router.register("customers", FollowupCustomerViewSet, basename="followup-customer")
urlpatterns = router.urls
