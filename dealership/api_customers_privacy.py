"""API of the customer page's privacy actions and the service manager's privacy requests
(issue 18.1, parity): the same services, roles, object checks and messages as the pages.

- `/api/customers/{id}/links/` the customer's live links; `.../links/{link_id}/revoke/` one
  with a reason, `.../links/revoke-all/` all of them (dealership.links, views_links);
- `/api/customers/{id}/consent/` the current consent per purpose with the texts to read and
  the history; POST records a grant or a withdrawal (dealership.consent, views_privacy);
- `/api/customers/{id}/wechat-unbind/` forgets the customer's WeChat (dealership.wechat);
- `/api/privacy-requests/` the service manager's privacy requests: list, record, answer in
  words, export (the ZIP, `application/zip`) and delete (anonymise; refused with the page's
  words while a visit is open) (dealership.privacy).

Mounted at /api/ by dealership.api_urls.
"""

from django.db.models import Q
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, routers, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from . import consent, privacy
from .api import ApiViewSet, int_param
from .forms import STAFF_CONSENT_SOURCES
from .links import (
    REVOKE_REASON_MAX_LENGTH,
    customer_link_revoke_by_staff,
    customer_links_revoke_all_by_staff,
    customer_live_links,
    purpose_label,
)
from .models import (
    ConsentPurpose,
    ConsentRecord,
    Customer,
    CustomerLink,
    PrivacyRequest,
    PrivacyRequestChannel,
    PrivacyRequestKind,
)
from .text import NOTE_MAX_LENGTH
from .validators import normalize_phone
from .views import CUSTOMER_EDITORS, CUSTOMER_VIEWERS
from .views_privacy import PRIVACY_ROLES
from .views_wechat import WECHAT_UNBINDERS
from .wechat import openid_unbind

# How many consent records the consent answer lists (newest first); the page shows them all,
# but a customer with more than this many changes of mind is an import gone wrong.
CONSENT_HISTORY_MAX = 200


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# ---------------------------------------------------------------- customer links


class CustomerLinkSerializer(serializers.ModelSerializer):
    purpose_label = serializers.SerializerMethodField()
    created_by = serializers.StringRelatedField(allow_null=True)
    revoked_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = CustomerLink
        fields = [
            "id",
            "purpose",
            "purpose_label",
            "created_at",
            "expires_at",
            "last_used_at",
            "created_by",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
        ]
        read_only_fields = fields

    def get_purpose_label(self, link) -> str:
        return purpose_label(link.purpose)


class LinkRevokeSerializer(serializers.Serializer):
    """Why the link(s) are revoked (required: the service says so when it is empty)."""

    reason = serializers.CharField(max_length=REVOKE_REASON_MAX_LENGTH, allow_blank=True)


class RevokedCountSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="How many live links were revoked.")
    detail = serializers.CharField(help_text="The page's message, in the caller's language.")


LINK_ID = OpenApiParameter(
    "link_id", int, OpenApiParameter.PATH, description="The link's id (from the list)"
)


