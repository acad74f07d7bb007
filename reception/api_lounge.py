"""API of the lounge display's settings page (issue 18.1, parity; the page is
reception.lounge_views.lounge_settings): the service manager reads the link's settings,
makes a new link (the old URL stops working; the key is in that answer only) and switches
the display off. The same services (`reception.lounge`) and role as the page.

Mounted at /api/reception/ by dealership.api_urls:
GET/POST /api/reception/lounge-display/, POST /api/reception/lounge-display/switch-off/.
"""

from django.urls import path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from dealership.api import ApiViewSet
from dealership.roles import Role

from .lounge import lounge_display_current, lounge_link_issue, lounge_link_retire
from .models import LoungeDisplay

MANAGER = (Role.SERVICE_MANAGER,)


class LoungeDisplaySerializer(serializers.ModelSerializer):
    created_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = LoungeDisplay
        fields = ["id", "show_all_cars", "created_at", "created_by"]
        read_only_fields = fields


class LoungeStateSerializer(serializers.Serializer):
    active = serializers.BooleanField(help_text="Whether a lounge link opens the display now.")
    display = LoungeDisplaySerializer(allow_null=True, help_text="The link in use (no key).")


class LoungeIssuedSerializer(LoungeDisplaySerializer):
    key = serializers.CharField(
        read_only=True, help_text="The TV's key: in this answer only, never again."
    )
    url = serializers.CharField(read_only=True, help_text="The address to open on the TV.")

    class Meta(LoungeDisplaySerializer.Meta):
        fields = [*LoungeDisplaySerializer.Meta.fields, "key", "url"]
        read_only_fields = fields


class LoungeIssueInputSerializer(serializers.Serializer):
    show_all_cars = serializers.BooleanField(
        default=False,
        help_text="Every car checked in today, not only waiting customers' cars.",
    )


class LoungeSwitchedOffSerializer(serializers.Serializer):
    switched_off = serializers.IntegerField(help_text="How many links were switched off (0 or 1).")
    detail = serializers.CharField(help_text="The page's message, in the caller's language.")


def _state() -> dict:
    display = lounge_display_current()
    return {"active": display is not None, "display": display}


class LoungeDisplayViewSet(ApiViewSet):
    """The customer lounge's TV link: the service manager's, as on the lounge settings page."""

    serializer_class = LoungeStateSerializer
    read_roles = MANAGER
    write_roles = MANAGER
    pagination_class = None

    @extend_schema(
        summary="The lounge link in use, if any (never its key)",
        responses={200: LoungeStateSerializer},
    )
    def current(self, request):
        return Response(LoungeStateSerializer(_state()).data)

    @extend_schema(
        summary="Make a new lounge link (the old one stops working); the key is in this answer "
        "only",
        request=LoungeIssueInputSerializer,
        responses={201: LoungeIssuedSerializer},
    )
    def issue(self, request):
        serializer = LoungeIssueInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        display, key = lounge_link_issue(
            actor=request.user, show_all_cars=serializer.validated_data["show_all_cars"]
        )
        display.key = key
        display.url = request.build_absolute_uri(reverse("reception:lounge", args=[key]))
        response = Response(LoungeIssuedSerializer(display).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"  # the answer carries the key
        return response

    @extend_schema(
        summary="Switch the lounge display off: its address answers 404 from now on",
        request=None,
        responses={200: LoungeSwitchedOffSerializer},
    )
    def switch_off(self, request):
        retired = lounge_link_retire(actor=request.user)
        detail = (
            _("The lounge link is switched off.") if retired else _("No lounge link is in use.")
        )
        return Response({"switched_off": retired, "detail": detail})


urlpatterns = [  # mounted at /api/reception/ by dealership.api_urls
    path(
        "lounge-display/",
        LoungeDisplayViewSet.as_view({"get": "current", "post": "issue"}),
        name="lounge-display",
    ),
    path(
        "lounge-display/switch-off/",
        LoungeDisplayViewSet.as_view({"post": "switch_off"}),
        name="lounge-display-switch-off",
    ),
]
