"""API of the enquiries page (issue 18.1, parity): the same service, roles and messages as
`followup.enquiry_views`.

- `GET /api/followup/enquiries/` the page's list: the day's enquiries (`day`, today by
  default) and every open one, open first; `open=true` only the open ones;
- `POST /api/followup/enquiries/` logs an incoming call or message (`enquiry_log`);
- `GET /api/followup/enquiries/{id}/` one enquiry, with when its first answer is due;
- `POST .../{id}/respond/` the first answer went out (`enquiry_respond`);
- `POST .../{id}/close/` the outcome: "booked" names the appointment (from the page's list),
  "complaint" opens one (`enquiry_close`).

Mounted at /api/followup/ by dealership.api_urls.
"""

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, routers, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from dealership.api import ApiViewSet
from dealership.models import Customer
from dealership.text import NOTE_MAX_LENGTH

from . import enquiries
from .enquiry_forms import EnquiryCloseForm
from .enquiry_views import ENQUIRY_ROLES
from .models import ComplaintCategory, Enquiry, EnquiryChannel, EnquiryOutcome, EnquiryTopic

# The page lists at most this many (`enquiries_for_day`'s own limit).
LIST_LIMIT = 200


class EnquirySerializer(serializers.ModelSerializer):
    channel_label = serializers.CharField(source="get_channel_display", read_only=True)
    topic_label = serializers.CharField(source="get_topic_display", read_only=True)
    outcome_label = serializers.CharField(source="get_outcome_display", read_only=True)
    taken_by = serializers.StringRelatedField(allow_null=True)
    overdue = serializers.SerializerMethodField(
        help_text="An online message not answered within the rule's minutes."
    )
    response_due_at = serializers.SerializerMethodField(
        help_text="When the first answer to an online message is due (null: a call or walk-in)."
    )

    class Meta:
        model = Enquiry
        fields = [
            "id",
            "customer",
            "caller_name",
            "caller_mobile",
            "channel",
            "channel_label",
            "topic",
            "topic_label",
            "note",
            "received_at",
            "first_response_at",
            "response_due_at",
            "overdue",
            "closed_at",
            "outcome",
            "outcome_label",
            "appointment",
            "complaint",
            "taken_by",
        ]
        read_only_fields = fields

    def get_overdue(self, enquiry) -> bool:
        return enquiries.is_overdue(enquiry, now=timezone.now(), limit=enquiries.response_limit())

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_response_due_at(self, enquiry) -> str | None:
        due = enquiries.response_due_at(enquiry)
        return serializers.DateTimeField().to_representation(due) if due else None


class EnquiryInputSerializer(serializers.Serializer):
    """The page's form: who asked (a customer by id, or a name and/or a mobile; a mobile on
    file finds the customer), how it came in, what about, and when (now when left out)."""

    customer = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    caller_mobile = serializers.CharField(max_length=20, required=False, allow_blank=True)
    caller_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=EnquiryChannel.choices)
    topic = serializers.ChoiceField(choices=EnquiryTopic.choices)
    note = serializers.CharField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True)
    received_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_customer(self, value):
        found = Customer.objects.filter(pk=value).first()
        if found is None:
            raise serializers.ValidationError(_("No such customer."))
        return found


class EnquiryCloseInputSerializer(serializers.Serializer):
    """The page's close form; `appointment` is one of the customer's appointments booked
    since the enquiry (the page's list), needed for "booked"."""

    outcome = serializers.ChoiceField(choices=EnquiryOutcome.choices)
    appointment = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, allow_null=True
    )
    category = serializers.ChoiceField(
        choices=ComplaintCategory.choices, required=False, allow_blank=True
    )
    note = serializers.CharField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _day_param(request) -> date:
    value = request.query_params.get("day")
    if value in (None, ""):
        return timezone.localdate()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise exceptions.ValidationError({"day": [_("Enter a valid date.")]}) from exc


@extend_schema_view(
    list=extend_schema(
        summary="The day's enquiries and every open one, open first (oldest first)",
        parameters=[
            OpenApiParameter("day", date, description="The day (YYYY-MM-DD); today by default"),
            OpenApiParameter("open", bool, description="true: only the open ones"),
        ],
        responses={200: EnquirySerializer(many=True)},
    ),
    retrieve=extend_schema(summary="One enquiry"),
)
class EnquiryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Incoming calls and online messages (咨询): the advisors', customer care's and the
    service manager's, as on the enquiries page."""

    queryset = Enquiry.objects.select_related("customer", "taken_by", "appointment", "complaint")
    serializer_class = EnquirySerializer
    read_roles = ENQUIRY_ROLES
    write_roles = ENQUIRY_ROLES
    pagination_class = None

    def list(self, request, *args, **kwargs):
        rows = enquiries.enquiries_for_day(_day_param(request), limit=LIST_LIMIT)
        if request.query_params.get("open") in ("true", "1"):
            rows = [row for row in rows if row.enquiry.closed_at is None]
        return Response(EnquirySerializer([row.enquiry for row in rows], many=True).data)

    @extend_schema(
        summary="Log an incoming call or message",
        request=EnquiryInputSerializer,
        responses={201: EnquirySerializer},
    )
    def create(self, request):
        data = _valid(EnquiryInputSerializer, request)
        enquiry = enquiries.enquiry_log(actor=request.user, **data)
        return Response(EnquirySerializer(enquiry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The first answer to an online message went out (the response time stops)",
        request=None,
        responses={200: EnquirySerializer},
    )
    @action(detail=True, methods=["post"])
    def respond(self, request, pk=None):
        enquiry = enquiries.enquiry_respond(enquiry=self.get_object(), actor=request.user)
        return Response(EnquirySerializer(enquiry).data)

    @extend_schema(
        summary='Close with the outcome: "booked" names the appointment, "complaint" opens '
        "a complaint with the customer's words",
        request=EnquiryCloseInputSerializer,
        responses={200: EnquirySerializer},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        enquiry = self.get_object()
        data = _valid(EnquiryCloseInputSerializer, request)
        appointment = None
        if data.get("appointment") is not None:
            # The page's choice: the customer's appointments booked since the enquiry.
            booked = EnquiryCloseForm(enquiry=enquiry).fields["appointment"].queryset
            appointment = booked.filter(pk=data["appointment"]).first()
            if appointment is None:
                raise exceptions.ValidationError(
                    {"appointment": [_("Choose the appointment that was booked.")]}
                )
        enquiry = enquiries.enquiry_close(
            enquiry=enquiry,
            actor=request.user,
            outcome=data["outcome"],
            note=data.get("note", ""),
            appointment=appointment,
            category=data.get("category") or ComplaintCategory.OTHER,
        )
        return Response(EnquirySerializer(enquiry).data)


router = routers.SimpleRouter()
router.register("enquiries", EnquiryViewSet, basename="enquiry")
urlpatterns = router.urls  # mounted at /api/followup/ by dealership.api_urls
