"""API of the integration pages: webhook subscriptions and their deliveries (the service
manager's `/webhooks/` page) and the caller's own API tokens (`/account/tokens/`).

Mounted at /api/integrations/ by dealership.api_urls. Each action calls the service its
page calls (`dealership.webhooks`, `dealership.tokens`), with the page's roles, so a
refusal is a 400 with the page's words by field. A secret or a token's key is in the
answer that makes it, and never again.
"""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, routers, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from . import webhooks
from .api import ApiViewSet, int_param
from .events import Event
from .models import ApiToken, WebhookDelivery, WebhookSubscription
from .roles import ALL_STAFF, Role
from .tokens import api_token_issue, api_token_revoke, api_tokens_of

MANAGER = (Role.SERVICE_MANAGER,)

# ---------------------------------------------------------------- webhooks


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    created_by = serializers.StringRelatedField()

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "active", "created_at", "created_by"]
        read_only_fields = fields


class WebhookSubscriptionWithSecretSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret: in this answer only, never again."
    )
    previous_secret_until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Until then the old secret signs too (a second `sha256=` in the header).",
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret", "previous_secret_until"]
        read_only_fields = fields


class WebhookSubscriptionInputSerializer(serializers.Serializer):
    """The page's form: the address (https), the events, active."""

    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices),
        min_length=1,
        max_length=len(Event.choices),
    )
    active = serializers.BooleanField(default=True)


class WebhookSubscriptionEditSerializer(WebhookSubscriptionInputSerializer):
    """An edit: the fields left out keep their value."""

    url = serializers.URLField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices),
        min_length=1,
        max_length=len(Event.choices),
        required=False,
    )
    active = serializers.BooleanField(required=False)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(
        choices=["waiting", "sending", "acknowledged", "dead", "skipped"],
        read_only=True,
        help_text="dead: given up (a 4xx, or every attempt failed); replay it once fixed.",
    )
    attempts = serializers.SerializerMethodField()
    last_error = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_id",
            "event_type",
            "status",
            "created_at",
            "released_at",
            "acknowledged_at",
            "response_status",
            "attempts",
            "last_error",
            "replays",
        ]
        read_only_fields = fields

    def get_attempts(self, delivery) -> int:
        return delivery.task.attempts if delivery.task else 0

    def get_last_error(self, delivery) -> str:
        return delivery.task.last_error if delivery.task else ""


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary="The webhook subscriptions (no secrets)"),
    retrieve=extend_schema(summary="One webhook subscription (no secret)"),
)
class WebhookSubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The store's webhook subscriptions: the service manager's, as on the webhook page.

    POST makes one and answers its secret this once; PATCH changes the address, the events
    or the active flag; POST .../rotate-secret/ gives a new secret (the old one signs too
    for `WEBHOOK_SECRET_GRACE_HOURS`). Addresses must be https and public.
    """

    serializer_class = WebhookSubscriptionSerializer
    read_roles = MANAGER
    write_roles = MANAGER
    queryset = WebhookSubscription.objects.select_related("created_by").order_by("id")

    @extend_schema(
        summary="Subscribe an address to events; the answer holds the secret, this once",
        request=WebhookSubscriptionInputSerializer,
        responses={201: WebhookSubscriptionWithSecretSerializer},
    )
    def create(self, request):
        data = _valid(WebhookSubscriptionInputSerializer, request)
        subscription, secret = webhooks.subscription_create(actor=request.user, **data)
        subscription.secret = secret
        body = WebhookSubscriptionWithSecretSerializer(subscription).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change the address, the events or the active flag (the secret stays)",
        request=WebhookSubscriptionEditSerializer,
        responses={200: WebhookSubscriptionSerializer},
    )
    def partial_update(self, request, pk=None):
        subscription = self.get_object()
        data = _valid(WebhookSubscriptionEditSerializer, request)
        subscription = webhooks.subscription_update(
            subscription=subscription,
            actor=request.user,
            url=data.get("url", subscription.url),
            events=data.get("events", subscription.events),
            active=data.get("active", subscription.active),
        )
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(
        summary="A new secret, in this answer only; the old one signs too for the grace period",
        request=None,
        responses={200: WebhookSubscriptionWithSecretSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        subscription, secret = webhooks.subscription_rotate_secret(
            subscription=self.get_object(), actor=request.user
        )
        subscription.secret = secret
        return Response(WebhookSubscriptionWithSecretSerializer(subscription).data)


@extend_schema_view(
    list=extend_schema(
        summary="Deliveries, newest first, with their state, attempts and last error",
        parameters=[OpenApiParameter("subscription", int, description="Only this one's")],
    ),
    retrieve=extend_schema(summary="One delivery"),
)
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Each event sent (or to send) to a subscription; POST .../replay/ sends a dead letter
    or an acknowledged event again, with the same event id and body."""

    serializer_class = WebhookDeliverySerializer
    read_roles = MANAGER
    write_roles = MANAGER

    def get_queryset(self):
        queryset = WebhookDelivery.objects.order_by("-id")
        subscription = int_param(self.request, "subscription")
        if subscription is not None:
            queryset = queryset.filter(subscription_id=subscription)
        return queryset

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return webhooks.deliveries_with_status(page) if page is not None else None

    def get_object(self):
        [delivery] = webhooks.deliveries_with_status([super().get_object()])
        return delivery

    @extend_schema(
        summary="Send the event again (a dead letter once the receiver is fixed)",
        request=None,
        responses={200: WebhookDeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = get_object_or_404(WebhookDelivery, pk=pk)
        webhooks.delivery_replay(delivery=delivery, actor=request.user)
        return Response(WebhookDeliverySerializer(self.get_object()).data)


# ---------------------------------------------------------------- the caller's tokens


class ApiTokenSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "state",
        ]
        read_only_fields = fields

    def get_state(self, token) -> str:
        if token.revoked_at is not None:
            return "revoked"
        return "expired" if token.expires_at <= timezone.now() else "active"


class ApiTokenIssuedSerializer(ApiTokenSerializer):
    key = serializers.CharField(
        read_only=True,
        help_text="Send as `Authorization: Token <key>`. In this answer only, never again.",
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiTokenInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=ApiToken.NAME_MAX_LENGTH)


@extend_schema_view(
    list=extend_schema(summary="Your own API tokens, newest first (never their keys)"),
    retrieve=extend_schema(summary="One of your own API tokens"),
)
class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The caller's own API tokens, as on their tokens page: any staff member. Another
    person's token is not found (404)."""

    serializer_class = ApiTokenSerializer
    read_roles = ALL_STAFF
    write_roles = ALL_STAFF

    def get_queryset(self):
        return api_tokens_of(self.request.user)

    @extend_schema(
        summary="Issue a named token; the answer holds its key, this once",
        request=ApiTokenInputSerializer,
        responses={201: ApiTokenIssuedSerializer},
    )
    def create(self, request):
        data = _valid(ApiTokenInputSerializer, request)
        token, key = api_token_issue(user=request.user, name=data["name"])
        token.key = key
        return Response(ApiTokenIssuedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke one of your tokens: from now on it gets 401",
        request=None,
        responses={200: ApiTokenSerializer},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = api_token_revoke(token=self.get_object(), user=request.user)
        return Response(ApiTokenSerializer(token).data)


router = routers.SimpleRouter()
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook-subscription")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("tokens", ApiTokenViewSet, basename="api-token")
urlpatterns = router.urls  # mounted at /api/integrations/ by dealership.api_urls