class CustomerLinkViewSet(ApiViewSet):
    """A customer's live links, as on the customer page: every role that sees customers
    lists and revokes them (the page's roles). A link of another customer is not found."""

    queryset = Customer.objects.all()
    serializer_class = CustomerLinkSerializer
    read_roles = CUSTOMER_VIEWERS
    write_roles = CUSTOMER_VIEWERS
    pagination_class = None

    @extend_schema(
        summary="The customer's live links (not revoked, not expired), newest first",
        responses={200: CustomerLinkSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def links(self, request, pk=None):
        links = customer_live_links(self.get_object()).select_related("created_by", "revoked_by")
        return Response(CustomerLinkSerializer(links, many=True).data)

    @extend_schema(
        summary='Revoke one live link with a reason: the customer meets the "link not valid" page',
        parameters=[LINK_ID],
        request=LinkRevokeSerializer,
        responses={200: CustomerLinkSerializer},
    )
    @action(detail=True, methods=["post"], url_path=r"links/(?P<link_id>[0-9]{1,9})/revoke")
    def revoke(self, request, pk=None, link_id=None):
        customer = self.get_object()
        if not CustomerLink.objects.filter(pk=int(link_id), customer=customer).exists():
            raise Http404
        data = _valid(LinkRevokeSerializer, request)
        link = customer_link_revoke_by_staff(
            customer=customer, link_id=int(link_id), actor=request.user, reason=data["reason"]
        )
        return Response(CustomerLinkSerializer(link).data)

    @extend_schema(
        summary="Revoke every live link of the customer with one reason",
        request=LinkRevokeSerializer,
        responses={200: RevokedCountSerializer},
    )
    @action(detail=True, methods=["post"], url_path="links/revoke-all")
    def revoke_all(self, request, pk=None):
        customer = self.get_object()
        data = _valid(LinkRevokeSerializer, request)
        count = customer_links_revoke_all_by_staff(
            customer=customer, actor=request.user, reason=data["reason"]
        )
        detail = ngettext("%(count)d link revoked.", "%(count)d links revoked.", count) % {
            "count": count
        }
        return Response({"revoked": count, "detail": detail})


# ---------------------------------------------------------------- consent


class ConsentRecordSerializer(serializers.ModelSerializer):
    purpose_label = serializers.CharField(source="get_purpose_display", read_only=True)
    source_label = serializers.CharField(source="get_source_display", read_only=True)
    actor = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = ConsentRecord
        fields = [
            "id",
            "purpose",
            "purpose_label",
            "granted",
            "at",
            "source",
            "source_label",
            "text_code",
            "text",
            "language",
            "actor",
        ]
        read_only_fields = fields


class ConsentPurposeStateSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    label = serializers.CharField()
    allowed = serializers.BooleanField(help_text="Whether the store may contact them for it now.")
    opt_in = serializers.BooleanField(
        help_text="True: needs a recorded grant; False: allowed until withdrawn (the contract)."
    )
    record = ConsentRecordSerializer(allow_null=True, help_text="The record that decides it.")
    grant_text = serializers.CharField(help_text="The text to read for a grant.")
    withdraw_text = serializers.CharField(help_text="The text to read for a withdrawal.")


class ConsentStateSerializer(serializers.Serializer):
    purposes = ConsentPurposeStateSerializer(many=True)
    history = ConsentRecordSerializer(
        many=True,
        help_text=f"Every grant and withdrawal, newest first (at most {CONSENT_HISTORY_MAX}).",
    )


class ConsentInputSerializer(serializers.Serializer):
    """The page's form: the purpose, agrees (true) or withdraws (false), and given how."""

    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    source = serializers.ChoiceField(choices=STAFF_CONSENT_SOURCES)


def _consent_body(customer: Customer) -> dict:
    history = customer.consents.select_related("actor").order_by("-at", "-id")
    return ConsentStateSerializer(
        {
            "purposes": consent.consent_script(customer),
            "history": history[:CONSENT_HISTORY_MAX],
        }
    ).data


class CustomerConsentViewSet(ApiViewSet):
    """Consent per purpose (PIPL), as on the customer page: read by the roles that see
    customers, recorded by those who edit them (the consent page's roles)."""

    queryset = Customer.objects.all()
    serializer_class = ConsentStateSerializer
    read_roles = CUSTOMER_VIEWERS
    write_roles = CUSTOMER_EDITORS
    pagination_class = None

    @extend_schema(
        methods=["GET"],
        summary="Consent per purpose now, the texts to read, and the history",
        responses={200: ConsentStateSerializer},
    )
    @extend_schema(
        methods=["POST"],
        summary="Record a grant or a withdrawal (a withdrawal cancels the calls and messages "
        "it gates); the answer is the new state",
        request=ConsentInputSerializer,
        responses={201: ConsentStateSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def consent(self, request, pk=None):
        customer = self.get_object()
        if request.method == "POST":
            data = _valid(ConsentInputSerializer, request)
            consent.consent_record(customer=customer, actor=request.user, **data)
            return Response(_consent_body(customer), status=status.HTTP_201_CREATED)
        return Response(_consent_body(customer))


# ---------------------------------------------------------------- WeChat unbind


class UnbindSerializer(serializers.Serializer):
    unbound = serializers.BooleanField(help_text="False: no WeChat was bound.")
    detail = serializers.CharField(help_text="The page's message, in the caller's language.")


class CustomerWeChatViewSet(ApiViewSet):
    """The customer page's unbind button: the advisor's and the service manager's."""

    queryset = Customer.objects.all()
    serializer_class = UnbindSerializer
    read_roles = WECHAT_UNBINDERS
    write_roles = WECHAT_UNBINDERS

    @extend_schema(
        summary="Forget the customer's WeChat account (a new phone, a shared account)",
        request=None,
        responses={200: UnbindSerializer},
    )
    @action(detail=True, methods=["post"], url_path="wechat-unbind")
    def wechat_unbind(self, request, pk=None):
        unbound = openid_unbind(customer=self.get_object(), actor=request.user)
        detail = _("WeChat unbound.") if unbound else _("No WeChat was bound to this customer.")
        return Response({"unbound": unbound, "detail": detail})


# ---------------------------------------------------------------- privacy requests


class PrivacyRequestSerializer(serializers.ModelSerializer):
    recorded_by = serializers.StringRelatedField(allow_null=True)
    answered_by = serializers.StringRelatedField(allow_null=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = PrivacyRequest
        fields = [
            "id",
            "customer",
            "kind",
            "channel",
            "received_at",
            "note",
            "recorded_by",
            "is_open",
            "answered_at",
            "answered_by",
            "answer",
        ]
        read_only_fields = fields


class PrivacyRequestDetailSerializer(PrivacyRequestSerializer):
    delete_refusals = serializers.SerializerMethodField(
        help_text="For an open delete request: why the customer cannot be deleted now "
        "(an open visit); empty when they can."
    )

    class Meta(PrivacyRequestSerializer.Meta):
        fields = [*PrivacyRequestSerializer.Meta.fields, "delete_refusals"]
        read_only_fields = fields

    def get_delete_refusals(self, row) -> list[str]:
        if row.kind == PrivacyRequestKind.DELETE and row.is_open:
            return [str(reason) for reason in privacy.privacy_delete_refusals(row.customer)]
        return []


class PrivacyRequestInputSerializer(serializers.Serializer):
    """The page's form; the customer by id (`customer`) or by mobile (`customer_mobile`)."""

    customer = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    customer_mobile = serializers.CharField(max_length=20, required=False)
    kind = serializers.ChoiceField(choices=PrivacyRequestKind.choices)
    channel = serializers.ChoiceField(choices=PrivacyRequestChannel.choices)
    received_at = serializers.DateTimeField()
    note = serializers.CharField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True)

    def validate(self, attrs):
        pk, mobile = attrs.pop("customer", None), attrs.pop("customer_mobile", None)
        if (pk is None) == (mobile is None):
            raise serializers.ValidationError(
                {"customer": [_("Give either the customer's id or their mobile number.")]}
            )
        if pk is not None:
            found = Customer.objects.filter(pk=pk).first()
            if found is None:
                raise serializers.ValidationError({"customer": [_("No such customer.")]})
        else:
            found = Customer.objects.filter(mobile=normalize_phone(mobile)).order_by("id").first()
            if found is None:
                raise serializers.ValidationError(
                    {"customer_mobile": [_("No customer has this mobile number.")]}
                )
        attrs["customer"] = found
        return attrs


class PrivacyAnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=NOTE_MAX_LENGTH, allow_blank=True)


@extend_schema_view(
    list=extend_schema(
        summary="Privacy requests, newest first",
        parameters=[
            OpenApiParameter("customer", int, description="Only this customer's"),
            OpenApiParameter("open", bool, description="true: only the unanswered ones"),
        ],
    ),
    retrieve=extend_schema(
        summary="One privacy request (a delete request says why it cannot be done yet)",
        responses={200: PrivacyRequestDetailSerializer},
    ),
)
class PrivacyRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """A customer's requests about their personal data (PIPL art. 44–47): the service
    manager's, as on the privacy pages. A request to see or correct is answered in words;
    an export request with the ZIP; a delete request by anonymising the customer."""

    serializer_class = PrivacyRequestSerializer
    read_roles = PRIVACY_ROLES
    write_roles = PRIVACY_ROLES

    def get_queryset(self):
        queryset = PrivacyRequest.objects.select_related(
            "customer", "recorded_by", "answered_by"
        ).order_by("-received_at", "-id")
        customer = int_param(self.request, "customer")
        if customer is not None:
            queryset = queryset.filter(customer_id=customer)
        only_open = (self.request.query_params.get("open") or "").lower()
        if only_open in ("true", "1"):
            queryset = queryset.filter(answered_at__isnull=True)
        elif only_open in ("false", "0"):
            queryset = queryset.filter(~Q(answered_at=None))
        return queryset

    def perform_content_negotiation(self, request, force=False):
        """The export answers a ZIP (whatever JSON renderer is chosen); a client that
        accepts only `application/zip` still gets its refusals as JSON, not a 406."""
        return super().perform_content_negotiation(request, force=force or self.action == "export")

    def retrieve(self, request, pk=None):
        return Response(PrivacyRequestDetailSerializer(self.get_object()).data)

    @extend_schema(
        summary="Record a customer's request (nothing is done to the data yet)",
        request=PrivacyRequestInputSerializer,
        responses={201: PrivacyRequestDetailSerializer},
    )
    def create(self, request):
        data = _valid(PrivacyRequestInputSerializer, request)
        row = privacy.privacy_request_record(actor=request.user, **data)
        return Response(PrivacyRequestDetailSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Answer a request to see or correct data, in words",
        request=PrivacyAnswerSerializer,
        responses={200: PrivacyRequestDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        row = self.get_object()
        data = _valid(PrivacyAnswerSerializer, request)
        row = privacy.privacy_request_answer(request=row, actor=request.user, **data)
        return Response(PrivacyRequestDetailSerializer(row).data)

    @extend_schema(
        summary="Answer a request to see or export: the customer's data as a ZIP "
        "(data.json and data.xlsx)",
        request=None,
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The ZIP (Content-Disposition: attachment)."
            )
        },
    )
    @action(detail=True, methods=["post"])
    def export(self, request, pk=None):
        row = self.get_object()
        content = privacy.privacy_request_export(request=row, actor=request.user)
        response = HttpResponse(content, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="customer-{row.customer_id}.zip"'
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        summary="Answer a delete request: anonymise the customer (refused while a visit is "
        "open; bills, invoices, receipts and work orders are kept)",
        request=None,
        responses={200: PrivacyRequestDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="delete", url_name="delete")
    def delete_data(self, request, pk=None):
        row = privacy.privacy_request_delete(request=self.get_object(), actor=request.user)
        return Response(PrivacyRequestDetailSerializer(row).data)


router = routers.SimpleRouter()
router.register("customers", CustomerLinkViewSet, basename="customer-link")
router.register("customers", CustomerConsentViewSet, basename="customer-consent")
router.register("customers", CustomerWeChatViewSet, basename="customer-wechat")
router.register("privacy-requests", PrivacyRequestViewSet, basename="privacy-request")
urlpatterns = router.urls  # mounted at /api/ by dealership.api_urls
